"""Fixtures of the protocol tests: the real app with a real SMTP sink, served by uvicorn on
loopback for the conformance tests; an authorized agent with its own Ed25519 key (signing
with `cryptography` directly, as an agent would, not with Honorbound's code); a loopback HTTP
server that records the callbacks it receives."""

from __future__ import annotations

import base64
import datetime as dt
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from honorbound.api.app import create_app
from honorbound.config import Settings
from honorbound.runtime import Runtime, build_runtime
from tests.support.live import serve
from tests.support.smtp import SmtpSink

BASE_URL = "https://privacy.bpo.example"


@pytest.fixture
def rt(settings: Settings, smtp: SmtpSink) -> Iterator[Runtime]:
    """Callbacks may reach loopback here (the receiver below): the one allow-listed network."""
    runtime = build_runtime(
        settings.model_copy(
            update={
                "smtp_url": smtp.url,
                "base_url": BASE_URL,
                "callback_allow_networks": ["127.0.0.0/8"],
            }
        ),
        immediate_jobs=True,
    )
    yield runtime
    runtime.close()


@pytest.fixture
def api(rt: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(rt)) as client:
        yield client


@pytest.fixture
def live(rt: Runtime) -> Iterator[str]:
    """The app on a real socket (uvicorn on 127.0.0.1)."""
    with serve(create_app(rt)) as url:
        yield url


@dataclass
class Agent:
    """An authorized agent: its directory id and its own signing key."""

    agent_id: str
    key: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)

    @property
    def verify_key(self) -> str:
        raw = self.key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return base64.b64encode(raw).decode()

    def sign(self, claims: dict[str, Any]) -> bytes:
        """libsodium combined mode: signature || message, base64 (DRP s.3.07.1)."""
        message = json.dumps(claims).encode()
        return base64.b64encode(self.key.sign(message) + message)

    def envelope(self, business: str, minutes: int = 5, **extra: Any) -> dict[str, Any]:
        now = dt.datetime.now(dt.UTC)
        return {
            "agent-id": self.agent_id,
            "business-id": business,
            "issued-at": now.isoformat(),
            "expires-at": (now + dt.timedelta(minutes=minutes)).isoformat(),
            "drp.version": "1.0",
            **extra,
        }


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


class CallbackReceiver:
    """A real HTTP server on loopback that keeps every POST it gets and answers 200."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                outer.received.append(Received(self.path, dict(self.headers.items()), body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return list(self.received)


@pytest.fixture
def receiver() -> Iterator[CallbackReceiver]:
    server = CallbackReceiver()
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


COUNTED = (
    "rights_requests",
    "drp_requests",
    "drp_tokens",
    "opendsr_requests",
    "protocol_seen_messages",
    "processor_forwards",
    "audit_entries",
    "outbox",
)


def counts(rt: Runtime) -> dict[str, int]:
    """Rows per table, read straight from the database."""
    from honorbound.models import metadata

    with rt.db.session() as session:
        return {
            name: int(session.scalar(select(func.count()).select_from(metadata.tables[name])) or 0)
            for name in COUNTED
        }


def mails_to(smtp: SmtpSink, address: str, count: int = 1) -> list[EmailMessage]:
    deadline = time.monotonic() + 10
    while True:
        found = [m for m in smtp.messages if address.lower() in str(m["To"]).lower()]
        if len(found) >= count or time.monotonic() > deadline:
            return found
        smtp.wait_for(len(smtp.messages) + 1, timeout=0.2)


def text_of(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())
