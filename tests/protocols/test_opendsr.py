"""OpenDSR 2.0: a controller's privacy platform pushes an erasure to the BPO over real HTTP
(uvicorn on loopback), and a loopback HTTP server of the controller receives the signed
status callback. Signatures are verified here with `cryptography` and the certificate the
server publishes (OpenDSR s.6.3, 8.8), not with Honorbound's signing code."""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from faker import Faker
from fastapi.testclient import TestClient
from sqlalchemy import select

from honorbound.accounts.roles import Role
from honorbound.audit import Actor
from honorbound.rights.models import RightsRequest
from honorbound.runtime import Runtime
from honorbound.vault.identities import IdentityKind
from honorbound.vault.models import Subject
from honorbound.vault.rules import CollectionRules
from honorbound.vault.subjects import IdentityInput, upsert_subject
from tests.conftest import Tenant, make_tenant
from tests.protocols.conftest import CallbackReceiver, counts

fake = Faker()


@pytest.fixture
def client_org(rt: Runtime, api: TestClient) -> Tenant:
    tenant = make_tenant(rt, "acme-shoes")
    answer = api.put(
        "/v1/protocols/controller",
        json={"controller_id": "acme-ctl", "contract_days": 30},
        headers=tenant.headers(),
    )
    assert answer.status_code == 200, answer.text
    return tenant


def _person(rt: Runtime, tenant: Tenant, email: str) -> int:
    with rt.db.session() as session:
        up = upsert_subject(
            session, rt.vault_keys, tenant.id, [IdentityInput(IdentityKind.EMAIL, email)],
            Actor("test", "system"), CollectionRules(None, {}, frozenset(), None),
        )  # fmt: skip
        return up.subject.id


def _request(email: str, callbacks: list[str], **extra: Any) -> dict[str, Any]:
    return {
        "regulation": "ccpa",
        "subject_request_id": str(uuid.uuid4()),
        "subject_request_type": "erasure",
        "submitted_time": "2026-12-01T10:00:00Z",
        "subject_identities": [
            {"identity_type": "email", "identity_value": email, "identity_format": "raw"}
        ],
        "api_version": "2.0",
        "status_callback_urls": callbacks,
        **extra,
    }


def _public_key(http: httpx.Client) -> ec.EllipticCurvePublicKey:
    discovery = http.get("/v1/discovery").json()
    path = discovery["processor_certificate"].split("privacy.bpo.example", 1)[1]
    cert = x509.load_pem_x509_certificate(http.get(path).content)
    key = cert.public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == "secp256r1"
    return key


def _verify(key: ec.EllipticCurvePublicKey, body: bytes, signature: str) -> None:
    key.verify(base64.b64decode(signature), body, ec.ECDSA(hashes.SHA256()))


