"""`honorbound keys rotate|status|move-to-hsm`: the vault's organization keys and where the
master key is kept."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy import select

from honorbound.accounts.models import Organization
from honorbound.audit import Actor, append
from honorbound.cli.common import fail, out, runtime, settings

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


@app.command("move-to-hsm")
def move_to_hsm_cmd(
    create_key: Annotated[
        bool, typer.Option(help="Create the wrapping AES key in the token if it is missing.")
    ] = False,
    remove_key_file: Annotated[
        bool,
        typer.Option(help="Overwrite and delete the clear master key file once wrapped."),
    ] = False,
) -> None:
    """Wrap the current master key with a key inside a PKCS#11 token (HONORBOUND_PKCS11_*
    settings), check the token unwraps it back, and optionally remove the clear key file. No
    data is re-encrypted: the master key stays the same, only its custody changes. Afterwards
    set HONORBOUND_KEY_PROVIDER=pkcs11."""
    from honorbound.config import ConfigError
    from honorbound.crypto.keys import MasterKeyError
    from honorbound.crypto.providers import FileProvider, Pkcs11Provider, shred_file
    from honorbound.runtime import master_key_provider

    loaded = settings()
    if loaded.key_provider != "file":
        fail("HONORBOUND_KEY_PROVIDER is already pkcs11: the key is in the token's custody")
    source = FileProvider(loaded.resolved_master_key_file, loaded.master_key)
    try:
        target = master_key_provider(loaded.model_copy(update={"key_provider": "pkcs11"}))
        assert isinstance(target, Pkcs11Provider)
        master = source.load()
        target.wrap(master, create_key=create_key)
        if target.load() != master:
            fail("the token unwrapped another key than the one it wrapped; nothing removed")
    except (MasterKeyError, ConfigError) as exc:
        fail(str(exc))
    out.print(f"master key wrapped by {target.describe()} into {target.config.wrapped_file}")
    if remove_key_file and not loaded.master_key:
        shred_file(loaded.resolved_master_key_file)
        out.print(f"{loaded.resolved_master_key_file} overwritten and removed")
    out.print(
        "now set HONORBOUND_KEY_PROVIDER=pkcs11 (and keep the HONORBOUND_PKCS11_* settings); "
        "no data was re-encrypted"
    )
