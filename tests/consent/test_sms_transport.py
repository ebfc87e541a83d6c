"""Issue 14, defect 10: STOP confirmations and HELP answers really go out, once, through an SMS
transport: a generic HTTP gateway with an HMAC-signed request, and Twilio's and Vonage's message
APIs as configurations of it. Against a real HTTP server on loopback (threaded http.server),
including a 500 from the gateway: tried again by the worker, never sent twice."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import select

from honorbound.api.app import create_app
from honorbound.config import Settings
from honorbound.consent import sms
from honorbound.notify.models import OutboxMessage, OutboxStatus
from honorbound.runtime import Runtime, build_runtime
from tests.conftest import Tenant, make_tenant
from tests.consent.conftest import number, record

SECRET = "gateway-signing-secret-3f9a1c2e"
OUR_NUMBER = "+12125550197"


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Gateway:
    """A loopback SMS gateway: records every request, answers from a script (then 201)."""

    answer_field: str = "id"
    script: list[int] = field(default_factory=list)
    requests: list[Received] = field(default_factory=list)
    accepted: list[str] = field(default_factory=list)  # idempotency keys it took
    server: ThreadingHTTPServer | None = None

    @property
    def base(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> Gateway:
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                gateway.requests.append(Received(self.path, headers, body))
                status = gateway.script.pop(0) if gateway.script else 201
                if 200 <= status < 300:
                    gateway.accepted.append(headers.get("idempotency-key", ""))
                    answer: dict[str, Any] = {gateway.answer_field: f"gw-{len(gateway.accepted)}"}
                else:
                    answer = {"error": "gateway busy"}
                raw = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *_args: Any) -> None:  # the numbers stay out of the log
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    gw = Gateway().start()
    yield gw
    gw.stop()


def _runtime(settings: Settings, **sms_settings: str) -> Runtime:
    return build_runtime(settings.model_copy(update=sms_settings), immediate_jobs=True)


@pytest.fixture
def generic(settings: Settings, gateway: Gateway) -> Iterator[Runtime]:
    rt = _runtime(
        settings,
        sms_gateway="generic",
        sms_gateway_url=f"{gateway.base}/send",
        sms_gateway_secret=SECRET,
    )
    yield rt
    rt.close()


def _inbound(
    client: TestClient, rt: Runtime, tenant: Tenant, body: str, sender: str, sid: str
) -> str:
    url = f"http://testserver/v1/public/sms/{tenant.slug}"
    form = {"From": sender, "To": OUR_NUMBER, "Body": body, "MessageSid": sid}
    signature = sms.HmacUrlParams(sms.webhook_secret(rt.keys, tenant.id)).expected(url, form)
    response = client.post(url, data=form, headers={"X-Twilio-Signature": signature})
    assert response.status_code == 200, response.text
    return str(response.json()["kind"])


def _outbox(rt: Runtime) -> list[OutboxMessage]:
    with rt.db.session() as session:
        rows = list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
        session.expunge_all()
    return rows


def _flush(rt: Runtime) -> None:
    """What the worker's periodic job does: deliver every pending message."""
    rt.registry.handler("outbox.flush")(rt, {})


