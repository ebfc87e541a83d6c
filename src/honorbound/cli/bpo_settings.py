"""honorbound clients hours | subprocessors | sms-numbers: a BPO's per-client settings from the
command line, the same domain functions as /v1/clients/{id}/overrides, /v1/clients/{id}/
subprocessors and /v1/sms-numbers (and the console's client page). Errors are one sentence and
exit 2 with nothing changed."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from honorbound.bpo import clients, sms_numbers
from honorbound.cli.clients import ACTOR, Bpo, Client, _bpo_id, _client_id
from honorbound.cli.common import fail, out, runtime
from honorbound.consent import overrides
from honorbound.disclosures import subprocessors
from honorbound.policy.problems import DeclarationError

hours = typer.Typer(help="A client's calling hours, stricter than the law (its counsel's).")
register_app = typer.Typer(help="A client's sub-processors; every change notifies the client.")
numbers = typer.Typer(help="The BPO's shared SMS numbers and short codes, and their routing.")


def _run(write: bool, work: Any) -> None:
    """Open the runtime and a session, call `work(session, rt)`; a domain error is one line."""
    rt = runtime()
    try:
        with rt.db.session() if write else rt.db.read_session() as session:
            work(session, rt)
    except (
        overrides.OverrideError,
        subprocessors.SubprocessorError,
        sms_numbers.SharedNumberError,
    ) as exc:
        fail(str(exc))
    except DeclarationError as exc:  # a client's rules override: every problem, FILE:LINE
        for problem in exc.problems:
            typer.echo(str(problem), err=True)
        raise typer.Exit(2) from None
    finally:
        rt.close()


# -- calling hours -----------------------------------------------------------------------------
@hours.command("show")
def hours_show(bpo: Bpo, client: Client) -> None:
    """The client's calling hours override, or that the law's windows alone apply."""

    def work(session: Any, rt: Any) -> None:
        row = session.get(
            overrides.ContactOverride, _client_id(session, _bpo_id(session, bpo), client)
        )
        if row is None:
            out.print(f"{client}: no override; the law's calling windows apply.")
        else:
            note = f" ({row.note})" if row.note else ""
            out.print(f"{client}: {row.calling_start}-{row.calling_end} callee's local time{note}")

    _run(False, work)


@hours.command("set")
def hours_set(
    bpo: Bpo,
    client: Client,
    start: Annotated[str, typer.Option(help="HH:MM, the callee's local time.")],
    end: Annotated[str, typer.Option(help="HH:MM, after the start.")],
    note: Annotated[str, typer.Option(help="The counsel position it follows.")] = "",
) -> None:
    """Set the client's calling hours; they must lie inside the federal window (stricter only)."""

    def work(session: Any, rt: Any) -> None:
        client_id = _client_id(session, _bpo_id(session, bpo), client)
        row = overrides.set_calling_hours(
            session, client_id, rt.contact_rules, start, end, note, ACTOR
        )
        out.print(f"{client}: calls only {row.calling_start}-{row.calling_end} callee's time.")

    _run(True, work)


@hours.command("clear")
def hours_clear(bpo: Bpo, client: Client) -> None:
    """Remove the client's override: the law's windows alone apply again."""

    def work(session: Any, rt: Any) -> None:
        client_id = _client_id(session, _bpo_id(session, bpo), client)
        cleared = overrides.clear(session, client_id, ACTOR)
        out.print(f"{client}: override {'cleared' if cleared else 'was not set'}.")

    _run(True, work)


# -- sub-processors ----------------------------------------------------------------------------
@register_app.command("list")
def subprocessors_list(bpo: Bpo, client: Client) -> None:
    """The client's current sub-processors: id, name, location, purpose, categories."""

    def work(session: Any, rt: Any) -> None:
        client_id = _client_id(session, _bpo_id(session, bpo), client)
        for row in subprocessors.current(session, client_id):
            categories = ",".join(row.categories)
            typer.echo(f"{row.id}\t{row.name}\t{row.location}\t{row.purpose}\t{categories}")

    _run(False, work)


