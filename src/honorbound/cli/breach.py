"""`honorbound breach record|list|select|deadlines|notify|report|erase-contacts`: breach
response from the command line, the same domain functions the API calls."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.table import Table

from honorbound.accounts.models import Organization
from honorbound.audit import Actor
from honorbound.breach import contacts, incidents, notices, report, selection
from honorbound.breach.errors import BreachError, BreachInputError
from honorbound.cli.common import fail, out, runtime
from honorbound.cli.retention import Org, organization_id

app = typer.Typer(help="Breach response: incidents, affected people, deadlines, notices.",
                  no_args_is_help=True)  # fmt: skip
CLI_ACTOR = Actor("cli", "privacy_officer")
T = TypeVar("T")
Many = Annotated[list[str] | None, typer.Option(help="Repeat the option for several values.")]


@contextmanager
def _sentences() -> Iterator[None]:
    try:
        yield
    except BreachInputError as exc:
        fail(f"--{exc.field.replace('_', '-')}: {exc.message}")
    except BreachError as exc:
        fail(str(exc))


def _run(org: str | None, work: Callable[[Any, Any, int], T]) -> T:
    rt = runtime(immediate_jobs=False)
    try:
        with _sentences(), rt.db.session() as session:
            return work(rt, session, organization_id(session, org))
    finally:
        rt.close()


@app.command("record")
def record(
    title: Annotated[str, typer.Option(help="A short name for the incident.")],
    discovered_at: Annotated[
        str, typer.Option(help="When it was discovered, ISO 8601 with a zone (required).")
    ],
    owner: Annotated[str, typer.Option(help="Who runs the response.")],
    description: Annotated[str, typer.Option(help="What happened (the notices quote it).")] = "",
    occurred_from: Annotated[str | None, typer.Option(help="Start of the incident.")] = None,
    occurred_to: Annotated[str | None, typer.Option(help="End of the incident.")] = None,
    system: Many = None,
    category: Many = None,
    client: Many = None,
    encrypted: Annotated[bool, typer.Option(help="The data was encrypted.")] = False,
    key_compromised: Annotated[bool, typer.Option(help="Its key was taken too.")] = False,
    health_data_covered: Annotated[
        bool, typer.Option(help="The organization is a HIPAA covered entity or BA.")
    ] = False,
    contact: Annotated[str, typer.Option(help="Contact line for the notices.")] = "",
    org: Org = None,
) -> None:
    """Record an incident; prints its id."""
    values = dict(
        title=title, discovered_at=discovered_at, owner=owner, description=description,
        occurred_from=occurred_from, occurred_to=occurred_to, systems=system or [],
        categories=category or [], clients=client or [], encrypted=encrypted,
        key_compromised=key_compromised, health_data_covered=health_data_covered,
        contact=contact,
    )  # fmt: skip
    found = _run(org, lambda rt, s, o: incidents.create_incident(s, o, values, CLI_ACTOR).id)
    out.print(f"incident {found} recorded", highlight=False)


@app.command("list")
def list_cmd(org: Org = None) -> None:
    """Every incident with its status and affected people."""

    def work(rt: Any, session: Any, org_id: int) -> None:
        table = Table("id", "title", "discovered (UTC)", "status", "affected")
        for i in incidents.list_incidents(session, org_id):
            n = sum(selection.counts_by_state(session, i.id).values())
            table.add_row(str(i.id), i.title, f"{i.discovered_at:%Y-%m-%d %H:%M}", i.status, str(n))
        out.print(table)

    _run(org, work)


@app.command("select")
def select_cmd(
    incident: Annotated[int, typer.Argument(help="Incident id.")],
    category: Many = None,
    system: Many = None,
    channel: Many = None,
    recipient: Many = None,
    connected_system: Many = None,
    window_from: Annotated[str | None, typer.Option(help="ISO 8601 with a zone.")] = None,
    window_to: Annotated[str | None, typer.Option(help="ISO 8601 with a zone.")] = None,
    read_files: Annotated[
        bool, typer.Option(help="Read the connected files systems whole (within the caps).")
    ] = False,
    file_cap_bytes: Annotated[int | None, typer.Option(help="Bytes read per file.")] = None,
    system_cap_bytes: Annotated[int | None, typer.Option(help="Bytes read per system.")] = None,
    notify_unknown: Annotated[
        bool,
        typer.Option(
            help="Keep (sealed) the contact of people found only in connected "
            "systems, to notify them too."
        ),
    ] = False,  # fmt: skip
    org: Org = None,
) -> None:
    """Select the affected people; prints the counts by state."""
    values = dict(
        categories=category or [], systems=system or [], channels=channel or [],
        recipients=recipient or [], connected_systems=connected_system or [],
        window_from=window_from, window_to=window_to, read_files=read_files,
        file_cap_bytes=file_cap_bytes, system_cap_bytes=system_cap_bytes,
        notify_unknown=notify_unknown,
    )  # fmt: skip

    def work(rt: Any, session: Any, org_id: int) -> selection.Selection:
        c = selection.criteria(values)
        return selection.select_affected(session, org_id, incident, c, CLI_ACTOR, rt.vault_keys)

    s = _run(org, work)
    states = ", ".join(f"{k or 'unknown'} {v}" for k, v in s.by_state.items())
    out.print(f"{s.total} affected: {states}", highlight=False)
    for x in s.connected_search:
        found = (
            f"{x['rows']} row(s), {x['in_vault']} in the vault, {x['not_in_vault']} not in it; "
            if x["searched"]
            else "NOT SEARCHED: "
        )
        out.print(f"  system {x['system']}: {found}{x['reason']}", highlight=False)
        for n in x.get("not_read") or []:
            out.print(f"    not read: {n['file']}: {n['why']}", highlight=False)
    if s.not_in_vault_kept:
        out.print(
            f"  {s.not_in_vault_kept} people not in the vault kept (sealed) to be notified",
            highlight=False,
        )


@app.command("erase-contacts")
def erase_contacts_cmd(
    incident: Annotated[int, typer.Argument(help="Incident id.")], org: Org = None
) -> None:
    """Crypto-shred the contacts kept for people found only in connected systems (after
    their notices went out)."""

    def work(rt: Any, session: Any, org_id: int) -> int:
        return contacts.erase(session, rt.vault_keys, org_id, incident, CLI_ACTOR)

    out.print(f"erased {_run(org, work)} contact(s)", highlight=False)


@app.command("deadlines")
def deadlines_cmd(
    incident: Annotated[int, typer.Argument(help="Incident id.")], org: Org = None
) -> None:
    """Every duty the incident sets running, with its source; not-required ones say why."""

    def work(rt: Any, session: Any, org_id: int) -> report.Summary:
        return report.summary(session, rt.rule_book, org_id, incident)

    s = _run(org, work)
    # One line per duty (no table: long sources and reasons stay whole for grep).
    for o in s.plan.obligations:
        due = f"{o.due_at:%Y-%m-%d %H:%M} UTC" if o.due_at else "-"
        flag = "required" if o.required else "not required"
        out.print(
            f"{o.state or '?'}\t{o.who}\t{flag}\tdue {due}\t{o.rule}\t{o.reason}\t"
            f"{o.confidence}\tsource: {o.source}",
            highlight=False,
        )
    # The notice content, agency contacts and forms the incident relies on that no source
    # confirms: staff confirm them with counsel (or set them in HONORBOUND_RULES_FILE).
    doubtful = [c for c in s.checks if c.kind != "deadline" and not c.confirmed]
    if doubtful:
        out.print(
            f"{len(doubtful)} notice content item(s), contact(s) and form(s) unverified:",
            highlight=False,
        )
    for c in doubtful:
        out.print(report.unverified_line(c).strip(), highlight=False)


@app.command("notify")
def notify_cmd(
    incident: Annotated[int, typer.Argument(help="Incident id.")],
    language: Annotated[str, typer.Option(help="en or es.")] = "en",
    org: Org = None,
) -> None:
    """Queue the notices to people (the worker sends them) and prepare regulator and client
    documents. Safe to run again."""

    def work(rt: Any, session: Any, org_id: int) -> tuple[notices.SendResult, int]:
        name = session.get(Organization, org_id).name
        r = notices.send_individual_notices(
            session, rt.keys, rt.vault_keys, rt.jobs, rt.rule_book, rt.breach_wording, org_id, name,
            incident,
            CLI_ACTOR, language,
        )  # fmt: skip
        return r, notices.prepare_documents(session, rt.rule_book, org_id, incident, CLI_ACTOR)

    r, docs = _run(org, work)
    out.print(
        f"queued {r.emails} email(s), {r.letters} letter(s) to print; {r.already} already "
        f"noticed, {r.not_required} not required; {docs} document(s) prepared",
        highlight=False,
    )


@app.command("report")
def report_cmd(
    incident: Annotated[int, typer.Argument(help="Incident id.")],
    json_: Annotated[bool, typer.Option("--json", help="JSON instead of text.")] = False,
    output: Annotated[Path | None, typer.Option(help="Write to this file.")] = None,
    org: Org = None,
) -> None:
    """The timeline and the regulator-ready summary."""

    def work(rt: Any, session: Any, org_id: int) -> str:
        s = report.summary(session, rt.rule_book, org_id, incident)
        if not json_:
            return report.as_text(s)
        return json.dumps(
            {
                "incident": s.incident.id,
                "total": s.total,
                "by_state": s.by_state,
                "deadlines": [
                    {**o.__dict__, "due_at": o.due_at.isoformat() if o.due_at else None,
                     "confidence": o.confidence}
                    for o in s.plan.obligations
                ],
                "delivery": s.delivery,
                "checks": [
                    {"kind": c.kind, "state": c.state, "item": c.item,
                     "status": "confirmed" if c.confirmed else "unverified",
                     "confidence": c.status, "source": c.source, "details": c.details}
                    for c in s.checks
                ],
                "timeline": [
                    {"at": e.at.isoformat(), "action": e.action, "actor": e.actor}
                    for e in s.timeline
                ],
            },
            indent=2,
        )  # fmt: skip

    text = _run(org, work)
    if output is not None:
        output.write_text(text, encoding="utf-8")
        output.chmod(0o600)
        out.print(f"wrote {output}", highlight=False)
    else:
        typer.echo(text)