def test_stop_and_help_go_out_once_signed(
    generic: Runtime, gateway: Gateway, settings: Settings
) -> None:
    rt = generic
    tenant = make_tenant(rt, "smsco")
    phone = number("212", 60)
    with TestClient(create_app(rt)) as client:
        assert _inbound(client, rt, tenant, "STOP", phone, "SM-t-1") == "stop"
        # The gateway's retry of the same webhook, and the person texting STOP again: CTIA
        # allows one confirmation, so neither sends anything.
        _inbound(client, rt, tenant, "STOP", phone, "SM-t-1")
        assert _inbound(client, rt, tenant, "stop", phone, "SM-t-2") == "stop"
        assert len(gateway.requests) == 1
        assert _inbound(client, rt, tenant, "HELP", phone, "SM-t-3") == "help"
        _inbound(client, rt, tenant, "HELP", phone, "SM-t-3")  # retried webhook
    _flush(rt)
    assert len(gateway.requests) == 2 and len(gateway.accepted) == 2
    stop, help_ = gateway.requests
    # The signature, recomputed here over the exact bytes the gateway received.
    for request in (stop, help_):
        stamp = request.headers["honorbound-timestamp"]
        mac = hmac.new(SECRET.encode(), stamp.encode() + b"." + request.body, hashlib.sha256)
        assert request.headers["honorbound-signature"] == "v1=" + mac.hexdigest()
        assert request.headers["content-type"] == "application/json"
    sent = json.loads(stop.body)
    assert (sent["to"], sent["from"]) == (phone, OUR_NUMBER)
    assert "unsubscribed" in sent["body"] and "Reply START" in sent["body"]
    assert "Msg & data rates may apply" in json.loads(help_.body)["body"]
    rows = _outbox(rt)
    assert [(r.kind, r.status, r.attempts) for r in rows] == [
        ("consent.sms.stop", OutboxStatus.SENT, 1),
        ("consent.sms.help", OutboxStatus.SENT, 1),
    ]
    # The reference the gateway can deduplicate on is the outbox's message id.
    assert sent["reference"] == stop.headers["idempotency-key"] == rows[0].message_id
    assert rows[0].outcome == "201 generic id gw-1"
    assert all(phone not in r.outcome + r.note for r in rows)
    # A tampered body no longer matches its signature (what the gateway checks).
    stamp = stop.headers["honorbound-timestamp"]
    forged = hmac.new(SECRET.encode(), stamp.encode() + b"." + stop.body + b" ", hashlib.sha256)
    assert stop.headers["honorbound-signature"] != "v1=" + forged.hexdigest()


def test_a_500_is_tried_again_and_sent_once(generic: Runtime, gateway: Gateway) -> None:
    rt = generic
    tenant = make_tenant(rt, "smsretry")
    phone = number("312", 61)
    gateway.script = [500]
    with TestClient(create_app(rt)) as client:
        assert _inbound(client, rt, tenant, "STOP", phone, "SM-r-1") == "stop"
    # The delivery job met the 500: the message waits for the next attempt.
    assert len(gateway.requests) == 1 and gateway.accepted == []
    (row,) = _outbox(rt)
    assert row.status == OutboxStatus.PENDING and row.outcome.startswith("500")
    _flush(rt)
    _flush(rt)  # nothing left to send: no duplicate
    assert len(gateway.requests) == 2 and len(gateway.accepted) == 1
    first, second = gateway.requests
    assert first.body == second.body or json.loads(first.body) == json.loads(second.body)
    assert first.headers["idempotency-key"] == second.headers["idempotency-key"]
    (row,) = _outbox(rt)
    assert (row.status, row.attempts, row.message_id) == (
        OutboxStatus.SENT,
        2,
        first.headers["idempotency-key"],
    )


def test_a_refusal_is_final_and_keeps_no_number(generic: Runtime, gateway: Gateway) -> None:
    rt = generic
    tenant = make_tenant(rt, "smsrefused")
    phone = number("415", 62)
    gateway.script = [400]
    with TestClient(create_app(rt)) as client:
        _inbound(client, rt, tenant, "HELP", phone, "SM-x-1")
    _flush(rt)
    (row,) = _outbox(rt)
    assert row.status == OutboxStatus.FAILED and row.outcome == "400 Bad Request"
    assert len(gateway.requests) == 1


def _basic(request: Received) -> str:
    scheme, token = request.headers["authorization"].split(" ", 1)
    assert scheme == "Basic"
    return base64.b64decode(token).decode()


