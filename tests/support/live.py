"""The real ASGI app served by uvicorn on loopback in a background thread (real sockets, the
real event loop and thread pool), and another process holding a database lock."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from sqlalchemy.engine import make_url

from tests.support.smtp import free_port


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """Serve `app` on 127.0.0.1; yields the base URL. Runs the app's lifespan."""
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


_HOLDER = r"""
import sys
url, org = sys.argv[1], int(sys.argv[2])
if url.startswith("sqlite"):
    import sqlite3
    conn = sqlite3.connect(url.split("///", 1)[1], isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")  # the database write lock
else:
    import psycopg
    from honorbound.audit.chain import CHAIN_LOCK
    conn = psycopg.connect(url, autocommit=True)
    conn.execute("SELECT pg_advisory_lock(%s, %s)", (CHAIN_LOCK, org))  # the org's chain
print("locked", flush=True)
sys.stdin.read()  # until the test closes stdin
"""


@contextmanager
def lock_held_by_another_process(database_url: str, organization_id: int) -> Iterator[None]:
    """While the block runs, another process holds the lock consent writes need: SQLite's
    write lock, or on PostgreSQL the organization's audit-chain lock."""
    url = make_url(database_url)
    if url.get_backend_name() == "postgresql":
        target = url.set(drivername="postgresql").render_as_string(hide_password=False)
    else:
        target = database_url
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, target, str(organization_id)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        yield
    finally:
        if holder.stdin is not None:
            holder.stdin.close()
        holder.wait(timeout=30)
