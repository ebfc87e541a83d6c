"""The audio behind the vault's call recordings.

A vault interaction keeps a recording's URI (sealed) and hash, not the audio. When retention or
a deletion clears that pointer, the object it points to is deleted too, through the connected
files system whose URL the URI starts with (an S3 bucket, an SFTP folder, a local folder),
with every version on a versioned store. A URI no connected system covers cannot be deleted
by Honorbound: it is counted as `unreached` (the certificate and the timeline say so), never
silently dropped.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from honorbound.systems import registry
from honorbound.systems.connectors import open_connector
from honorbound.systems.context import SystemsContext
from honorbound.systems.errors import SystemsError
from honorbound.systems.secrets import connection_url
from honorbound.vault.models import Interaction
from honorbound.vault.sealing import open_text


@dataclass
class RecordingDeletion:
    objects: int = 0
    versions: int = 0
    unreached: int = 0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "recording_objects_deleted": self.objects,
            "recording_versions_deleted": self.versions,
            "recording_objects_unreached": self.unreached,
        }
        if self.errors:
            out["recording_errors"] = self.errors[:5]
        return out


def open_uris(
    vault_keys: Any, rows: Iterable[tuple[str, str, bytes | None]], org: int
) -> list[str]:
    """(subject key id, ..., sealed uri) rows opened with each person's key."""
    out = []
    keys: dict[str, bytes] = {}
    for key_id, _label, sealed in rows:
        if sealed is None:
            continue
        if key_id not in keys:
            try:
                keys[key_id] = vault_keys.data_key(org, key_id)
            except Exception:  # the key is gone already: the pointer is unreadable
                continue
        out.append(open_text(keys[key_id], org, key_id, "interaction:recording_uri", sealed))
    return out


def delete_objects(
    session: Session, ctx: SystemsContext, organization_id: int, uris: list[str]
) -> RecordingDeletion:
    result = RecordingDeletion()
    if not uris:
        return result
    try:
        stores = [s for s in registry.connected(session, organization_id) if s.type == "files"]
    except SystemsError as exc:
        result.unreached = len(uris)
        result.errors.append(str(exc))
        return result
    bases = []
    for s in stores:
        with contextlib.suppress(SystemsError):
            bases.append((connection_url(s, ctx.environ).rstrip("/") + "/", s))
    connectors: dict[str, Any] = {}
    try:
        for uri in uris:
            match = next(((b, s) for b, s in bases if uri.startswith(b)), None)
            if match is None:
                result.unreached += 1
                continue
            base, system = match
            try:
                if system.key not in connectors:
                    connectors[system.key] = open_connector(
                        system, ctx.connector_settings(organization_id), ctx.environ
                    )
                connector = connectors[system.key]
                path = f"{connector.root}/{uri[len(base) :]}"
                if not connector.fs.exists(path):
                    continue  # gone already (a rerun after a crash)
                objects, versions = connector._delete_object(path, "recording")
                result.objects += objects
                result.versions += versions
            except SystemsError as exc:
                result.unreached += 1
                result.errors.append(str(exc))
    finally:
        for c in connectors.values():
            c.close()
    return result


def delete_for_interactions(
    session: Session,
    ctx: SystemsContext,
    vault_keys: Any,
    organization_id: int,
    interaction_ids: list[int],
) -> RecordingDeletion:
    """Delete the audio of these vault interactions (call before their pointers are cleared)."""
    from honorbound.vault.models import Subject

    rows = session.execute(
        select(Subject.key_id, Interaction.id, Interaction.recording_uri_sealed)
        .join(Subject, Subject.id == Interaction.subject_id)
        .where(
            Interaction.organization_id == organization_id,
            Interaction.id.in_(interaction_ids),
            Interaction.recording_uri_sealed.is_not(None),
        )
    ).all()
    uris = open_uris(vault_keys, [(r[0], str(r[1]), r[2]) for r in rows], organization_id)
    return delete_objects(session, ctx, organization_id, uris)


def delete_for_subject(
    session: Session, ctx: SystemsContext, vault_keys: Any, organization_id: int, subject_id: int
) -> RecordingDeletion:
    ids = list(
        session.scalars(
            select(Interaction.id).where(
                Interaction.organization_id == organization_id,
                Interaction.subject_id == subject_id,
                Interaction.recording_uri_sealed.is_not(None),
            )
        )
    )
    return delete_for_interactions(session, ctx, vault_keys, organization_id, ids)
