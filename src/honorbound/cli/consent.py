"""`honorbound scrub LIST.csv`, `honorbound dnc import FILE`, `honorbound consent report`."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import select

from honorbound.accounts.models import Organization
from honorbound.audit import Actor
from honorbound.cli.common import err, fail, out, runtime
from honorbound.consent import dnc, report, scrub, sms

dnc_app = typer.Typer(help="Do-not-call lists.", no_args_is_help=True)
consent_app = typer.Typer(help="Consent ledger reports and settings.", no_args_is_help=True)
CLI_ACTOR = Actor("cli", "admin")

Org = Annotated[str, typer.Option("--org", help="Organization slug.")]


def _org_id(session: object, slug: str) -> int:
    org_id = session.scalar(select(Organization.id).where(Organization.slug == slug))  # type: ignore[attr-defined]
    if org_id is None:
        fail(f"no organization with slug {slug!r}")
    return int(org_id)


def scrub_cmd(
    source: Annotated[Path, typer.Argument(help="Campaign list (CSV with an identity column).")],
    org: Org,
    purpose: Annotated[str, typer.Option(help="Purpose of the campaign.")] = "marketing",
    channel: Annotated[str, typer.Option(help="voice, sms, email, mail or fax.")] = "voice",
    out_dir: Annotated[Path | None, typer.Option("--out", help="Output folder.")] = None,
    at: Annotated[str | None, typer.Option(help="When the contacts will be made (ISO).")] = None,
) -> None:
    """Split LIST.csv into LIST.allowed.csv and LIST.blocked.csv (with reasons)."""
    if not source.is_file():
        fail(f"{source}: no such file")
    when = None
    if at is not None:
        try:
            when = dt.datetime.fromisoformat(at)
        except ValueError:
            fail("--at must be an ISO 8601 time with a zone, e.g. 2026-05-01T14:00:00Z")
        if when.tzinfo is None:
            fail("--at needs a zone, e.g. 2026-05-01T14:00:00-05:00")
    rt = runtime()
    try:
        with rt.db.session() as session:
            result = scrub.scrub(
                session,
                rt.decisions,
                _org_id(session, org),
                source,
                purpose,
                channel,
                out_dir or source.parent,
                when,
            )
    except (scrub.ScrubError, UnicodeDecodeError) as exc:
        fail(str(exc))
    finally:
        rt.close()
    for warning in result.warnings:
        err.print(f"[yellow]warning:[/] {warning}", highlight=False)
    out.print(
        f"allowed={result.allowed} blocked={result.blocked} -> {result.allowed_path}, "
        f"{result.blocked_path}",
        highlight=False,
    )
    for name, count in sorted(result.reasons.items()):
        out.print(f"  {name}: {count}", highlight=False)


@dnc_app.command("import")
def dnc_import(
    source: Annotated[Path, typer.Argument(help="National registry file, one number a line.")],
    org: Org,
    registry_date: Annotated[str, typer.Option(help="Date the file is as of (YYYY-MM-DD).")],
    mode: Annotated[dnc.ImportMode, typer.Option(help="full, add or delete.")] = (
        dnc.ImportMode.FULL
    ),
    confirm_removal: Annotated[
        bool,
        typer.Option(
            "--confirm-removal",
            help="Confirm an import that removes more than "
            f"{dnc.MAX_UNCONFIRMED_REMOVAL:.0%} of the numbers held.",
        ),
    ] = False,
) -> None:
    """Import a national do-not-call registry file. Any bad line rejects the whole file."""
    try:
        as_of = dt.date.fromisoformat(registry_date)
    except ValueError:
        fail("--registry-date must be YYYY-MM-DD")
    if not source.is_file():
        fail(f"{source}: no such file")
    try:
        with source.open(encoding="utf-8") as handle:
            numbers = dnc.parse(handle)
    except dnc.DncFileError as exc:
        for number, reason in exc.lines:
            err.print(f"{source.name}:{number}: {reason}", highlight=False)
        fail(f"{exc.total} bad line(s); nothing imported")
    except UnicodeDecodeError:
        fail(f"{source.name}: not UTF-8 text")
    rt = runtime()
    try:
        with rt.db.session() as session:
            result = dnc.import_national(
                session,
                _org_id(session, org),
                numbers,
                as_of,
                mode,
                rt.contact_rules,
                CLI_ACTOR,
                confirm_removal=confirm_removal,
            )
    except ValueError as exc:
        fail(str(exc))
    finally:
        rt.close()
    for warning in result.warnings:
        err.print(f"[yellow]warning:[/] {warning}", highlight=False)
    out.print(
        f"imported {result.numbers} numbers ({mode.value}), registry as of {as_of.isoformat()}",
        highlight=False,
    )


@consent_app.command("report")
def report_cmd(
    org: Org,
    since: Annotated[str, typer.Option(help="First day (YYYY-MM-DD).")],
    until: Annotated[str | None, typer.Option(help="Last day (default today).")] = None,
) -> None:
    """Prove each opt-out and DNC request took effect within the rule's business days.
    Exits 1 when any was late."""
    try:
        first = dt.date.fromisoformat(since)
        last = dt.date.fromisoformat(until) if until else dt.datetime.now(dt.UTC).date()
    except ValueError:
        fail("--since and --until must be YYYY-MM-DD")
    rt = runtime()
    with rt.db.session() as session:
        found = report.revocations(session, _org_id(session, org), rt.contact_rules, first, last)
    rt.close()
    out.print(
        "kind,id,purpose,channel,source,requested_on,effective_on,due_on,business_days,honored",
        highlight=False,
    )
    for line in found.lines:
        out.print(
            f"{line.kind},{line.record_id},{line.purpose},{line.channel},{line.source},"
            f"{line.requested_on},{line.effective_on},{line.due_on},{line.business_days},"
            f"{'yes' if line.honored else 'NO'}",
            highlight=False,
        )
    err.print(
        f"{len(found.lines)} revocation(s), {len(found.late)} late "
        f"(rule: {found.rule_business_days} business days)",
        highlight=False,
    )
    if found.late:
        raise typer.Exit(1)


@consent_app.command("sms-secret")
def sms_secret(org: Org) -> None:
    """The secret to configure at the SMS gateway, and the webhook path."""
    rt = runtime()
    with rt.db.session() as session:
        org_id = _org_id(session, org)
    out.print(sms.webhook_secret(rt.keys, org_id).decode(), highlight=False)
    out.print(f"{rt.settings.base_url.rstrip('/')}/v1/public/sms/{org}", highlight=False)
    rt.close()


def register(app: typer.Typer) -> None:
    from honorbound.cli import dnc_company  # it reuses this module's options and lookups

    dnc_app.add_typer(dnc_company.app, name="company")
    app.command("scrub")(scrub_cmd)
    app.add_typer(dnc_app, name="dnc")
    app.add_typer(consent_app, name="consent")
