"""A reference receiver for Honorbound's signed webhook protocol (docs/systems.md).

Standalone on purpose (Python's standard library only, nothing imported from Honorbound): copy
it next to your service and replace `Store` with your own data access. It keeps its data in a
SQLite file whose tables are the collections of the dataset map.

    python examples/systems/webhook_receiver.py --db tickets.db --port 8787 \\
        --secret-file /etc/ticketing/honorbound.secret [--async-erasure]

What it shows:
- verifying `Honorbound-Signature` (HMAC-SHA256 over "<timestamp>." + body, constant-time
  compare) and refusing stale timestamps (more than 300 s away);
- `Idempotency-Key`: a key seen before gets the stored answer again, so a retried erasure does
  not run twice;
- signing every answer the same way, so Honorbound knows it came from here;
- a long job: with `--async-erasure` an erasure is answered 202 and done in the background,
  then the result is POSTed, signed, to the request's `callback_url`.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import sqlite3
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TOLERANCE = 300
MAX_BODY = 1024 * 1024


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    return "v1=" + hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def signed(secret: bytes, body: bytes) -> dict[str, str]:
    ts = str(int(time.time()))
    return {
        "Content-Type": "application/json",
        "Honorbound-Timestamp": ts,
        "Honorbound-Signature": sign(secret, ts, body),
    }


def authentic(secret: bytes, ts: str | None, sig: str | None, body: bytes) -> bool:
    if not ts or not sig or not ts.isdigit() or abs(time.time() - int(ts)) > TOLERANCE:
        return False
    return hmac.compare_digest(sign(secret, ts, body), sig)


class Store:
    """The service's data: one SQLite table per collection."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.lock = threading.Lock()
        with self._db() as db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS honorbound_idempotency "
                "(key TEXT PRIMARY KEY, status INTEGER, answer BLOB)"
            )

    def _db(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30)
        db.row_factory = sqlite3.Row
        return db

    def columns(self, db: sqlite3.Connection, table: str) -> list[str]:
        rows = db.execute("SELECT name FROM pragma_table_info(?)", (table,)).fetchall()
        return [r[0] for r in rows]

    def _where(self, columns: list[str], lookups: dict[str, list[str]]) -> tuple[str, list[str]]:
        parts, args = [], []
        for field, values in lookups.items():
            if field not in columns or not values:
                continue
            parts.append(f'"{field}" IN ({", ".join("?" for _ in values)})')
            args.extend(values)
        return " OR ".join(parts), args

    def access(self, lookups: dict[str, dict[str, list[str]]]) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {}
        with self._db() as db:
            for table, fields in lookups.items():
                columns = self.columns(db, table)
                where, args = self._where(columns, fields)
                if not where:
                    continue
                rows = db.execute(f'SELECT * FROM "{table}" WHERE {where}', args).fetchall()
                out[table] = [dict(r) for r in rows]
        return out

    def erase(
        self, lookups: dict[str, dict[str, list[str]]], plan: dict[str, Any]
    ) -> dict[str, dict[str, Any]]:
        affected: dict[str, dict[str, Any]] = {}
        with self.lock, self._db() as db:
            for table, fields in lookups.items():
                columns = self.columns(db, table)
                where, args = self._where(columns, fields)
                if not where:
                    continue
                what = plan.get(table, {})
                if what.get("delete_rows"):
                    n = db.execute(f'DELETE FROM "{table}" WHERE {where}', args).rowcount
                    affected[table] = {"rows": n, "fields": {}}
                    continue
                counts = {}
                for field, strategy in what.get("fields", {}).items():
                    if field not in columns:
                        continue
                    col = f'"{field}"'
                    if strategy == "null_rewrite":
                        new, skip = "NULL", ""
                    elif strategy == "string_rewrite":
                        new, skip = "'***'", f" AND {col} <> '***'"
                    else:  # hmac: a receiver without Honorbound's key uses its own one-way code
                        new, skip = (
                            "'hb:' || lower(hex(randomblob(16)))",
                            f" AND {col} NOT LIKE 'hb:%'",
                        )
                    sql = (
                        f'UPDATE "{table}" SET {col} = {new} '
                        f"WHERE ({where}) AND {col} IS NOT NULL{skip}"
                    )
                    counts[field] = db.execute(sql, args).rowcount
                affected[table] = {"rows": 0, "fields": counts}
        return affected

    def remembered(self, key: str) -> tuple[int, bytes] | None:
        with self._db() as db:
            row = db.execute(
                "SELECT status, answer FROM honorbound_idempotency WHERE key = ?", (key,)
            ).fetchone()
        return (int(row[0]), bytes(row[1])) if row else None

    def remember(self, key: str, status: int, answer: bytes) -> None:
        with self._db() as db:
            db.execute(
                "INSERT OR REPLACE INTO honorbound_idempotency VALUES (?, ?, ?)",
                (key, status, answer),
            )


