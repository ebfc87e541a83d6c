"""`honorbound keys rotate|status`: the vault's organization keys."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy import select

from honorbound.accounts.models import Organization
from honorbound.audit import Actor, append
from honorbound.cli.common import fail, out, runtime

app = typer.Typer(help="Vault keys: rotate an organization's key.", no_args_is_help=True)


@app.command("rotate")
def rotate_cmd(
    org: Annotated[str, typer.Option(help="Organization slug.")],
) -> None:
    """Re-wrap every data key of the organization under a new organization key, then destroy
    the old one. Data is not re-encrypted; copies of the old key stop working."""
    rt = runtime()
    try:
        with rt.db.session() as session:
            org_id = session.scalar(select(Organization.id).where(Organization.slug == org))
        if org_id is None:
            fail(f"no organization with slug {org!r}")
        result = rt.vault_keys.rotate(int(org_id))
        with rt.db.session() as session:
            append(
                session,
                int(org_id),
                Actor("cli", "admin"),
                "vault.keys_rotated",
                "organization",
                int(org_id),
                {
                    "old_version": result.old_version,
                    "new_version": result.new_version,
                    "rewrapped": result.rewrapped,
                },
            )
    finally:
        rt.close()
    out.print(
        f"organization {org}: key version {result.old_version} -> {result.new_version}, "
        f"{result.rewrapped} data key(s) re-wrapped; the old key is destroyed"
    )


@app.command("status")
def status_cmd(
    org: Annotated[str, typer.Option(help="Organization slug.")],
) -> None:
    """Print the active organization key version and how many data keys it wraps."""
    rt = runtime()
    try:
        with rt.db.session() as session:
            org_id = session.scalar(select(Organization.id).where(Organization.slug == org))
        if org_id is None:
            fail(f"no organization with slug {org!r}")
        version = rt.vault_keys.kek_version(int(org_id))
        count = rt.vault_keys.data_key_count(int(org_id))
    finally:
        rt.close()
    out.print(f"organization {org}: key version {version}, {count} data key(s)")
