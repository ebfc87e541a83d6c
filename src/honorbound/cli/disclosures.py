"""`honorbound export --to RECIPIENT --categories ... --purpose ...` and the disclosure reports
(`honorbound report shine-the-light|who-received|legal-process`)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from honorbound.audit import Actor
from honorbound.cli.common import fail, out, runtime
from honorbound.cli.retention import Org, organization_id
from honorbound.disclosures.export import DisclosureRefused, export
from honorbound.disclosures.ledger import DisclosureInputError, parse_basis
from honorbound.disclosures.reports import legal_process_log, shine_the_light, who_received
from honorbound.policy import store

CLI_ACTOR = Actor("cli", "privacy_officer")


def export_cmd(
    to: Annotated[str, typer.Option("--to", help="Recipient id from the declaration.")],
    categories: Annotated[
        str, typer.Option(help="Comma-separated categories (e.g. user.contact,user.financial).")
    ],
    purpose: Annotated[str, typer.Option(help="Purpose id from the declaration.")],
    output: Annotated[Path, typer.Option("--out", help="File to write (JSON Lines).")],
    org: Org = None,
    basis: Annotated[
        str | None, typer.Option(help="Basis; default: what the recipient is declared as.")
    ] = None,
    legal_reference: Annotated[
        str | None, typer.Option(help="Subpoena or case number (legal process).")
    ] = None,
    subject: Annotated[
        list[int] | None, typer.Option(help="Only these subject ids (repeat the option).")
    ] = None,
) -> None:
    """Export the subjects and fields the disclosure guard allows, and record the disclosure."""
    wanted = [c.strip() for c in categories.split(",") if c.strip()]
    if not wanted:
        fail("--categories: name at least one category")
    rt = runtime()
    try:
        with rt.db.session() as session:
            org_id = organization_id(session, org)
            adopted = store.current(session, org_id)
            if adopted is None:
                fail("this organization has adopted no declaration; adopt one first")
            result = export(
                session,
                rt.vault_keys,
                rt.rules,
                org_id,
                adopted,
                recipient=to,
                categories=wanted,
                purpose=purpose,
                out=output,
                actor=CLI_ACTOR,
                basis=parse_basis(basis, "--basis") if basis else None,
                legal_reference=legal_reference,
                subject_ids=subject or None,
            )
    except DisclosureRefused as exc:
        fail(f"refused, nothing written: {exc}")
    except DisclosureInputError as exc:
        fail(f"--{exc.field.replace('_', '-')}: {exc.message}")
    finally:
        rt.close()
    out.print(
        f"wrote {result.records} value(s) of {result.subjects} subject(s) to {output} "
        f"(disclosure {result.disclosure_id}, sha256 {result.sha256[:16]}...)",
        highlight=False,
    )
    refused = Counter(r.code.value for r in result.check.reasons)
    for code, count in sorted(refused.items()):
        out.print(f"left out: {count} x {code}", highlight=False)


def shine_the_light_cmd(
    subject: Annotated[int, typer.Option(help="Subject id of the person asking.")],
    org: Org = None,
    year: Annotated[int | None, typer.Option(help="Calendar year; default: last year.")] = None,
    addresses: Annotated[
        Path | None,
        typer.Option(help="JSON file: recipient id -> postal address (the notice has none)."),
    ] = None,
) -> None:
    """California Shine the Light: one person's direct-marketing disclosures of a year."""
    known: dict[str, str] = {}
    if addresses is not None:
        try:
            known = json.loads(addresses.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            fail(f"--addresses: cannot read {addresses}: {exc}")
        if not isinstance(known, dict) or not all(isinstance(v, str) for v in known.values()):
            fail("--addresses: write a JSON object of recipient id -> address")
    rt = runtime()
    with rt.db.session() as session:
        org_id = organization_id(session, org)
        adopted = store.current(session, org_id)
        if adopted is None:
            fail("this organization has adopted no declaration; adopt one first")
        report = shine_the_light(session, org_id, subject, adopted.declaration, year, known)
    rt.close()
    out.print(report.note, highlight=False)
    for r in report.recipients:
        out.print(
            f"- {r.name}, {r.address or 'address not on file'}: {', '.join(r.categories)}",
            highlight=False,
        )


def who_received_cmd(
    subject: Annotated[int, typer.Option(help="Subject id.")], org: Org = None
) -> None:
    """Every disclosure that included this person's data."""
    rt = runtime()
    with rt.db.session() as session:
        rows = who_received(session, organization_id(session, org), subject)
    rt.close()
    table = Table("date", "recipient", "basis", "purpose", "categories")
    for r in rows:
        table.add_row(
            r.disclosed_at.date().isoformat(),
            r.recipient_name,
            r.basis,
            r.purpose,
            ", ".join(r.categories),
        )
    out.print(table)


def legal_process_cmd(org: Org = None) -> None:
    """Disclosures under legal process, with their references."""
    rt = runtime()
    with rt.db.session() as session:
        rows = legal_process_log(session, organization_id(session, org))
        table = Table("date", "reference", "recipient", "subjects", "categories", "initiator")
        for d in rows:
            table.add_row(
                d.disclosed_at.date().isoformat(),
                d.legal_reference or "-",
                d.recipient_name,
                f"{d.subject_count}{' (aggregate)' if d.aggregate else ''}",
                ", ".join(d.categories),
                d.initiator,
            )
    rt.close()
    out.print(table)


def register(app: typer.Typer, report: typer.Typer) -> None:
    """`export` on the main app; the reports on the shared `report` group."""
    app.command("export")(export_cmd)
    report.command("shine-the-light")(shine_the_light_cmd)
    report.command("who-received")(who_received_cmd)
    report.command("legal-process")(legal_process_cmd)
