"""API keys authenticated from memory, revocation checked on every request by a counter.

A request with a cached key costs one primary-key read (`db.changes.versions`) and a SHA-256,
instead of loading the key row. The cache trusts an entry only while its organization's
`keys_version` is the one read when the entry was made; a revocation (an UPDATE of the key's
row, in any process) moves that counter in the same transaction, so the next request re-reads
the key and is refused. Only keys whose secret matched are cached: unknown prefixes cannot
fill it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from honorbound.accounts import apikeys
from honorbound.accounts.models import ApiKey
from honorbound.accounts.service import Principal, authenticate_api_key
from honorbound.db.changes import versions

MAX_ENTRIES = 10_000


@dataclass(frozen=True)
class _Entry:
    secret_hash: str
    principal: Principal
    keys_version: int


class ApiKeyCache:
    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()
        self.max_entries = max_entries

    def authenticate(self, session: Session, token: str) -> Principal | None:
        parsed = apikeys.parse(token)
        if parsed is None:
            return None
        prefix, secret = parsed
        entry = self._entries.get(prefix)
        if entry is not None:
            current = versions(session, entry.principal.organization_id)[0]
            if current == entry.keys_version:
                if apikeys.secret_matches(secret, entry.secret_hash):
                    return entry.principal
                return None
        principal = authenticate_api_key(session, token)
        if principal is None:
            with self._lock:
                self._entries.pop(prefix, None)
            return None
        # The counter is read after the row: on PostgreSQL (read committed) a revocation that
        # committed in between is then seen by the check below, never cached as valid.
        version = versions(session, principal.organization_id)[0]
        row = session.execute(
            select(ApiKey.revoked_at, ApiKey.secret_hash).where(ApiKey.prefix == prefix)
        ).first()
        if row is None or row.revoked_at is not None:
            return None
        secret_hash = row.secret_hash
        with self._lock:
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            self._entries[prefix] = _Entry(str(secret_hash), principal, version)
        return principal
