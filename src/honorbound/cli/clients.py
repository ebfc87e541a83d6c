"""honorbound clients: a BPO onboards, staffs, disables and offboards its client organizations.

Each command calls one function of honorbound.bpo.clients (which writes its audit entry);
errors are one sentence and exit 2 with nothing changed.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import select

from honorbound.accounts.models import Organization
from honorbound.accounts.service import AccountError
from honorbound.audit import Actor
from honorbound.bpo import clients
from honorbound.cli.common import fail, out, runtime

app = typer.Typer(help="A BPO's client organizations: onboard, staff, disable, offboard.")
Bpo = Annotated[str, typer.Option("--bpo", help="Slug of the BPO organization.")]
Client = Annotated[str, typer.Option("--client", help="Slug of the client organization.")]
ACTOR = Actor("cli:clients", "system")


def _bpo_id(session: object, slug: str) -> int:
    found = session.scalar(select(Organization.id).where(Organization.slug == slug[:64]))  # type: ignore[attr-defined]
    if found is None:
        fail(f"no organization with slug {slug[:64]!r}")
    return int(found)


def _client_id(session: object, bpo_id: int, slug: str) -> int:
    try:
        return clients.client_by_slug(session, bpo_id, slug).id  # type: ignore[arg-type]
    except LookupError as exc:
        fail(str(exc))


@app.command("add")
def add_cmd(
    bpo: Bpo,
    slug: Annotated[str, typer.Option(help="Short id of the client (its portal is /p/SLUG).")],
    name: Annotated[str, typer.Option(help="The client's name.")],
    contact: Annotated[str, typer.Option(help="The controller's privacy contact (email).")],
    notice: Annotated[
        Path | None, typer.Option(help="The client's notice (a declaration YAML) to adopt.")
    ] = None,
) -> None:
    """Onboard a client organization under a BPO (optionally adopting its notice)."""
    from honorbound.policy.store import AdoptionError, prepare

    prepared = None
    if notice is not None:
        if not notice.is_file():
            fail(f"{notice}: no such file")
        if notice.stat().st_size > clients.MAX_NOTICE_BYTES:
            fail(f"{notice}: larger than {clients.MAX_NOTICE_BYTES // 1024} KiB")
        try:
            prepared = prepare(notice.read_text(encoding="utf-8"), notice.name)
        except (AdoptionError, UnicodeDecodeError) as exc:
            fail(f"{notice}: not adopted:\n{exc}")
    rt = runtime()
    try:
        with rt.db.session() as session:
            org = clients.onboard_client(
                session, _bpo_id(session, bpo), slug, name, contact, ACTOR, prepared, rt.jobs
            )
            out.print(f"Client {org.slug} onboarded under {bpo} (id {org.id}).")
    except AccountError as exc:
        fail(str(exc))
    finally:
        rt.close()


@app.command("list")
def list_cmd(bpo: Bpo) -> None:
    """The BPO's clients with their state (active, disabled, offboarded)."""
    rt = runtime()
    try:
        with rt.db.read_session() as session:
            for row in clients.clients(session, _bpo_id(session, bpo)):
                typer.echo(f"{row.slug}\t{row.state}\t{row.name}")
    finally:
        rt.close()


@app.command("key")
def key_cmd(
    bpo: Bpo,
    client: Client,
    role: Annotated[str, typer.Option(help="Role of the key (client, agent, admin...).")],
    name: Annotated[str, typer.Option(help="What the key is for, e.g. 'CRM sync'.")],
) -> None:
    """Issue an API key of the client. Printed once: store it now."""
    rt = runtime()
    try:
        with rt.db.session() as session:
            bpo_id = _bpo_id(session, bpo)
            key, plaintext = clients.issue_client_key(
                session, bpo_id, _client_id(session, bpo_id, client), role, name, ACTOR
            )
            out.print(f"API key {key.prefix} ({key.role}) for {client}: {plaintext}")
            out.print("Shown once. Store it now.")
    except AccountError as exc:
        fail(str(exc))
    finally:
        rt.close()


@app.command("invite")
def invite_cmd(
    bpo: Bpo,
    client: Client,
    email: Annotated[str, typer.Option(help="The person's work email (their username).")],
    role: Annotated[str, typer.Option(help="admin, privacy_officer, agent or auditor.")],
    name: Annotated[str, typer.Option(help="The person's name.")] = "",
) -> None:
    """Invite a new person into the client; the link is mailed and printed once."""
    rt = runtime()
    try:
        with rt.db.session() as session:
            bpo_id = _bpo_id(session, bpo)
            user, link = clients.invite_to_client(
                session, rt.keys, rt.jobs, bpo_id, _client_id(session, bpo_id, client),
                email, role, name, ACTOR, rt.settings.base_url.rstrip("/") + "/invite",
            )  # fmt: skip
            out.print(f"Invited {user.username} to {client} as {role}. Link (once): {link}")
    except AccountError as exc:
        fail(str(exc))
    finally:
        rt.close()


