"""Idempotency keys: a retried write returns the first answer and writes nothing new.

The stored request fingerprint is a keyed HMAC (organization key derived from the master key),
so it cannot be used to guess the personal data that was sent. Stored answers hold ids and
counts only.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from honorbound.db.base import utcnow
from honorbound.errors import HonorboundError
from honorbound.jobs.context import JobContext
from honorbound.vault.keystore import KeyStore
from honorbound.vault.models import IdempotencyKey

# How long a retry is answered from the stored result. Clients retry within minutes; a day
# leaves room for a queue that was down overnight.
KEEP_FOR = dt.timedelta(hours=24)
EXPIRE_JOB = "vault.idempotency_expire"


class IdempotencyMismatch(HonorboundError):
    """The key was used before for a different request."""

    status = 422
    title = "Idempotency-Key reused"

    def errors(self) -> list[dict[str, str]]:
        return [{"field": "header.Idempotency-Key", "message": str(self)}]


@dataclass(frozen=True)
class Replay:
    status_code: int
    response: dict[str, Any]


def fingerprint(keys: KeyStore, organization_id: int, operation: str, body: bytes) -> str:
    key = keys.derived(f"org:{organization_id}:idempotency")
    return hmac.new(key, operation.encode() + b"\x00" + body, hashlib.sha256).hexdigest()


def replay(
    session: Session, organization_id: int, key: str, operation: str, request_hash: str
) -> Replay | None:
    row = session.scalar(
        select(IdempotencyKey).where(
            IdempotencyKey.organization_id == organization_id, IdempotencyKey.key == key
        )
    )
    if row is None:
        return None
    if row.operation != operation or row.request_hash != request_hash:
        raise IdempotencyMismatch(
            "this Idempotency-Key was already used for a different request; use a new key"
        )
    return Replay(row.status_code, dict(row.response))


def remember(
    session: Session,
    organization_id: int,
    key: str,
    operation: str,
    request_hash: str,
    status_code: int,
    response: dict[str, Any],
) -> None:
    session.add(
        IdempotencyKey(
            organization_id=organization_id,
            key=key,
            operation=operation,
            request_hash=request_hash,
            status_code=status_code,
            response=response,
        )
    )
    session.flush()


def expire(session: Session, before: dt.datetime) -> int:
    """Forget keys stored before `before` (a retry after that is a new request)."""
    result = session.execute(
        delete(IdempotencyKey)
        .where(IdempotencyKey.created_at < before)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def expire_job(rt: JobContext, payload: dict[str, Any]) -> dict[str, Any]:
    """Periodic job: forget keys older than KEEP_FOR."""
    with rt.db.session() as session:
        return {"expired": expire(session, utcnow() - KEEP_FOR)}
