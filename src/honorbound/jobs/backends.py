"""huey, imported without the client libraries of queue backends this installation does not
use.

`huey.storage` imports `redis` and `psycopg` at import time when they are installed (about
40 MB resident together) although the queue here is SQLite (or in memory) unless
`HONORBOUND_REDIS_URL` is set, and huey's PostgreSQL queue is never used (the database's own
driver is loaded by SQLAlchemy when the database is PostgreSQL). So the first import of huey
goes through `huey_api()`, with those two hidden; a Redis queue (`huey_api(redis=True)`) keeps
its client, or gets it put back when an earlier import in the same process hid it.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType

_HIDDEN = ("redis", "psycopg")


def huey_api(redis: bool = False) -> ModuleType:
    """`huey.api`, imported (once) with the unused backends' clients hidden (Redis's kept
    when `redis`; given back later when an earlier import hid it)."""
    if "huey.storage" not in sys.modules:
        hidden = [n for n in _HIDDEN if n not in sys.modules and not (redis and n == "redis")]
        for name in hidden:
            sys.modules[name] = None  # type: ignore[assignment]  # import raises ImportError
        try:
            importlib.import_module("huey.api")
        finally:
            for name in hidden:
                if sys.modules.get(name) is None:
                    del sys.modules[name]
    if redis:
        _give_redis_back()
    return importlib.import_module("huey.api")


def _give_redis_back() -> None:
    """Give `huey.storage` the Redis client it skipped (a queue on HONORBOUND_REDIS_URL)."""
    storage = sys.modules.get("huey.storage") or importlib.import_module("huey.storage")
    if getattr(storage, "Redis", None) is not None:
        return
    import redis
    import redis.exceptions

    storage.ConnectionPool = redis.ConnectionPool  # type: ignore[attr-defined]
    storage.Redis = redis.Redis  # type: ignore[attr-defined]
    storage.ConnectionError = redis.exceptions.ConnectionError  # type: ignore[attr-defined]
    storage.TimeoutError = redis.exceptions.TimeoutError  # type: ignore[attr-defined]
    storage.RedisStorage.redis_client = redis.Redis