@register_app.command("add")
def subprocessors_add(
    bpo: Bpo,
    client: Client,
    name: Annotated[str, typer.Option(help="The sub-processor's name.")],
    purpose: Annotated[str, typer.Option(help="What it does with the data.")],
    location: Annotated[str, typer.Option(help="Where it processes the data.")],
    category: Annotated[
        list[str] | None, typer.Option(help="A data category it receives (repeatable).")
    ] = None,
    objection_days: Annotated[
        int, typer.Option(help="The contract's objection window, in days.")
    ] = subprocessors.DEFAULT_OBJECTION_DAYS,
) -> None:
    """Register a sub-processor; the change notice goes to the client's privacy contact."""

    def work(session: Any, rt: Any) -> None:
        bpo_id = _bpo_id(session, bpo)
        org = clients.client_of(session, bpo_id, _client_id(session, bpo_id, client))
        change = subprocessors.add(
            session, rt.keys, rt.jobs, org.id, org.privacy_contact, name, purpose, location,
            list(category or []), ACTOR, objection_days,
        )  # fmt: skip
        out.print(
            f"Sub-processor {change.subprocessor.id} added for {client}; notice queued, "
            f"objections until {change.objection_deadline.isoformat()}."
        )

    _run(True, work)


@register_app.command("remove")
def subprocessors_remove(
    bpo: Bpo,
    client: Client,
    subprocessor_id: Annotated[int, typer.Option("--id", help="The id `list` shows.")],
) -> None:
    """Take a sub-processor off the client's register (kept with its removal time); notifies."""

    def work(session: Any, rt: Any) -> None:
        bpo_id = _bpo_id(session, bpo)
        org = clients.client_of(session, bpo_id, _client_id(session, bpo_id, client))
        try:
            subprocessors.remove(
                session, rt.keys, rt.jobs, org.id, org.privacy_contact, subprocessor_id, ACTOR
            )
        except LookupError:
            fail(f"{client} has no current sub-processor with id {subprocessor_id}")
        out.print(f"Sub-processor {subprocessor_id} removed for {client}; notice queued.")

    _run(True, work)


# -- shared SMS numbers ------------------------------------------------------------------------
@numbers.command("list")
def numbers_list(bpo: Bpo) -> None:
    """The BPO's shared numbers: number, routing, the clients sending from it."""

    def work(session: Any, rt: Any) -> None:
        for view in sms_numbers.numbers_of(session, _bpo_id(session, bpo)):
            typer.echo(f"{view.number}\t{view.routing}\t{','.join(view.clients)}")

    _run(False, work)


@numbers.command("set")
def numbers_set(
    bpo: Bpo,
    number: Annotated[str, typer.Option(help="+1... phone number or a 5-6 digit short code.")],
    client: Annotated[
        list[str], typer.Option("--client", help="Slug of a client sending from it (repeatable).")
    ],
    routing: Annotated[
        str, typer.Option(help="last_sender (a STOP goes to the last sender) or all.")
    ] = "last_sender",
) -> None:
    """Register or re-configure a shared number: its clients and how a STOP is routed."""

    def work(session: Any, rt: Any) -> None:
        bpo_id = _bpo_id(session, bpo)
        if len(client) > sms_numbers.MAX_CLIENTS_PER_NUMBER:
            fail(f"at most {sms_numbers.MAX_CLIENTS_PER_NUMBER} clients a number")
        ids = [_client_id(session, bpo_id, slug) for slug in client]
        view = sms_numbers.configure(session, bpo_id, number, ids, routing, ACTOR)
        out.print(f"{view.number}: {view.routing}, clients {', '.join(view.clients)}.")

    _run(True, work)


def register(parent: typer.Typer) -> None:
    from honorbound.cli.client_rules import app as rules_app

    parent.add_typer(hours, name="hours")
    parent.add_typer(rules_app, name="rules")
    parent.add_typer(register_app, name="subprocessors")
    parent.add_typer(numbers, name="sms-numbers")
