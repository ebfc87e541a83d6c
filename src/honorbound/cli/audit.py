"""`honorbound audit verify|head|anchor|public-key`."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Annotated

import typer
from sqlalchemy import select

from honorbound.accounts.models import Organization
from honorbound.audit import anchors, head
from honorbound.audit.checkpoints import organizations_with_entries, verify_chain
from honorbound.cli.common import err, out, runtime

_OK = SimpleNamespace(ok=True)

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
    against: Annotated[
        Path | None,
        typer.Option(
            "--against",
            help="An anchor file (`audit anchor`): also detect truncation, a deleted chain and "
            "a rewrite with recomputed hashes.",
        ),
    ] = None,
    public_key: Annotated[
        str | None,
        typer.Option(
            help="Public key (hex) the anchors were signed with. Default: this "
            "installation's audit key."
        ),
    ] = None,
    new: Annotated[
        bool,
        typer.Option(
            "--new",
            help="Only the entries added since the last check (the checkpoint); an edit to an "
            "older entry is found by the full walk (the default).",
        ),
    ] = False,
) -> None:
    """Exit 0 when every chain is intact; otherwise name the first bad entry and exit 1. The
    walk reads in batches of short read transactions, so writers do not wait for it."""
    rt = runtime()
    try:
        anchors_found: list[anchors.SignedHead] = []
        if against is not None:
            key = (
                anchors.parse_public_key(public_key)
                if public_key
                else anchors.load_key(rt.settings.resolved_audit_key_file).public_key()
            )
            anchors_found = anchors.read_anchors(against, key)
        with rt.db.read_session() as session:
            org_id = _org_id(session, org)
            org_ids = organizations_with_entries(session) if org_id is None else [org_id]
        statuses = {i: verify_chain(rt.db, i, full=not new) for i in org_ids}
        with rt.db.read_session() as session:
            if org_id is not None:
                anchors_found = [a for a in anchors_found if a.organization_id == org_id]
            anchored = anchors.check(session, anchors_found)
    except anchors.AnchorError as exc:
        err.print(f"error: {exc}", highlight=False)
        raise typer.Exit(2) from None
    finally:
        rt.close()
    problems = [s.problem for s in statuses.values() if s.problem]
    problems += [str(p) for p in anchored if statuses.get(p.organization_id, _OK).ok]
    if not problems:
        extra = f"; matches {len(anchors_found)} anchor(s)" if against is not None else ""
        walked = sum(s.new_entries if new else s.entries for s in statuses.values())
        out.print(
            f"audit chain intact: {walked} {'new ' if new else ''}entries in "
            f"{len(statuses)} organization(s){extra}"
        )
        return
    for problem in problems:
        err.print(problem, highlight=False)
    raise typer.Exit(1)


@app.command("head")
def head_cmd(
    org: Annotated[str, typer.Option(help="Organization slug.")],
    sign: Annotated[
        bool, typer.Option("--sign", help="Print a signed anchor line (JSON) instead.")
    ] = False,
) -> None:
    """Print `SEQ HASH` of the newest entry, to anchor elsewhere (a ticket, a notary, mail);
    with --sign, the same signed with the audit key (a line `audit verify --against` reads)."""
    rt = runtime()
    try:
        with rt.db.read_session() as session:
            org_id = _org_id(session, org) or 0
            if sign:
                key = anchors.load_or_create_key(rt.settings.resolved_audit_key_file)
                line = anchors.signed_heads(session, key, org_id)[0].line()
            else:
                seq, digest = head(session, org_id)
                line = f"{seq} {digest}"
    finally:
        rt.close()
    typer.echo(line)


@app.command("anchor")
def anchor_cmd(
    to: Annotated[Path, typer.Option("--to", help="Anchor file to append to (append-only).")],
    org: Annotated[str | None, typer.Option(help="Only this organization (slug).")] = None,
) -> None:
    """Append the signed head of every organization's chain (or one) to the anchor file. Run
    it on a schedule and keep the file where the database's writers cannot rewrite it."""
    rt = runtime()
    try:
        key = anchors.load_or_create_key(rt.settings.resolved_audit_key_file)
        with rt.db.read_session() as session:
            heads = anchors.signed_heads(session, key, _org_id(session, org))
        written = anchors.append_anchors(to, heads)
    except OSError as exc:
        err.print(f"error: {to}: {exc.strerror}", highlight=False)
        raise typer.Exit(2) from None
    finally:
        rt.close()
    out.print(f"anchored {written} chain head(s) to {to}", highlight=False)


@app.command("public-key")
def public_key_cmd() -> None:
    """Print the audit key's public half (hex): what anyone needs to check anchors."""
    rt = runtime()
    try:
        key = anchors.load_or_create_key(rt.settings.resolved_audit_key_file)
    finally:
        rt.close()
    typer.echo(anchors.public_key_hex(key.public_key()))