def test_twilio_and_vonage_are_configurations_of_the_same_transport(
    settings: Settings, gateway: Gateway
) -> None:
    phone = number("617", 63)
    gateway.answer_field = "sid"
    twilio = _runtime(
        settings,
        sms_gateway="twilio",
        sms_gateway_url=f"{gateway.base}/2010-04-01/Accounts/{{account}}/Messages.json",
        sms_gateway_account="AC0123456789abcdef0123456789abcdef",
        sms_gateway_secret="twilio-auth-token",
    )
    try:
        tenant = make_tenant(twilio, "twilioco")
        with TestClient(create_app(twilio)) as client:
            _inbound(client, twilio, tenant, "STOP", phone, "SM-tw-1")
        (request,) = gateway.requests
        assert (
            request.path == "/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Messages.json"
        )
        assert request.headers["content-type"] == "application/x-www-form-urlencoded"
        form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
        assert (form["To"], form["From"]) == (phone, OUR_NUMBER) and "START" in form["Body"]
        assert _basic(request) == "AC0123456789abcdef0123456789abcdef:twilio-auth-token"
        assert _outbox(twilio)[0].outcome == "201 twilio id gw-1"
    finally:
        twilio.close()

    gateway.answer_field = "message_uuid"
    gateway.script = [202]
    vonage = _runtime(
        settings,
        sms_gateway="vonage",
        sms_gateway_url=f"{gateway.base}/v1/messages",
        sms_gateway_account="vonage-key-1",
        sms_gateway_secret="vonage-secret",
    )
    try:
        tenant = make_tenant(vonage, "vonageco")
        with TestClient(create_app(vonage)) as client:
            _inbound(client, vonage, tenant, "HELP", phone, "SM-vo-1")
        request = gateway.requests[1]
        assert request.path == "/v1/messages"
        sent = json.loads(request.body)
        assert (sent["message_type"], sent["channel"]) == ("text", "sms")
        assert (sent["to"], sent["from"]) == (phone[1:], OUR_NUMBER[1:])  # digits, no +
        assert "Msg & data rates may apply" in sent["text"]
        assert sent["client_ref"] == request.headers["idempotency-key"]
        assert _basic(request) == "vonage-key-1:vonage-secret"
        assert _outbox(vonage)[-1].outcome == "202 vonage id gw-2"  # same database as above
    finally:
        vonage.close()


def test_gateway_settings_are_checked_at_start(settings: Settings) -> None:
    base = settings.model_dump()
    for change, named in (
        ({"sms_gateway": "generic", "sms_gateway_secret": "s"}, "HONORBOUND_SMS_GATEWAY_URL"),
        ({"sms_gateway": "twilio", "sms_gateway_secret": "s"}, "HONORBOUND_SMS_GATEWAY_ACCOUNT"),
        ({"sms_gateway": "vonage", "sms_gateway_account": "k"}, "HONORBOUND_SMS_GATEWAY_SECRET"),
        ({"sms_gateway": "carrier-pigeon"}, "sms_gateway"),
        (
            {"sms_gateway": "generic", "sms_gateway_secret": "s", "sms_gateway_url": "ftp://x"},
            "https://",
        ),
    ):
        with pytest.raises(ValidationError) as info:
            Settings.model_validate({**base, **change})
        assert named in str(info.value), change
    # Without a gateway the texts wait in the outbox (no transport, nothing sent).
    plain = build_runtime(settings, immediate_jobs=True)
    try:
        assert "sms" not in plain.transports
    finally:
        plain.close()


def test_an_opt_out_not_confirmed_by_text_gets_its_one_confirmation(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    """A STOP from a number staff already opted out (a letter) is confirmed once: the person
    never had a text saying so. Without a gateway the reply waits in the outbox."""
    phone = number("512", 64)
    record(runtime, tenant.id, phone, "all", "sms", source="letter")
    _inbound(client, runtime, tenant, "STOP", phone, "SM-l-1")
    _inbound(client, runtime, tenant, "STOP", phone, "SM-l-2")
    rows = _outbox(runtime)
    assert [(r.kind, r.status) for r in rows] == [("consent.sms.stop", OutboxStatus.PENDING)]
    assert rows[0].note == "held: no sms transport is configured"
