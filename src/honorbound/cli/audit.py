"""`honorbound audit verify|head`."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy import select

from honorbound.accounts.models import Organization
from honorbound.audit import head, verify
from honorbound.cli.common import err, out, runtime

app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)


def _org_id(session: object, slug: str | None) -> int | None:
    if slug is None:
        return None
    org_id = session.scalar(select(Organization.id).where(Organization.slug == slug))  # type: ignore[attr-defined]
    if org_id is None:
        err.print(f"error: no organization with slug {slug!r}")
        raise typer.Exit(2)
    return int(org_id)


@app.command("verify")
def verify_cmd(
    org: Annotated[str | None, typer.Option(help="Only this organization (slug).")] = None,
) -> None:
    """Exit 0 when every chain is intact; otherwise name the first bad entry and exit 1."""
    rt = runtime()
    with rt.db.session() as session:
        result = verify(session, _org_id(session, org))
    rt.close()
    if result.ok:
        out.print(
            f"audit chain intact: {result.entries} entries in "
            f"{result.organizations} organization(s)"
        )
        return
    for problem in result.problems:
        err.print(str(problem), highlight=False)
    raise typer.Exit(1)


@app.command("head")
def head_cmd(
    org: Annotated[str, typer.Option(help="Organization slug.")],
) -> None:
    """Print `SEQ HASH` of the newest entry, to anchor elsewhere (a ticket, a notary, mail)."""
    rt = runtime()
    with rt.db.session() as session:
        seq, digest = head(session, _org_id(session, org) or 0)
    rt.close()
    out.print(f"{seq} {digest}")