def test_a_controller_pushes_an_erasure_and_gets_a_signed_callback(
    api: TestClient, rt: Runtime, live: str, client_org: Tenant, receiver: CallbackReceiver
) -> None:
    email = fake.email()
    subject_id = _person(rt, client_org, email)
    with httpx.Client(base_url=live, timeout=30) as http:
        discovery = http.get("/v1/discovery")
        assert discovery.status_code == 200
        assert discovery.json()["api_version"] == "2.0"
        assert discovery.json()["supported_subject_request_types"] == ["erasure"]
        key = _public_key(http)
        _verify(key, discovery.content, discovery.headers["X-OpenDSR-Signature"])

        callback = f"{receiver.url}/opendsr/callbacks"
        sent = json.dumps(_request(email, [callback])).encode()
        answer = http.post(
            "/v1/opengdpr_requests",
            content=sent,
            headers=client_org.headers(Role.CLIENT) | {"Content-Type": "application/json"},
        )
        assert answer.status_code == 201, answer.text
        # s.7.4: signed with the key of the published certificate, both header names (s.10.1)
        assert answer.headers["X-OpenDSR-Processor-Domain"] == "privacy.bpo.example"
        _verify(key, answer.content, answer.headers["X-OpenDSR-Signature"])
        assert answer.headers["X-OpenGDPR-Signature"] == answer.headers["X-OpenDSR-Signature"]
        body = answer.json()
        assert base64.b64decode(body["encoded_request"]) == sent
        inner = {k: v for k, v in body.items() if k != "processor_signature"}
        _verify(key, json.dumps(inner, separators=(",", ":")).encode(), body["processor_signature"])
        assert body["controller_id"] == "acme-ctl"
        received = dt.datetime.fromisoformat(body["received_time"].replace("Z", "+00:00"))
        expected = dt.datetime.fromisoformat(
            body["expected_completion_time"].replace("Z", "+00:00")
        )
        assert abs((expected - received) - dt.timedelta(days=30)) < dt.timedelta(seconds=2)

        # The erasure ran (the controller verified the person): the vault says so itself.
        with rt.db.session() as session:
            subject = session.get(Subject, subject_id)
            assert subject is not None and subject.status == "erased"
            rights = session.scalars(select(RightsRequest)).one()
            assert (rights.manner, rights.type, rights.status) == ("controller", "delete",
                                                                   "completed")  # fmt: skip

        # s.8.6: the callback reached the controller, signed over its raw body
        got = receiver.wait_for(1)
        assert got, "no callback arrived"
        callback_body = got[-1].body
        headers = {k.lower(): v for k, v in got[-1].headers.items()}
        _verify(key, callback_body, headers["x-opendsr-signature"])
        parsed = json.loads(callback_body)
        assert parsed["request_status"] == "completed"
        assert parsed["status_callback_url"] == callback
        assert parsed["subject_request_id"] == json.loads(sent)["subject_request_id"]
        with pytest.raises(InvalidSignature):
            _verify(key, callback_body + b" ", headers["x-opendsr-signature"])

        # s.8.1 status, signed; s.9 cancel refused once it is no longer pending
        path = f"/v1/opengdpr_requests/{parsed['subject_request_id']}"
        status = http.get(path, headers=client_org.headers(Role.CLIENT))
        assert status.status_code == 200 and status.json()["request_status"] == "completed"
        _verify(key, status.content, status.headers["X-OpenDSR-Signature"])
        assert http.delete(path, headers=client_org.headers(Role.CLIENT)).status_code == 409


