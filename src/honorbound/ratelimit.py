"""Rate limits for every public route and for sign-in: a sliding window per key, counted in
the database. This is the one limiter: the portal's forms, the public JSON API, sign-in and
the emailed links all count here, under the buckets named in `LIMITS`.

The key is the client address or a keyed hash of an identity; what is stored is an HMAC of it
with a key derived from the master key, so the table never holds an address, an email or a
phone number, and its rows cannot be matched to the consent ledger's. Counting in the database
makes the limit hold across every server process and across restarts (a limit kept in memory
would be per process). Old hits are pruned as new ones arrive.

`RateLimiter` (in memory) remains for code and tests that need no database.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Protocol

from sqlalchemy import Index, String, delete, func, select
from sqlalchemy.orm import Mapped, mapped_column

from honorbound.db.base import Base, utcnow
from honorbound.db.engine import Database

# name: (hits allowed, window in seconds).
LIMITS: dict[str, tuple[int, float]] = {
    # Per client address and organization, shared by the portal's forms and the public JSON
    # routes that write or send mail: enough for a household behind one address to use every
    # form, too few to script.
    "ip": (20, 600.0),
    # Per target identity (the email or phone a request or choice is about): a person changing
    # their mind a few times an hour; nobody can have 100 emails sent to one victim.
    "identity": (5, 3600.0),
    # Per client address and organization for public reads (notices, receipts, status).
    "read": (300, 600.0),
    # Sign-in attempts per client address (all of them, right or wrong).
    "login.address": (30, 600.0),
    # Wrong passwords per username: at the limit the username is locked for the window.
    "login.user": (10, 900.0),
    # Wrong attempts per (emailed link, client address): locks that client only.
    "link": (5, 3600.0),
}


class Limiter(Protocol):
    def hit(self, key: str) -> bool: ...

    def retry_after(self, key: str) -> int: ...

    def exceeded(self, key: str) -> bool: ...


class RateLimitHit(Base):
    """One counted attempt: the limiter's name, an HMAC of the key, when."""

    __tablename__ = "rate_limit_hits"
    __table_args__ = (Index("ix_rate_limit_hits_bucket_key_at", "bucket", "key_hash", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bucket: Mapped[str] = mapped_column(String(32))
    key_hash: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column()


class DatabaseRateLimiter:
    """At most `limit` hits per key within `window_seconds`, shared by every process."""

    # Every this many hits, rows of every key older than the window are deleted.
    PRUNE_EVERY = 200

    def __init__(
        self,
        db: Database,
        secret: bytes,
        bucket: str,
        limit: int,
        window_seconds: float,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.db = db
        self.secret = secret
        self.bucket = bucket
        self.limit = limit
        self.window = dt.timedelta(seconds=window_seconds)
        self.clock = clock
        self._hits = 0
        self._lock = threading.Lock()

    def _digest(self, key: str) -> str:
        return hmac.new(self.secret, key.encode(), hashlib.sha256).hexdigest()

    def hit(self, key: str) -> bool:
        """Count one attempt for `key`; False when it is over the limit (not counted then)."""
        digest, now = self._digest(key), self.clock()
        since = now - self.window
        with self._lock:
            self._hits += 1
            prune = self._hits % self.PRUNE_EVERY == 0
        with self.db.session() as session:
            # This key's expired hits; now and then every key's (so the table stays small).
            expired = (RateLimitHit.bucket == self.bucket) & (RateLimitHit.at <= since)
            if not prune:
                expired = expired & (RateLimitHit.key_hash == digest)
            session.execute(delete(RateLimitHit).where(expired))
            counted = session.scalar(
                select(func.count())
                .select_from(RateLimitHit)
                .where(
                    RateLimitHit.bucket == self.bucket,
                    RateLimitHit.key_hash == digest,
                    RateLimitHit.at > since,
                )
            )
            if int(counted or 0) >= self.limit:
                return False
            session.add(RateLimitHit(bucket=self.bucket, key_hash=digest, at=now))
        return True

    def exceeded(self, key: str) -> bool:
        """Whether `key` is at its limit now (counts nothing)."""
        since = self.clock() - self.window
        with self.db.read_session() as session:
            counted = session.scalar(
                select(func.count())
                .select_from(RateLimitHit)
                .where(
                    RateLimitHit.bucket == self.bucket,
                    RateLimitHit.key_hash == self._digest(key),
                    RateLimitHit.at > since,
                )
            )
        return int(counted or 0) >= self.limit

    def retry_after(self, key: str) -> int:
        """Seconds until the oldest counted hit of `key` leaves the window (0: none counted)."""
        now = self.clock()
        with self.db.session() as session:
            oldest = session.scalar(
                select(func.min(RateLimitHit.at)).where(
                    RateLimitHit.bucket == self.bucket,
                    RateLimitHit.key_hash == self._digest(key),
                    RateLimitHit.at > now - self.window,
                )
            )
        if oldest is None:
            return 0
        return max(1, int((oldest + self.window - now).total_seconds()) + 1)


class RateLimiter:
    """The same limit kept in this process's memory (per process; lost on restart)."""

    def __init__(
        self, limit: int, window_seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window = window_seconds
        self.clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str) -> bool:
        """Count one attempt for `key`; False when it is over the limit (not counted then)."""
        now = self.clock()
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                return False
            hits.append(now)
            if len(self._hits) > 100_000:
                self._prune(now)
            return True

    def retry_after(self, key: str) -> int:
        with self._lock:
            hits = self._hits.get(key)
            if not hits:
                return 0
            return max(1, int(hits[0] + self.window - self.clock()) + 1)

    def exceeded(self, key: str) -> bool:
        now = self.clock()
        with self._lock:
            hits = self._hits.get(key) or deque()
            return sum(1 for at in hits if at > now - self.window) >= self.limit

    def _prune(self, now: float) -> None:
        for key in [k for k, v in self._hits.items() if not v or v[-1] <= now - self.window]:
            del self._hits[key]


class RateLimits:
    """Every limiter of `LIMITS`, built once (by the runtime) and shared by all routes."""

    def __init__(self, db: Database, secret: bytes, limits: dict[str, tuple[int, float]]) -> None:
        self._limiters: dict[str, Limiter] = {
            name: DatabaseRateLimiter(db, secret, f"public.{name}", limit, window)
            for name, (limit, window) in limits.items()
        }

    def __getitem__(self, name: str) -> Limiter:
        return self._limiters[name]

    def override(self, name: str, limiter: Limiter) -> None:
        """Replace one limiter (tests with a clock of their own)."""
        self._limiters[name] = limiter


def address_key(organization_id: int | None, host: str) -> str:
    return f"{organization_id or 0}:{host}"


def identity_key(organization_id: int, identity_index: str) -> str:
    # Already a keyed blind index; hashed again so the limiter's keys do not match the ledger's.
    return hashlib.sha256(f"{organization_id}:{identity_index}".encode()).hexdigest()
