"""The signed webhook protocol against the reference receiver on a real loopback HTTP server:
signatures both ways, retries, idempotency, time-outs, garbage, and the async callback to a
real Honorbound server (uvicorn on loopback)."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient
from tests.conftest import Tenant, adopt_example, make_tenant
from tests.support.smtp import SmtpSink, free_port
from tests.systems.conftest import HOOK_MAP, SECRET, Crm, Hook, start_receiver
from tests.systems.test_requests import submit, the_request, vault_person

from honorbound.api.app import create_app
from honorbound.config import Settings
from honorbound.runtime import Runtime, build_runtime
from honorbound.systems import protocol
from honorbound.systems.connectors.base import ConnectorSettings
from honorbound.systems.connectors.webhook import WebhookConnector
from honorbound.systems.errors import ConnectionFailed, SystemAnswerError
from honorbound.systems.maps import load_text


def _connector() -> WebhookConnector:
    return WebhookConnector(load_text(HOOK_MAP)[0], ConnectorSettings())


def test_access_and_erasure_with_signatures_both_ways(hook: Hook, crm: Crm) -> None:
    c = crm.people[0]
    connector = _connector()
    lookups = {"tickets": {"email": {c.email}}}
    answer = connector.call("access", "key-1", lookups, "http://127.0.0.1:9/cb")
    assert answer.status == "done"
    assert answer.collections["tickets"][0]["email"] == c.email
    erased = connector.call("erasure", "key-2", lookups, "http://127.0.0.1:9/cb")
    assert erased.affected["tickets"].fields == {"email": 1, "body": 1}
    # The same key again: the receiver answers what it answered, nothing runs twice.
    again = connector.call("erasure", "key-2", lookups, "http://127.0.0.1:9/cb")
    assert again.affected["tickets"].fields == {"email": 1, "body": 1}
    assert hook.rows("SELECT count(*) FROM tickets WHERE email IS NULL") == [(1,)]


def test_the_receiver_refuses_bad_and_stale_signatures(hook: Hook) -> None:
    body = b'{"id": "x", "action": "access", "lookups": {}}'
    headers = protocol.signed_headers(b"not-the-secret", body)
    assert httpx.post(hook.url, content=body, headers=headers).status_code == 401
    stale = protocol.signed_headers(SECRET.encode(), body, now=time.time() - 3600)
    assert httpx.post(hook.url, content=body, headers=stale).status_code == 401
    fresh = protocol.signed_headers(SECRET.encode(), body)
    assert httpx.post(hook.url, content=body, headers=fresh).status_code == 200
    tampered = protocol.signed_headers(SECRET.encode(), body)
    assert httpx.post(hook.url, content=body + b" ", headers=tampered).status_code == 401


def test_retries_with_backoff_then_success(hook: Hook, crm: Crm) -> None:
    connector = _connector()
    slept: list[float] = []
    connector.sleep = slept.append
    hook.receiver.fail_next = 2
    answer = connector.call("access", "key-3", {"tickets": {"email": {crm.people[1].email}}}, "")
    assert answer.status == "done" and answer.attempts == 3
    assert slept == [0.25, 0.5]


def test_a_slow_system_times_out_with_a_clear_error(hook: Hook, crm: Crm) -> None:
    hook.receiver.delay = 3.0  # the map gives it 2 s
    connector = _connector()
    connector.sleep = lambda _s: None
    with pytest.raises(ConnectionFailed) as caught:
        connector.call("access", "key-4", {"tickets": {"email": {crm.people[1].email}}}, "")
    assert str(caught.value) == (
        "system 'ticketing', connection: did not answer within 2 s (3 attempt(s))"
    )


def test_garbage_and_unsigned_answers_are_errors_naming_the_system(hook: Hook, crm: Crm) -> None:
    hook.receiver.garbage = True
    with pytest.raises(SystemAnswerError) as caught:
        _connector().call("access", "key-5", {"tickets": {"email": {crm.people[1].email}}}, "")
    assert str(caught.value) == (
        "system 'ticketing', answer: answered with something that is not JSON (21 bytes)"
    )


class _Liar(BaseHTTPRequestHandler):
    """A server that answers the protocol's shape, unsigned."""

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        data = b'{"id": "key-6", "status": "done", "collections": {}}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_an_unsigned_answer_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Liar)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("TEST_HOOK_URL", f"http://127.0.0.1:{server.server_address[1]}/")
        monkeypatch.setenv("TEST_HOOK_SECRET", SECRET)
        with pytest.raises(SystemAnswerError) as caught:
            _connector().call("access", "key-6", {"tickets": {"email": {"a@b.c"}}}, "")
        assert "the answer is not signed: the Honorbound-Timestamp and" in str(caught.value)
    finally:
        server.shutdown()
        server.server_close()