def test_bad_opendsr_input_is_refused_and_changes_nothing(
    api: TestClient, rt: Runtime, client_org: Tenant
) -> None:
    email = fake.email()
    first = _request(email, [])
    assert api.post("/v1/opengdpr_requests", json=first,
                    headers=client_org.headers(Role.CLIENT)).status_code == 201  # fmt: skip
    unregistered = make_tenant(rt, "no-contract")
    before = counts(rt)
    headers = client_org.headers(Role.CLIENT)
    cases: list[tuple[str, Any, dict[str, str], int, str]] = [
        ("no key", _request(email, []), {}, 401, "API key"),
        ("duplicate id", first, headers, 409, "already received"),
        (
            "unknown client",
            _request(email, []),
            unregistered.headers(Role.CLIENT),
            403,
            "not registered",
        ),  # fmt: skip
        (
            "missing id",
            {k: v for k, v in _request(email, []).items() if k != "subject_request_id"},
            headers,
            400,
            "required",
        ),  # fmt: skip
        (
            "upper-case uuid",
            _request(email, [], subject_request_id=str(uuid.uuid4()).upper()),
            headers,
            400,
            "subject_request_id",
        ),  # fmt: skip
        (
            "unknown type",
            _request(email, [], subject_request_type="rectify"),
            headers,
            400,
            "subject_request_type",
        ),  # fmt: skip
        ("extra field", _request(email, [], surprise=1), headers, 400, "surprise"),
        (
            "over-long identity",
            _request("a" * 400 + "@example.test", []),
            headers,
            400,
            "longer than 320",
        ),  # fmt: skip
        (
            "too many identities",
            _request(
                email,
                [],
                subject_identities=[
                    {
                        "identity_type": "email",
                        "identity_value": fake.email(),
                        "identity_format": "raw",
                    }
                ]
                * 21,
            ),
            headers,
            400,
            "more than 20",
        ),  # fmt: skip
        (
            "bad time",
            _request(email, [], submitted_time="yesterday"),
            headers,
            400,
            "submitted_time",
        ),  # fmt: skip
        (
            "not supported here",
            _request(email, [], subject_request_type="portability"),
            headers,
            400,
            "not supported",
        ),  # fmt: skip
        ("gdpr", _request(email, [], regulation="gdpr"), headers, 400, "not supported"),
        (
            "hashed only",
            _request(
                email,
                [],
                subject_identities=[
                    {
                        "identity_type": "email",
                        "identity_value": "ab" * 32,
                        "identity_format": "sha256",
                    }
                ],
            ),
            headers,
            400,
            "format raw",
        ),  # fmt: skip
        (
            "private callback",
            _request(email, ["https://192.168.1.10/cb"]),
            headers,
            400,
            "private",
        ),  # fmt: skip
        (
            "link-local callback",
            _request(email, ["https://169.254.169.254/latest"]),
            headers,
            400,
            "link-local",
        ),  # fmt: skip
        (
            "plain http callback",
            _request(email, ["http://93.184.216.34/cb"]),
            headers,
            400,
            "https",
        ),  # fmt: skip
    ]
    for name, body, sent_headers, status, words in cases:
        response = api.post("/v1/opengdpr_requests", json=body, headers=sent_headers)
        assert response.status_code == status, (name, response.status_code, response.text)
        text = response.text
        assert words in text, (name, text)
        if status == 400:
            assert response.json()["error"]["code"] == 400  # s.7.7
            assert email not in text  # s.7.6: no identity in an error
    not_json = api.post("/v1/opengdpr_requests", content=b"{nope", headers=headers)
    assert not_json.status_code == 400 and "not JSON" in not_json.text
    assert counts(rt) == before


def test_a_pending_request_can_be_cancelled(settings: Any) -> None:
    """s.9: cancellation while pending. Honorbound takes a controller's request straight to
    in_progress (the controller verified the person), so a pending one is made here by hand:
    a runtime whose queued jobs never run, and the request set back to `received`."""
    from honorbound.api.app import create_app
    from honorbound.runtime import build_runtime

    held = build_runtime(settings, immediate_jobs=False)
    try:
        tenant = make_tenant(held, "held-co")
        with TestClient(create_app(held)) as api:
            assert api.put("/v1/protocols/controller", json={},
                           headers=tenant.headers()).status_code == 200  # fmt: skip
            body = _request(fake.email(), [])
            made = api.post("/v1/opengdpr_requests", json=body, headers=tenant.headers(Role.CLIENT))
            assert made.status_code == 201
            path = f"/v1/opengdpr_requests/{body['subject_request_id']}"
            status = api.get(path, headers=tenant.headers(Role.CLIENT)).json()["request_status"]
            assert status == "in_progress"
            assert api.delete(path, headers=tenant.headers(Role.CLIENT)).status_code == 409
            with held.db.session() as session:
                rights = session.scalars(select(RightsRequest)).one()
                rights.status = "received"
            answer = api.delete(path, headers=tenant.headers(Role.CLIENT))
            assert answer.status_code == 202, answer.text
            assert answer.json()["subject_request_id"] == body["subject_request_id"]
            after = api.get(path, headers=tenant.headers(Role.CLIENT)).json()["request_status"]
            assert after == "cancelled"
            with held.db.session() as session:
                assert session.scalars(select(RightsRequest)).one().closed_at is not None
    finally:
        held.close()