class Receiver:
    def __init__(self, store: Store, secret: bytes, async_erasure: bool = False) -> None:
        self.store = store
        self.secret = secret
        self.async_erasure = async_erasure
        self.calls = 0  # requests that passed the signature check (for tests and metrics)
        self.fail_next = 0  # answer 503 this many times (a test's way to show retries)
        self.delay = 0.0  # seconds to wait before answering (a slow system)
        self.garbage = False  # answer bytes that are not the protocol

    def handle(self, headers: Any, body: bytes) -> tuple[int, bytes]:
        if not authentic(
            self.secret,
            headers.get("Honorbound-Timestamp"),
            headers.get("Honorbound-Signature"),
            body,
        ):
            return 401, json.dumps({"error": "bad or stale signature"}).encode()
        self.calls += 1
        if self.delay:
            time.sleep(self.delay)
        if self.fail_next > 0:
            self.fail_next -= 1
            return 503, json.dumps({"error": "try again"}).encode()
        if self.garbage:
            return 200, b"<html>surprise</html>"
        try:
            doc = json.loads(body)
            key = str(doc["id"])
            action = doc["action"]
            lookups = doc.get("lookups", {})
        except (ValueError, KeyError, TypeError):
            return 400, json.dumps({"error": "not the honorbound-systems/v1 protocol"}).encode()
        seen = self.store.remembered(key)
        if seen is not None:
            return seen
        if action == "access":
            answer = {"id": key, "status": "done", "collections": self.store.access(lookups)}
            status = 200
        elif action == "erasure" and self.async_erasure:
            answer, status = {"id": key, "status": "accepted"}, 202
            threading.Thread(target=self._later, args=(doc,), daemon=True).start()
        elif action == "erasure":
            affected = self.store.erase(lookups, doc.get("erase", {}))
            answer, status = {"id": key, "status": "done", "affected": affected}, 200
        else:
            return 400, json.dumps({"error": f"unknown action {action!r}"}).encode()
        data = json.dumps(answer).encode()
        self.store.remember(key, status, data)
        return status, data

    def _later(self, doc: dict[str, Any]) -> None:
        time.sleep(0.2)  # the long job
        affected = self.store.erase(doc.get("lookups", {}), doc.get("erase", {}))
        data = json.dumps({"id": doc["id"], "status": "done", "affected": affected}).encode()
        self.store.remember(str(doc["id"]), 200, data)
        request = urllib.request.Request(
            doc["callback_url"], data=data, headers=signed(self.secret, data), method="POST"
        )
        for attempt in range(5):
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    if response.status < 300:
                        return
            except OSError:
                time.sleep(0.5 * 2**attempt)

    def server(self, host: str = "127.0.0.1", port: int = 0) -> ThreadingHTTPServer:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                length = int(self.headers.get("Content-Length") or 0)
                if length > MAX_BODY:
                    status, data = 413, b'{"error": "too large"}'
                else:
                    status, data = receiver.handle(self.headers, self.rfile.read(length))
                headers = signed(receiver.secret, data)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # request lines would carry nothing personal, but keep the log quiet

        return ThreadingHTTPServer((host, port), Handler)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8787)
    parser.add_argument("--secret-file", required=True)
    parser.add_argument("--async-erasure", action="store_true")
    args = parser.parse_args()
    with open(args.secret_file, "rb") as handle:
        secret = handle.read().strip()
    server = Receiver(Store(args.db), secret, args.async_erasure).server(args.host, args.port)
    print(f"listening on http://{args.host}:{server.server_address[1]}/")
    server.serve_forever()


if __name__ == "__main__":
    main()
