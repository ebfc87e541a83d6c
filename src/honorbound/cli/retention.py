"""`honorbound retention sweep|holds|withdraw|log|certificate|public-key|verify-certificate`."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session

from honorbound.accounts.models import Organization
from honorbound.audit import Actor
from honorbound.cli.common import fail, out, runtime
from honorbound.retention import holds as hold_service
from honorbound.retention.certificates import (
    CertificateError,
    document,
    load_public_key,
    public_key_pem,
    verify_document,
)
from honorbound.retention.due import forecast
from honorbound.retention.errors import RetentionInputError
from honorbound.retention.sweep import disposals, get_disposal, sweep
from honorbound.retention.withdrawals import SOURCES, record_withdrawal

app = typer.Typer(help="Retention: dispose of what the notice says is due.", no_args_is_help=True)
holds_app = typer.Typer(help="Legal holds: stop disposal of what they cover.", no_args_is_help=True)
app.add_typer(holds_app, name="holds")

Org = Annotated[
    str | None, typer.Option("--org", help="Organization slug (needed when there are several).")
]
CLI_ACTOR = Actor("cli", "admin")


def organization_id(session: Session, slug: str | None) -> int:
    query = select(Organization.id)
    if slug is not None:
        query = query.where(Organization.slug == slug)
    ids = list(session.scalars(query.limit(2)))
    if not ids:
        fail(f"no organization with slug {slug!r}" if slug else "no organization exists yet")
    if len(ids) > 1:
        fail("there are several organizations; name one with --org SLUG")
    return int(ids[0])


def _time(value: str | None, option: str) -> dt.datetime | None:
    if value is None:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        fail(f"{option}: {value!r} is not an ISO 8601 time (e.g. 2026-01-31T00:00:00Z)")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _when(value: dt.datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "-"


@app.command("sweep")
def sweep_cmd(
    org: Org = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only show what is due, per rule.")
    ] = False,
    batch: Annotated[int, typer.Option(min=1, max=500_000, help="Records per batch.")] = 100_000,
) -> None:
    """Dispose of everything due under the adopted declaration (or resume an interrupted run)."""
    rt = runtime()
    try:
        with rt.db.session() as session:
            org_id = organization_id(session, org)
            if dry_run:
                result = forecast(session, org_id)
        if dry_run:
            table = Table("rule", "trigger", "action", "records", "subjects", "oldest", "held")
            for s in result.steps:
                table.add_row(
                    s.rule_id,
                    s.trigger,
                    s.action,
                    str(s.records),
                    str(s.subjects),
                    _when(s.oldest),
                    str(s.held_back),
                )
            out.print(table)
            for n in result.not_enforced:
                out.print(f"not enforced: {n.rule_id} ({n.trigger}): {n.reason}", highlight=False)
            out.print(f"dry run: {result.records} record(s) due; nothing was disposed of")
            return
        done = sweep(rt.db, rt.keys, rt.vault_keys, org_id, CLI_ACTOR, record_batch=batch)
    except RetentionInputError as exc:
        fail(f"{exc.field}: {exc.message}")
    finally:
        rt.close()
    out.print(
        f"run {done.run_id}{' (resumed)' if done.resumed else ''}: disposed of {done.records} "
        f"record(s), erased {done.subjects} subject(s) in {done.batches} batch(es)"
    )
    for key, held in sorted(done.held_back.items()):
        if held:
            out.print(f"held back by legal holds: {held} ({key})", highlight=False)


@holds_app.command("list")
def holds_list(
    org: Org = None,
    all_: Annotated[bool, typer.Option("--all", help="Include released holds.")] = False,
) -> None:
    """List the organization's legal holds in force (with --all, released ones too)."""
    rt = runtime()
    with rt.db.session() as session:
        rows = hold_service.list_holds(session, organization_id(session, org), all_)
        table = Table("id", "subject", "category", "from", "to", "owner", "reason", "released")
        for h in rows:
            table.add_row(
                str(h.id),
                str(h.subject_id or "-"),
                h.category or "-",
                _when(h.collected_from),
                _when(h.collected_to),
                h.owner,
                h.reason,
                _when(h.released_at),
            )
    rt.close()
    out.print(table)


@holds_app.command("place")
def holds_place(
    reason: Annotated[str, typer.Option(help="Why (e.g. 'litigation hold, case 24-117').")],
    owner: Annotated[str, typer.Option(help="Who answers for the hold.")],
    org: Org = None,
    subject: Annotated[int | None, typer.Option(help="Only this subject id.")] = None,
    category: Annotated[str | None, typer.Option(help="Only this category and below.")] = None,
    collected_from: Annotated[str | None, typer.Option(help="Collected at or after (ISO).")] = None,
    collected_to: Annotated[str | None, typer.Option(help="Collected at or before (ISO).")] = None,
) -> None:
    """Place a hold; with no subject, category or time range it holds the whole organization."""
    rt = runtime()
    try:
        with rt.db.session() as session:
            hold = hold_service.place_hold(
                session,
                organization_id(session, org),
                CLI_ACTOR,
                reason=reason,
                owner=owner,
                subject_id=subject,
                category=category,
                collected_from=_time(collected_from, "--collected-from"),
                collected_to=_time(collected_to, "--collected-to"),
            )
            hold_id = hold.id
    except RetentionInputError as exc:
        fail(f"--{exc.field.replace('_', '-')}: {exc.message}")
    finally:
        rt.close()
    out.print(f"hold {hold_id} placed")