@app.command("grant")
def grant_cmd(
    bpo: Bpo,
    client: Client,
    username: Annotated[str, typer.Option(help="A member of the BPO's staff.")],
    role: Annotated[str, typer.Option(help="admin, privacy_officer, agent or auditor.")],
) -> None:
    """Give a member of the BPO's staff a role in the client."""
    rt = runtime()
    try:
        with rt.db.session() as session:
            bpo_id = _bpo_id(session, bpo)
            clients.grant_client_access(
                session, bpo_id, _client_id(session, bpo_id, client), username, role, ACTOR
            )
            out.print(f"{username.strip().lower()} is now {role} in {client}.")
    except AccountError as exc:
        fail(str(exc))
    finally:
        rt.close()


@app.command("disable")
def disable_cmd(bpo: Bpo, client: Client) -> None:
    """Disable a client: its keys are revoked and its console sessions end now."""
    rt = runtime()
    try:
        with rt.db.session() as session:
            bpo_id = _bpo_id(session, bpo)
            revoked = clients.disable_client(
                session, bpo_id, _client_id(session, bpo_id, client), ACTOR
            )
            out.print(f"Client {client} disabled ({revoked} API key(s) revoked).")
    except AccountError as exc:
        fail(str(exc))
    finally:
        rt.close()


@app.command("enable")
def enable_cmd(bpo: Bpo, client: Client) -> None:
    """Enable a disabled client again (revoked keys stay revoked)."""
    rt = runtime()
    try:
        with rt.db.session() as session:
            bpo_id = _bpo_id(session, bpo)
            clients.enable_client(session, bpo_id, _client_id(session, bpo_id, client), ACTOR)
            out.print(f"Client {client} enabled.")
    except AccountError as exc:
        fail(str(exc))
    finally:
        rt.close()


@app.command("offboard")
def offboard_cmd(
    bpo: Bpo,
    client: Client,
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the package and certificate.")],
) -> None:
    """Export a disabled client's data to a package for the controller, erase it, and write
    the signed certificate (check it with `honorbound retention verify-certificate`)."""
    from honorbound.retention.certificates import document

    rt = runtime()
    try:
        with rt.db.read_session() as session:
            bpo_id = _bpo_id(session, bpo)
            client_id = _client_id(session, bpo_id, client)
            export = clients.export_client(
                session, rt.vault_keys, rt.rules, bpo_id, client_id, out_dir,
                rt.settings.recordings_store,
            )  # fmt: skip
        with rt.db.session() as session:
            row = clients.offboard_client(
                session, rt.keys, rt.vault_keys, bpo_id, client_id, export, ACTOR
            )
            certificate = json.dumps(document(row.certificate, row.signature), indent=2)
    except AccountError as exc:
        fail(str(exc))
    finally:
        rt.close()
    path = out_dir / f"{client}-offboarding-certificate.json"
    path.write_text(certificate + "\n", encoding="utf-8")
    out.print(f"Package for the controller: {export.path} (sha256 {export.sha256})")
    out.print(f"Certificate: {path}")


class MapFormat(StrEnum):
    JSON = "json"
    CSV = "csv"


@app.command("data-map")
def data_map_cmd(
    bpo: Bpo,
    format: Annotated[MapFormat, typer.Option("--format", help="json or csv.")] = MapFormat.JSON,
) -> None:
    """The adopted notices of the BPO and all its clients side by side by data category
    (purposes, recipients, retention), differences marked; printed to standard output."""
    from honorbound.bpo import datamap, desk

    rt = runtime()
    try:
        with rt.db.read_session() as session:
            found = datamap.compare(
                session, desk.organizations_of_bpo(session, _bpo_id(session, bpo))
            )
    finally:
        rt.close()
    if format is MapFormat.CSV:
        typer.echo(datamap.as_csv(found), nl=False)
    else:
        typer.echo(json.dumps(datamap.as_json(found), indent=2, ensure_ascii=False))


def register(parent: typer.Typer) -> None:
    from honorbound.cli import bpo_settings  # it reuses this module's options and lookups

    bpo_settings.register(app)
    parent.add_typer(app, name="clients")
