"""honorbound dnc company add | list | remove: the company-specific do-not-call lists (a
client's own, and its BPO's, which binds every client), the same domain functions as
/v1/dnc/company and the console's "Do-not-call across clients" page.

The number is read from standard input (or a hidden prompt), never from an argument: it stays
out of shell history and the process list. Lists show no numbers (only a keyed blind index
is stored). Errors are one sentence and exit 2 with nothing written."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import typer

from honorbound.audit import Actor
from honorbound.cli.common import fail, out, runtime
from honorbound.cli.consent import Org, _org_id
from honorbound.consent import dnc
from honorbound.consent.models import Source
from honorbound.errors import HonorboundError

app = typer.Typer(
    help="Company-specific do-not-call requests: a client's own list and its BPO's.",
    no_args_is_help=True,
)
ACTOR = Actor("cli:dnc", "system")
MAX_IDENTITY = 254


def _run(write: bool, work: Any) -> None:
    """Open the runtime and a session, call `work(session, rt)`; a domain error is one line
    (exit 2) and the transaction is rolled back."""
    rt = runtime()
    try:
        with rt.db.session() if write else rt.db.read_session() as session:
            work(session, rt)
    except HonorboundError as exc:
        fail(str(exc))
    finally:
        rt.close()


@app.command("add")
def add_cmd(
    org: Annotated[str, typer.Option("--org", help="The organization whose call it was.")],
    binds: Annotated[
        dnc.Binds | None,
        typer.Option(
            help="seller: that organization's own list; telemarketer: its BPO's list, read by "
            "every client (default: contact-rules.yaml company_dnc.binds.default)."
        ),
    ] = None,
    source: Annotated[str, typer.Option(help="How it was asked.")] = Source.AGENT_VERBAL.value,
    requested_at: Annotated[
        str | None, typer.Option(help="When the person asked (ISO 8601 with a zone; default now).")
    ] = None,
) -> None:
    """Record a request not to be called; the number (or email) is read from standard input."""
    when = None
    if requested_at is not None:
        try:
            when = dt.datetime.fromisoformat(requested_at)
        except ValueError:
            fail("--requested-at must be an ISO 8601 time with a zone, e.g. 2026-12-01T14:00Z")
    value = typer.prompt(
        "Number or email", default="", show_default=False, hide_input=True, err=True
    )
    if not value.strip():
        fail("identity: no phone number or email was given on standard input")
    if len(value) > MAX_IDENTITY:
        fail(f"the number or email is longer than {MAX_IDENTITY} characters")

    def work(session: Any, rt: Any) -> None:
        row, chosen = dnc.take_request(
            session, rt.keys, _org_id(session, org), value.strip(), None, rt.contact_rules,
            ACTOR, binds, source, when,
        )  # fmt: skip
        whose = "the BPO's list (every client)" if chosen is dnc.Binds.TELEMARKETER else org
        out.print(
            f"Request {row.id} recorded on {whose}; it lapses on {row.expires_at.date()}.",
            highlight=False,
        )

    _run(True, work)


@app.command("list")
def list_cmd(
    org: Org,
    before: Annotated[int | None, typer.Option(help="Show requests older than this id.")] = None,
    limit: Annotated[int, typer.Option(help="Requests per page.")] = dnc.PAGE_SIZE,
) -> None:
    """The organization's own list, newest first: id, source, requested, recorded, lapses.
    A BPO's list is the one every client's decisions read. No numbers are stored to show."""

    def work(session: Any, rt: Any) -> None:
        page = dnc.company_requests(session, [_org_id(session, org)], before, limit)
        for r in page.rows:
            typer.echo(
                f"{r.id}\t{r.source}\t{r.requested_at.isoformat()}\t"
                f"{r.recorded_at.isoformat()}\t{r.expires_at.date().isoformat()}"
            )
        if page.next_before is not None:
            typer.echo(f"more: --before {page.next_before}", err=True)

    _run(False, work)


@app.command("remove")
def remove_cmd(
    org: Org,
    request_id: Annotated[int, typer.Option("--id", help="The request's id (from list).")],
    reason: Annotated[
        str, typer.Option(help="Why: " + ", ".join(r.value for r in dnc.RemovalReason) + ".")
    ],
) -> None:
    """Take a request off the organization's list: the number becomes callable again."""

    def work(session: Any, rt: Any) -> None:
        dnc.remove_company_request(session, _org_id(session, org), request_id, reason, ACTOR)
        out.print(f"Request {request_id} removed from {org}'s list ({reason}).", highlight=False)

    _run(True, work)