@holds_app.command("release")
def holds_release(
    hold_id: Annotated[int, typer.Argument(help="Hold id.")],
    reason: Annotated[str, typer.Option(help="Why it is released (e.g. 'case settled').")],
    org: Org = None,
) -> None:
    """Release a hold: what it covered is due again at the next sweep."""
    rt = runtime()
    try:
        with rt.db.session() as session:
            hold_service.release_hold(
                session, organization_id(session, org), hold_id, CLI_ACTOR, reason
            )
    except RetentionInputError as exc:
        fail(f"{exc.field}: {exc.message}")
    finally:
        rt.close()
    out.print(f"hold {hold_id} released; what it covered is due again at the next sweep")


@app.command("withdraw")
def withdraw(
    subject: Annotated[int, typer.Argument(help="Subject id.")],
    source: Annotated[str, typer.Option(help=f"How they asked: {', '.join(SOURCES)}.")] = "agent",
    org: Org = None,
) -> None:
    """Record that a subject asked not to be kept (an applicant: not for future openings)."""
    rt = runtime()
    try:
        with rt.db.session() as session:
            _, created = record_withdrawal(
                session, organization_id(session, org), subject, CLI_ACTOR, source
            )
    except RetentionInputError as exc:
        fail(f"{exc.field}: {exc.message}")
    finally:
        rt.close()
    out.print("recorded" if created else "already recorded (the first request's date stands)")


@app.command("log")
def log_cmd(
    org: Org = None,
    run: Annotated[int | None, typer.Option(help="Only this run.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 100,
) -> None:
    """The disposal log: one line per batch."""
    rt = runtime()
    with rt.db.session() as session:
        rows = disposals(session, organization_id(session, org), run, limit)
        table = Table("id", "run", "batch", "rule", "action", "records", "subjects", "held")
        for e in rows:
            table.add_row(
                str(e.id),
                str(e.run_id),
                str(e.batch),
                e.rule_id,
                e.action,
                str(e.records),
                str(e.subjects),
                str(e.hold_exclusions.get("held_back", 0)),
            )
    rt.close()
    out.print(table)


@app.command("certificate")
def certificate(
    entry_id: Annotated[int, typer.Argument(help="Disposal log entry id.")],
    output: Annotated[Path, typer.Option("--out", help="File to write.")],
    org: Org = None,
) -> None:
    """Write the signed certificate of one disposal batch to a file, for an auditor."""
    rt = runtime()
    try:
        with rt.db.session() as session:
            entry = get_disposal(session, organization_id(session, org), entry_id)
            doc = document(entry.certificate, entry.signature)
    except RetentionInputError as exc:
        fail(exc.message)
    finally:
        rt.close()
    output.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    out.print(f"certificate written to {output}")


@app.command("public-key")
def public_key(org: Org = None) -> None:
    """Print the organization's Ed25519 public key (PEM) that verifies its certificates."""
    rt = runtime()
    with rt.db.session() as session:
        org_id = organization_id(session, org)
    text = public_key_pem(rt.keys, org_id)
    rt.close()
    typer.echo(text, nl=False)


@app.command("verify-certificate")
def verify_certificate(
    file: Annotated[Path, typer.Argument(help="Certificate file (JSON).")],
    public_key_file: Annotated[
        Path, typer.Option("--public-key", help="The organization's public key (PEM).")
    ],
) -> None:
    """Verify a disposal certificate offline: needs only the file and the public key."""
    try:
        key = load_public_key(public_key_file.read_text(encoding="utf-8"))
    except OSError as exc:
        fail(f"--public-key: cannot read {public_key_file}: {exc.strerror}")
    except CertificateError as exc:
        fail(f"--public-key: {exc}")
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except OSError as exc:
        fail(f"{file}: cannot read: {exc.strerror}")
    except json.JSONDecodeError as exc:
        fail(f"{file}:{exc.lineno}: not JSON: {exc.msg}")
    try:
        cert = verify_document(data, key)
    except CertificateError as exc:
        typer.echo(f"INVALID: {exc}")
        raise typer.Exit(1) from None
    if cert.get("kind") == "client_offboarding":  # honorbound.bpo.clients
        typer.echo(
            f"valid: client {cert['organization']} offboarded by {cert['operated_by']}: "
            f"{cert['subjects']} subject(s), {cert['records']} record(s) erased at "
            f"{cert['erased_at']}; package sha256 {cert['package']['sha256']}"
        )
        return
    typer.echo(
        f"valid: organization {cert['organization_id']}, run {cert['run_id']} batch "
        f"{cert['batch']}, rule {cert['rule']} ({cert['action']}): {cert['records']} record(s), "
        f"{cert['subjects']} subject(s), disposed at {cert['disposed_at']}"
    )
