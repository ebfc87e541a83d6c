"""A BPO onboards, staffs, disables and offboards a client through /v1/clients.

Checked from outside the code under test: the database rows (raw SQL), the package's bytes
(opened as a ZIP), the certificate's signature (verified here with `cryptography` over JSON
canonicalised here), and that a disabled client's key really stops working.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import zipfile
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from fastapi.testclient import TestClient
from sqlalchemy import text

from honorbound.accounts import team
from honorbound.accounts.roles import Role
from honorbound.retention.certificates import public_key_pem
from honorbound.runtime import Runtime
from tests.conftest import EXAMPLE_POLICIES, Tenant
from tests.support.people import person

NOTICE = (EXAMPLE_POLICIES / "contact-center-1-2024.yaml").read_text(encoding="utf-8")


def _count(runtime: Runtime, sql: str, **params: Any) -> int:
    with runtime.db.engine.connect() as conn:
        return int(conn.execute(text(sql), params).scalar_one())


def _rows(runtime: Runtime, sql: str) -> list[tuple[Any, ...]]:
    with runtime.db.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql))]


def onboard(client: TestClient, bpo: Tenant, slug: str = "acme", **extra: Any) -> dict[str, Any]:
    body = {"slug": slug, "name": f"Client {slug}", "privacy_contact": "privacy@acme.example"}
    made = client.post("/v1/clients", json=body | extra, headers=bpo.headers())
    assert made.status_code == 201, made.text
    return dict(made.json())


def test_onboard_with_notice_key_and_audit(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    made = onboard(client, tenant, notice=NOTICE)
    assert made["state"] == "active" and made["privacy_contact"] == "privacy@acme.example"
    assert _count(
        runtime, "SELECT count(*) FROM organizations WHERE id=:i AND operated_by_id=:b",
        i=made["id"], b=tenant.id,
    ) == 1  # fmt: skip
    assert _count(runtime, "SELECT count(*) FROM policy_versions WHERE organization_id=:i",
                  i=made["id"]) == 1  # fmt: skip
    actions = set(_rows(runtime, "SELECT organization_id, action FROM audit_entries"))
    assert (tenant.id, "client.onboarded") in actions
    assert (made["id"], "organization.created") in actions
    key = client.post(
        f"/v1/clients/{made['id']}/api-keys", json={"name": "CRM", "role": "client"},
        headers=tenant.headers(),
    )  # fmt: skip
    assert key.status_code == 201, key.text
    me = client.get("/v1/me", headers={"Authorization": f"Bearer {key.json()['key']}"})
    assert me.json()["organization_slug"] == "acme" and me.json()["role"] == "client"
    listed = client.get("/v1/clients", headers=tenant.headers()).json()
    assert [c["slug"] for c in listed] == ["acme"]


def test_bad_onboarding_changes_nothing(
    client: TestClient, runtime: Runtime, tenant: Tenant, other_tenant: Tenant
) -> None:
    onboard(client, tenant)
    before = _count(runtime, "SELECT count(*) FROM organizations")
    audit_before = _count(runtime, "SELECT count(*) FROM audit_entries")
    base = {"slug": "beta", "name": "Beta", "privacy_contact": "privacy@beta.example"}
    cases = [
        (base | {"slug": "acme"}, 422, "taken"),  # duplicate slug
        (base | {"slug": "org-b"}, 422, "taken"),  # another BPO's slug
        (base | {"slug": "Bad Slug"}, 422, "slug"),
        (base | {"name": "x" * 201}, 422, "name"),
        (base | {"name": "   "}, 422, "name"),
        (base | {"privacy_contact": "not an address"}, 422, "privacy contact"),
        (base | {"privacy_contact": "a@" + "b" * 320}, 422, "privacy_contact"),
        (base | {"notice": "organization: [unclosed"}, 422, "notice"),
        (base | {"unknown": 1}, 422, "unknown"),
    ]
    for body, status, word in cases:
        answer = client.post("/v1/clients", json=body, headers=tenant.headers())
        assert answer.status_code == status, (body, answer.text)
        assert word in answer.text.lower(), (word, answer.text)
    # A client of a BPO cannot have clients; an agent of the BPO cannot onboard.
    acme = client.get("/v1/clients", headers=tenant.headers()).json()[0]
    key = client.post(
        f"/v1/clients/{acme['id']}/api-keys", json={"name": "admin", "role": "admin"},
        headers=tenant.headers(),
    ).json()["key"]  # fmt: skip
    before = _count(runtime, "SELECT count(*) FROM organizations")
    audit_before = _count(runtime, "SELECT count(*) FROM audit_entries")
    nested = client.post("/v1/clients", json=base, headers={"Authorization": f"Bearer {key}"})
    assert nested.status_code == 422 and "client of a BPO" in nested.text
    agent = client.post("/v1/clients", json=base, headers=tenant.headers(Role.AGENT))
    assert agent.status_code == 403
    assert _count(runtime, "SELECT count(*) FROM organizations") == before
    assert _count(runtime, "SELECT count(*) FROM audit_entries") == audit_before
    # Unknown client, another BPO's client: 404, nothing issued.
    keys_before = _count(runtime, "SELECT count(*) FROM api_keys")
    for path in ("/v1/clients/999999/api-keys", f"/v1/clients/{acme['id']}/api-keys"):
        headers = tenant.headers() if "999999" in path else other_tenant.headers()
        answer = client.post(path, json={"name": "k", "role": "client"}, headers=headers)
        assert answer.status_code == 404, answer.text
    bad_key = client.post(
        f"/v1/clients/{acme['id']}/api-keys", json={"name": "k", "role": "owner"},
        headers=tenant.headers(),
    )  # fmt: skip
    assert bad_key.status_code == 422 and "role" in bad_key.text
    assert _count(runtime, "SELECT count(*) FROM api_keys") == keys_before


def test_invite_and_grant_staff_across_clients(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    one, two = onboard(client, tenant, "one"), onboard(client, tenant, "two")
    who = person()
    invited = client.post(
        f"/v1/clients/{one['id']}/invitations",
        json={"email": who.email, "role": "privacy_officer", "display_name": "New Person"},
        headers=tenant.headers(),
    )
    assert invited.status_code == 201, invited.text
    token = invited.json()["link"].rsplit("/", 1)[1]
    with runtime.db.session() as session:
        team.accept_invite(session, token, "a long new passphrase 1")
    # BPO staff: a member of the BPO gets roles in both clients, one role each.
    made = client.post(
        "/v1/clients/0/members", json={"username": "x", "role": "agent"}, headers=tenant.headers()
    )
    assert made.status_code == 422  # id 0 is not a row id
    from tests.web.conftest import add_staff

    add_staff(runtime, tenant, "desk.lead@bpo.example", Role.PRIVACY_OFFICER)
    for org, role in ((one, "agent"), (two, "privacy_officer")):
        granted = client.post(
            f"/v1/clients/{org['id']}/members",
            json={"username": "desk.lead@bpo.example", "role": role},
            headers=tenant.headers(),
        )
        assert granted.status_code == 201, granted.text
    roles = dict(
        _rows(
            runtime,
            "SELECT o.slug, m.role FROM memberships m JOIN organizations o "
            "ON o.id = m.organization_id JOIN users u ON u.id = m.user_id "
            "WHERE u.username = 'desk.lead@bpo.example'",
        )
    )
    assert roles == {"org-a": "privacy_officer", "one": "agent", "two": "privacy_officer"}
    again = client.post(
        f"/v1/clients/{one['id']}/members",
        json={"username": "desk.lead@bpo.example", "role": "admin"},
        headers=tenant.headers(),
    )
    assert again.status_code == 422 and "already a member" in again.text
    # Someone invited into one client may be given a second one of this BPO ...
    second = client.post(
        f"/v1/clients/{two['id']}/members",
        json={"username": who.email, "role": "agent"},
        headers=tenant.headers(),
    )
    assert second.status_code == 201, second.text
    # ... but never someone who works only for another BPO.
    from tests.conftest import make_tenant

    other = make_tenant(runtime, "other-bpo")
    add_staff(runtime, other, "elsewhere@other.example", Role.ADMIN)
    outsider = client.post(
        f"/v1/clients/{one['id']}/members",
        json={"username": "elsewhere@other.example", "role": "agent"},
        headers=tenant.headers(),
    )
    assert outsider.status_code == 422 and "invite the person instead" in outsider.text
    dup = client.post(
        f"/v1/clients/{one['id']}/invitations",
        json={"email": who.email, "role": "agent"},
        headers=tenant.headers(),
    )
    assert dup.status_code == 422 and "already has an account" in dup.text


def _collect(client: TestClient, key: str, email: str) -> int:
    headers = {"Authorization": f"Bearer {key}"}
    made = client.post(
        "/v1/subjects",
        json={"type": "user", "jurisdiction": "CA",
              "identities": [{"kind": "email", "value": email}]},
        headers=headers,
    )  # fmt: skip
    assert made.status_code == 201, made.text
    sid = int(made.json()["id"])
    record = client.post(
        f"/v1/subjects/{sid}/records",
        json={"category": "user.contact.email", "value": email, "purposes": ["support"],
              "source": "web"},
        headers=headers,
    )  # fmt: skip
    assert record.status_code == 201, record.text
    return sid


def _canonical(document: dict[str, Any]) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def test_disable_then_offboard_exports_erases_and_certifies(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    acme = onboard(client, tenant, notice=NOTICE)
    cid = acme["id"]
    key = client.post(
        f"/v1/clients/{cid}/api-keys", json={"name": "agent", "role": "agent"},
        headers=tenant.headers(),
    ).json()["key"]  # fmt: skip
    people = [person() for _ in range(3)]
    sids = [_collect(client, key, p.email) for p in people]
    # Offboarding an active client is refused: nothing exported, nothing erased.
    early = client.post(f"/v1/clients/{cid}/offboarding", headers=tenant.headers())
    assert early.status_code == 422 and "Disable the client" in early.text
    assert (
        _count(runtime, "SELECT count(*) FROM vault_records WHERE organization_id=:i", i=cid) == 3
    )
    assert not (runtime.settings.data_dir / "offboarding").exists()

    assert client.post(f"/v1/clients/{cid}/disable", headers=tenant.headers()).json()["state"] == (
        "disabled"
    )
    assert client.get("/v1/me", headers={"Authorization": f"Bearer {key}"}).status_code == 401
    blocked = client.post(
        f"/v1/clients/{cid}/api-keys", json={"name": "k", "role": "agent"}, headers=tenant.headers()
    )
    assert blocked.status_code == 422 and "disabled" in blocked.text

    done = client.post(f"/v1/clients/{cid}/offboarding", headers=tenant.headers())
    assert done.status_code == 201, done.text
    body = done.json()
    # The package: every person's access package, with their value, and the notice.
    package = client.get(f"/v1/clients/{cid}/offboarding/package", headers=tenant.headers())
    assert package.status_code == 200
    assert hashlib.sha256(package.content).hexdigest() == body["package_sha256"]
    on_disk = runtime.settings.data_dir / "offboarding" / body["package_name"]
    assert (on_disk.stat().st_mode & 0o777) == 0o600
    with zipfile.ZipFile(io.BytesIO(package.content)) as zf:
        names = set(zf.namelist())
        assert {f"subjects/{s}.zip" for s in sids} | {
            "manifest.json",
            "notice/declaration.yaml",
        } == names
        assert json.loads(zf.read("manifest.json"))["subjects"] == 3
        for sid, who in zip(sids, people, strict=True):
            with zipfile.ZipFile(io.BytesIO(zf.read(f"subjects/{sid}.zip"))) as inner:
                assert who.email in inner.read("data.json").decode()
    # Erased: nothing of theirs is left in the vault tables.
    for table in ("vault_records", "vault_identities"):
        assert _count(runtime, f"SELECT count(*) FROM {table} WHERE organization_id=:i", i=cid) == 0
    live = "SELECT count(*) FROM vault_subjects WHERE organization_id=:i AND status!='erased'"
    assert _count(runtime, live, i=cid) == 0
    # The certificate, checked here with the client's public key.
    doc = body["certificate"]
    certificate = doc["certificate"]
    assert certificate["subjects"] == 3 and certificate["records"] == 3
    assert certificate["package"]["sha256"] == body["package_sha256"]
    public = load_pem_public_key(public_key_pem(runtime.keys, cid).encode())
    assert isinstance(public, Ed25519PublicKey)
    public.verify(base64.b64decode(doc["signature"]), _canonical(certificate))
    again = client.get(f"/v1/clients/{cid}/offboarding/certificate", headers=tenant.headers())
    assert again.json() == doc
    # Once only; and it cannot come back.
    twice = client.post(f"/v1/clients/{cid}/offboarding", headers=tenant.headers())
    assert twice.status_code == 422 and "offboarded already" in twice.text
    back = client.post(f"/v1/clients/{cid}/enable", headers=tenant.headers())
    assert back.status_code == 422
    _ = Path


def test_an_altered_certificate_does_not_verify(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    """The independent check above can fail: one changed count breaks the signature."""
    import pytest
    from cryptography.exceptions import InvalidSignature

    cid = onboard(client, tenant)["id"]
    client.post(f"/v1/clients/{cid}/disable", headers=tenant.headers())
    doc = client.post(f"/v1/clients/{cid}/offboarding", headers=tenant.headers()).json()[
        "certificate"
    ]
    altered = dict(doc["certificate"], subjects=doc["certificate"]["subjects"] + 1)
    public = load_pem_public_key(public_key_pem(runtime.keys, cid).encode())
    assert isinstance(public, Ed25519PublicKey)
    with pytest.raises(InvalidSignature):
        public.verify(base64.b64decode(doc["signature"]), _canonical(altered))
