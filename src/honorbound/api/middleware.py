"""Pure ASGI middleware: body limits and encoding checks, admission (a bounded number of
requests in the app, the rest wait a bounded time, then 503), request logs and metrics."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import anyio
from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("honorbound.http")


async def _send_problem(
    send: Send,
    status: int,
    title: str,
    detail: str,
    headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    body = json.dumps(
        {"type": "about:blank", "title": title, "status": status, "detail": detail}
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class BodyGuard:
    """Reject bodies over the limit (413) and JSON or form bodies that are not UTF-8 (400),
    before any route runs, so nothing half-parsed can be written. Paths in `stream_paths` read
    their body as it arrives and bound each line themselves (NDJSON bulk uploads)."""

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        bulk_max_bytes: int | None = None,
        bulk_paths: tuple[str, ...] = (),
        stream_paths: tuple[str, ...] = (),
    ) -> None:
        self.app = app
        self.default_max_bytes = max_bytes
        self.bulk_max_bytes = bulk_max_bytes or max_bytes
        self.bulk_paths = bulk_paths
        self.stream_paths = frozenset(stream_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] in ("GET", "HEAD", "OPTIONS")
            or scope.get("path") in self.stream_paths
        ):
            await self.app(scope, receive, send)
            return
        bulk = scope.get("path", "") in self.bulk_paths
        limit = self.bulk_max_bytes if bulk else self.default_max_bytes
        headers = dict(scope.get("headers", []))
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _send_problem(
                send,
                413,
                "Request body too large",
                f"The body is larger than the limit of {limit} bytes.",
            )
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await _send_problem(
                    send,
                    413,
                    "Request body too large",
                    f"The body is larger than the limit of {limit} bytes.",
                )
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        content_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        textual = content_type in (
            b"application/json",
            b"application/x-www-form-urlencoded",
            b"text/plain",
        ) or content_type.endswith(b"+json")
        if textual and body:
            try:
                body.decode("utf-8")
            except UnicodeDecodeError as exc:
                await _send_problem(
                    send,
                    400,
                    "Request body is not valid UTF-8",
                    f"Byte {exc.start} of the body is not valid UTF-8.",
                )
                return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


class Admission:
    """At most `limit` requests inside the application at once; each of them then always finds
    a worker thread and a database connection (the thread pool and the pools are sized from
    the same number, see Settings.http_concurrency). A request that finds every slot taken
    waits, in arrival order, up to `wait` seconds, then is answered 503 with Retry-After: an
    overloaded server says so at once instead of stalling everyone.

    Writes may take at most half the slots (`write_limit`): when the database is locked,
    waiting writes cannot crowd out the reads, which do not need the lock. A request is a read
    when its method is safe or its path is in `read_paths` (POSTs that only read).

    Health and metrics are not counted (they must answer when the server is full). Bodies
    are read before admission (BodyGuard sits outside), so a slow upload holds no slot."""

    def __init__(
        self,
        app: ASGIApp,
        limit: int,
        wait: float,
        retry_after: int,
        read_paths: tuple[str, ...] = (),
        exempt: tuple[str, ...] = ("/healthz", "/metrics"),
    ) -> None:
        self.app = app
        self.limit = limit
        self.write_limit = max(1, limit // 2)
        self.wait = wait
        self.retry_after = retry_after
        self.read_paths = frozenset(read_paths)
        self.exempt = exempt
        self._slots: anyio.Semaphore | None = None
        self._write_slots: anyio.Semaphore | None = None

    def _is_read(self, scope: Scope) -> bool:
        return scope["method"] in ("GET", "HEAD", "OPTIONS") or scope["path"] in self.read_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in self.exempt:
            await self.app(scope, receive, send)
            return
        if self._slots is None or self._write_slots is None:
            self._slots = anyio.Semaphore(self.limit)
            self._write_slots = anyio.Semaphore(self.write_limit)
        needed = [self._slots] if self._is_read(scope) else [self._write_slots, self._slots]
        taken: list[anyio.Semaphore] = []
        try:
            with anyio.move_on_after(self.wait):
                for slots in needed:
                    try:
                        slots.acquire_nowait()
                    except anyio.WouldBlock:
                        await slots.acquire()
                    taken.append(slots)
            if len(taken) < len(needed):
                await _send_problem(
                    send,
                    503,
                    "Server busy",
                    f"No request slot came free within {self.wait:g} s; try again after "
                    f"{self.retry_after} s.",
                    [(b"retry-after", str(self.retry_after).encode())],
                )
                return
            await self.app(scope, receive, send)
        finally:
            for slots in taken:
                slots.release()


class Observability:
    """One log line and metrics per request, labelled by route template (never the raw URL)."""

    def __init__(self, app: ASGIApp, registry: CollectorRegistry) -> None:
        self.app = app
        self.requests = Counter(
            "honorbound_http_requests_total",
            "HTTP requests",
            ["method", "route", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "honorbound_http_request_seconds",
            "HTTP request latency",
            ["method", "route"],
            registry=registry,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status_holder: dict[str, Any] = {"status": 500}

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", "unmatched")
            elapsed = time.perf_counter() - started
            status = str(status_holder["status"])
            self.requests.labels(scope["method"], template, status).inc()
            self.latency.labels(scope["method"], template).observe(elapsed)
            log.info(
                "request",
                extra={
                    "method": scope["method"],
                    "route": template,
                    "status": int(status),
                    "ms": round(elapsed * 1000, 2),
                },
            )
