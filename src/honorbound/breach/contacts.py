"""People an incident affected who were found only in a connected system (not in the vault).

With `notify_unknown` the selection keeps each one's contact value (the email or phone found,
one per person: the first identity of their row) so the incident's notices reach them too.
Each value is sealed under a data key of its own in the vault's key store, with the
associated data naming the organization, that key and the field: it is never written in
clear. `erase` crypto-shreds the keys (the key store is scrubbed, as for an erased vault
subject) and drops the sealed values and their blind indexes; the rows keep the state and
categories, so the counts and the notice record stay. These values are for this incident only:
nothing else reads them, and they are not collected into the vault.
"""

from __future__ import annotations

import secrets
from collections import Counter

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from honorbound.audit import Actor, append
from honorbound.breach.connected import Unknown
from honorbound.breach.errors import BreachInputError
from honorbound.breach.incidents import OBJECT, get_incident
from honorbound.breach.models import ExternalContact, Notice
from honorbound.db.base import utcnow
from honorbound.notify.models import OutboxMessage
from honorbound.vault.keystore import KeyStore
from honorbound.vault.sealing import open_text, seal_text

# A contact's data key id: "bc-" and 24 random hex digits, 27 characters (key ids are
# String(32) in the outbox and the key store; PostgreSQL refuses a longer one).
KEY_PREFIX = "bc-"
WAITING = ("pending", "sending")
CHUNK = 2000  # outbox states in which the sealed message is still needed


def _field(kind: str) -> str:
    return f"breach_contact:{kind}"


def keep(
    session: Session,
    vault_keys: KeyStore,
    organization_id: int,
    incident_id: int,
    found: list[Unknown],
) -> int:
    """Store the selection's people not in the vault: new ones sealed under a new key each,
    those already kept left alone, and those kept earlier but not found now (and not noticed)
    erased. Returns how many are kept for the incident."""
    have = {
        c.blind_index: c
        for c in session.scalars(
            select(ExternalContact).where(
                ExternalContact.incident_id == incident_id, ExternalContact.erased_at.is_(None)
            )
        )
    }
    noticed = set(
        session.scalars(
            select(Notice.contact_id).where(
                Notice.incident_id == incident_id, Notice.contact_id.is_not(None)
            )
        )
    )
    now = {u.digest for u in found}
    gone = [c for d, c in have.items() if d not in now and c.id not in noticed]
    if gone:
        vault_keys.destroy_data_keys(organization_id, [c.key_id for c in gone])
        session.execute(delete(ExternalContact).where(ExternalContact.id.in_([c.id for c in gone])))
    new = [u for u in found if u.digest not in have]
    now_at = utcnow()
    for i in range(0, len(new), CHUNK):  # keys, sealing and rows a chunk at a time (memory)
        part = new[i : i + CHUNK]
        key_ids = {u.digest: f"{KEY_PREFIX}{secrets.token_hex(12)}" for u in part}
        deks = vault_keys.create_data_keys(organization_id, key_ids.values())
        rows = [
            {
                "organization_id": organization_id,
                "incident_id": incident_id,
                "key_id": key_ids[u.digest],
                "kind": u.kind,
                "blind_index": u.digest,
                "value_sealed": seal_text(
                    deks[key_ids[u.digest]], organization_id, key_ids[u.digest],
                    _field(u.kind), u.value,
                ),
                "state": u.state,
                "system": u.system[:200],
                "categories": u.categories,
                "found_at": now_at,
            }
            for u in part
        ]  # fmt: skip
        session.execute(insert(ExternalContact), rows)
    session.flush()
    return len(have) - len(gone) + len(new)


def counts_by_state(session: Session, incident_id: int) -> dict[str, int]:
    """The incident's people not in the vault, by state ("" unknown); erased ones included
    (they were affected; only their contact value is gone)."""
    rows = session.execute(
        select(ExternalContact.state, func.count())
        .where(ExternalContact.incident_id == incident_id)
        .group_by(ExternalContact.state)
    ).all()
    return {str(state): int(n) for state, n in rows}


def merged(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
    total = Counter(a)
    total.update(b)
    return {k: total[k] for k in sorted(total)}


def contact_value(vault_keys: KeyStore, contact: ExternalContact) -> str:
    """The contact's value, opened to address a notice (`KeyDestroyed` once erased)."""
    if contact.value_sealed is None:
        raise BreachInputError("contact", f"{contact.id} was erased")
    dek = vault_keys.data_key(contact.organization_id, contact.key_id)
    return open_text(
        dek, contact.organization_id, contact.key_id, _field(contact.kind), contact.value_sealed
    )


def pending(session: Session, incident_id: int) -> list[ExternalContact]:
    """Contacts kept (not erased) that have no notice yet, in id order."""
    told = select(Notice.contact_id).where(
        Notice.incident_id == incident_id, Notice.contact_id.is_not(None)
    )
    return list(
        session.scalars(
            select(ExternalContact)
            .where(
                ExternalContact.incident_id == incident_id,
                ExternalContact.erased_at.is_(None),
                ExternalContact.id.not_in(told),
            )
            .order_by(ExternalContact.id)
        )
    )


def erase(
    session: Session, vault_keys: KeyStore, organization_id: int, incident_id: int, actor: Actor
) -> int:
    """Crypto-shred the incident's kept contacts (after notice): their keys are destroyed and
    the key store scrubbed, their sealed values and blind indexes dropped. Refused while a
    notice to one of them is still waiting in the outbox (it is sealed under the same key).
    Returns how many were erased."""
    incident = get_incident(session, organization_id, incident_id)
    kept = list(
        session.scalars(
            select(ExternalContact).where(
                ExternalContact.incident_id == incident.id, ExternalContact.erased_at.is_(None)
            )
        )
    )
    waiting = session.scalar(
        select(func.count())
        .select_from(Notice)
        .join(OutboxMessage, OutboxMessage.id == Notice.outbox_message_id)
        .where(
            Notice.incident_id == incident.id,
            Notice.contact_id.is_not(None),
            OutboxMessage.status.in_(WAITING),
        )
    )
    if waiting:
        raise BreachInputError(
            "contacts",
            f"{waiting} notice(s) to people found only in connected systems are still waiting "
            "in the outbox: erase once they are sent or have failed",
        )
    if kept:
        when = utcnow()
        for c in kept:
            c.value_sealed = None
            c.blind_index = None
            c.erased_at = when
        session.flush()
        vault_keys.destroy_data_keys(organization_id, [c.key_id for c in kept])
    append(
        session, organization_id, actor, "breach.contacts_erased", OBJECT, incident.id,
        {"erased": len(kept)},
    )  # fmt: skip
    return len(kept)