def test_a_system_that_is_down_fails_after_its_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_HOOK_URL", f"http://127.0.0.1:{free_port()}/")
    monkeypatch.setenv("TEST_HOOK_SECRET", SECRET)
    connector = _connector()
    connector.sleep = lambda _s: None
    with pytest.raises(ConnectionFailed) as caught:
        connector.call("access", "key-7", {"tickets": {"email": {"a@b.c"}}}, "")
    assert "system 'ticketing', connection: cannot connect to http://127.0.0.1:" in str(
        caught.value
    )


# -- the long job: 202, then a signed callback to a real Honorbound server -------------------
@pytest.fixture
def served(settings: Settings, smtp: SmtpSink) -> Iterator[tuple[Runtime, str]]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    rt = build_runtime(
        settings.model_copy(update={"smtp_url": smtp.url, "base_url": base}), immediate_jobs=True
    )
    server = uvicorn.Server(
        uvicorn.Config(create_app(rt), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield rt, base
    server.should_exit = True
    thread.join(10)
    rt.close()


def test_a_long_erasure_finishes_by_signed_callback(
    served: tuple[Runtime, str],
    smtp: SmtpSink,
    crm: Crm,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rt, base = served
    tenant: Tenant = make_tenant(rt, "longjob")
    adopt_example(rt, tenant.id)
    h = start_receiver(tmp_path / "slow.db", crm.people, async_erasure=True)
    monkeypatch.setenv("TEST_HOOK_URL", h.url)
    monkeypatch.setenv("TEST_HOOK_SECRET", SECRET)
    c = crm.people[5]
    try:
        from tests.systems.conftest import connect

        vault_person(rt, tenant, c)
        connect(rt, tenant, HOOK_MAP)
        with TestClient(create_app(rt)) as api:
            submit(api, smtp, tenant, c, "delete")
            request, events = the_request(rt, tenant)
            assert request.status == "partly_done"
            assert [e.details["system"] for e in events if e.kind == "system_waiting"] == [
                "ticketing"
            ]
            # A forged callback (wrong secret) is refused before anything changes.
            with rt.db.session() as session:
                from honorbound.systems.models import SystemExecution

                execution = session.query(SystemExecution).one()
                key = execution.idempotency_key
            token = rt.keys.derived("systems:callbacks")
            import hmac as _hmac

            cb_token = _hmac.new(
                token, f"execution:{execution.id}".encode(), hashlib.sha256
            ).hexdigest()
            forged = json.dumps({"id": key, "status": "done", "affected": {}}).encode()
            answer = httpx.post(
                f"{base}/v1/public/systems/callbacks/{cb_token}",
                content=forged,
                headers=protocol.signed_headers(b"wrong", forged),
                timeout=60,  # a loaded 2-core runner answers slowly; speed is not checked here
            )
            assert answer.status_code == 401
            assert (
                httpx.post(
                    f"{base}/v1/public/systems/callbacks/nope", content=b"{}", timeout=60
                ).status_code
                == 404
            )
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                request, events = the_request(rt, tenant)
                if request.status == "completed":
                    break
                time.sleep(0.2)
            assert request.status == "completed", [e.kind for e in events]
            erased = [e for e in events if e.kind == "system_erased"]
            assert erased[0].details["collections"]["tickets"]["fields"] == {"email": 1, "body": 1}
            assert erased[0].actor == "system:ticketing"
            assert h.rows("SELECT count(*) FROM tickets WHERE email IS NULL") == [(1,)]
    finally:
        h.server.shutdown()
        h.server.server_close()
