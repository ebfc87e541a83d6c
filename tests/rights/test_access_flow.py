"""Access requests from intake to download, through the real API and a real SMTP server."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile

from fastapi.testclient import TestClient
from sqlalchemy import func, select, text, update

from honorbound.accounts.roles import Role
from honorbound.audit.models import AuditEntry
from honorbound.rights.models import RequestToken, RightsRequest
from honorbound.runtime import Runtime
from tests.conftest import Tenant
from tests.rights.conftest import body, link_in, mails_to, public, seed, somebody
from tests.support.smtp import SmtpSink


def test_specific_pieces_from_intake_to_download(
    api: TestClient, rt: Runtime, org: Tenant, smtp: SmtpSink
) -> None:
    s = seed(rt, org.id, sensitive=True)
    p = s.person
    answer = api.post(
        public(org), json={"type": "access_specific", "jurisdiction": "CA", "email": p.email}
    )
    assert answer.status_code == 202, answer.text

    (ack,) = mails_to(smtp, p.email)
    text = body(ack)
    assert "How verification works" in text and "signed declaration" in text
    token = link_in(ack, "verify")

    preview = api.get(public(org, "/verify"), params={"token": token})
    assert preview.status_code == 200
    assert preview.json()["data_points_needed"] == 3
    assert preview.json()["declaration_needed"] is True

    # The email (on file) and the phone match: 2 of 3, and no declaration yet.
    partial = api.post(
        public(org, "/verify"), json={"token": token, "data_points": {"phone": p.phone}}
    )
    assert partial.status_code == 200, partial.text
    assert partial.json()["verified"] is False and partial.json()["matched"] == 2

    # A wrong birth date does not count.
    wrong = api.post(
        public(org, "/verify"),
        json={
            "token": token,
            "data_points": {"phone": p.phone, "birth_date": "1901-01-01"},
            "declaration": {"typed_name": f"{p.first_name} {p.last_name}", "agreed": True},
        },
    )
    assert wrong.json()["verified"] is False and wrong.json()["matched"] == 2

    done = api.post(
        public(org, "/verify"),
        json={
            "token": token,
            "data_points": {"phone": p.phone, "birth_date": p.birth_date},
            "declaration": {"typed_name": f"{p.first_name} {p.last_name}", "agreed": True},
        },
    )
    assert done.status_code == 200, done.text
    assert done.json()["verified"] is True and done.json()["matched"] == 3

    # The link works once.
    again = api.post(public(org, "/verify"), json={"token": token})
    assert again.status_code == 410 and again.json()["reason"] == "used"

    ack, ready = mails_to(smtp, p.email, 2)
    download_token = link_in(ready, "download")
    package = api.get(public(org, "/download"), params={"token": download_token})
    assert package.status_code == 200
    assert package.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(package.content))
    names = set(archive.namelist())
    assert {"data.json", "summary.html", "identities.csv", "interactions.csv"} <= names
    assert "categories/user.contact.address.csv" in names
    data = json.loads(archive.read("data.json"))
    by_category = {c["category"]: c for c in data["categories"]}
    address = by_category["user.contact.address"]
    assert address["records"][0]["value"] == p.street
    assert address["records"][0]["purposes"] == ["contracted-services"]
    assert address["records"][0]["policy_version_id"] is not None
    assert "Processors" in address["recipients"]  # from the adopted notice
    # CA 7024: the SSN is only "held".
    ssn = by_category["user.government_id.national_identification_number"]
    assert ssn["records"][0]["held"] is True and "value" not in ssn["records"][0]
    whole = archive.read("data.json").decode() + archive.read("summary.html").decode()
    for name in names:
        whole += archive.read(name).decode()
    assert s.ssn not in whole
    assert "Social Security number" in data["withheld"]
    assert {i["value"] for i in data["identities"]} == {p.email, p.phone}
    summary = archive.read("summary.html").decode()
    assert p.street in summary and "held (not disclosed)" in summary

    with rt.db.session() as session:
        request = session.scalar(
            select(RightsRequest).where(RightsRequest.organization_id == org.id)
        )
        assert request is not None
        request_id = request.id
        assert request.status == "completed" and request.response == "complied"
        assert request.declaration_at is not None and request.verification_points == 3
        downloads = session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(
                AuditEntry.organization_id == org.id,
                AuditEntry.action == "rights.package_downloaded",
            )
        )
        assert downloads == 1
        # Neither the audit chain nor the request timeline holds a personal value.
        from honorbound.rights.models import RequestEvent

        stored = json.dumps(
            [e.details for e in session.scalars(select(AuditEntry))]
            + [e.details for e in session.scalars(select(RequestEvent))],
            default=str,
        ).lower()
        for value in (p.email, p.phone, p.street.lower(), s.ssn, p.last_name.lower()):
            assert value not in stored
    detail = api.get(f"/v1/requests/{request_id}", headers=org.headers(Role.PRIVACY_OFFICER)).json()
    kinds = [e["kind"] for e in detail["events"]]
    assert kinds[0] == "received"
    assert "verification_incomplete" in kinds and "verified" in kinds
    assert kinds[-1] == "package_downloaded"


def test_categories_request_lists_categories_without_values(
    api: TestClient, rt: Runtime, org: Tenant, smtp: SmtpSink
) -> None:
    s = seed(rt, org.id)
    p = s.person
    api.post(
        public(org), json={"type": "access_categories", "jurisdiction": "CO", "email": p.email}
    )
    token = link_in(mails_to(smtp, p.email)[0], "verify")
    done = api.post(
        public(org, "/verify"), json={"token": token, "data_points": {"birth_date": p.birth_date}}
    )
    assert done.json()["verified"] is True
    ready = mails_to(smtp, p.email, 2)[1]
    package = api.get(public(org, "/download"), params={"token": link_in(ready, "download")})
    archive = zipfile.ZipFile(io.BytesIO(package.content))
    data = json.loads(archive.read("data.json"))
    assert {c["category"] for c in data["categories"]} == {
        "user.contact.address",
        "user.contact.email",
    }
    assert all("records" not in c for c in data["categories"])
    assert "identities" not in data
    everything = b"".join(archive.read(n) for n in archive.namelist()).decode()
    assert p.street not in everything and p.email not in everything


def test_same_answer_for_known_and_unknown_people(
    api: TestClient, rt: Runtime, org: Tenant, smtp: SmtpSink
) -> None:
    known = seed(rt, org.id).person
    stranger = somebody()
    a = api.post(public(org), json={"type": "delete", "jurisdiction": "CA", "email": known.email})
    b = api.post(
        public(org), json={"type": "delete", "jurisdiction": "CA", "email": stranger.email}
    )
    assert (a.status_code, a.json()) == (b.status_code, b.json())
    # Both receive the same kind of acknowledgement; a stranger's verification never succeeds.
    token = link_in(mails_to(smtp, stranger.email)[0], "verify")
    link_in(mails_to(smtp, known.email)[0], "verify")
    attempt = api.post(
        public(org, "/verify"), json={"token": token, "data_points": {"phone": stranger.phone}}
    )
    assert attempt.json()["verified"] is False and attempt.json()["matched"] == 0


def test_expired_tampered_and_locked_links(
    api: TestClient, rt: Runtime, org: Tenant, smtp: SmtpSink
) -> None:
    p = seed(rt, org.id).person
    api.post(
        public(org), json={"type": "access_categories", "jurisdiction": "CA", "email": p.email}
    )
    token = link_in(mails_to(smtp, p.email)[0], "verify")
    token_id, secret = token.split(".", 1)

    tampered = api.post(public(org, "/verify"), json={"token": f"{token_id}.{secret[:-2]}xx"})
    assert tampered.status_code == 400 and tampered.json()["reason"] == "invalid"
    for nonsense in ("nonsense", "99999999999999999999.abc", "123456.", ".xyz"):
        garbage = api.get(public(org, "/verify"), params={"token": nonsense})
        assert garbage.status_code == 400, nonsense

    with rt.db.session() as session:
        session.execute(
            update(RequestToken)
            .where(RequestToken.public_id == token_id)
            .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1))
        )
    expired = api.post(
        public(org, "/verify"), json={"token": token, "data_points": {"phone": p.phone}}
    )
    assert expired.status_code == 410 and expired.json()["reason"] == "expired"

    # Wrong secrets count attempts and lock the link for this client, even for the right
    # secret afterwards (the link is unguessable: only its holder can address it at all).
    for _ in range(4):
        api.post(public(org, "/verify"), json={"token": f"{token_id}.wrong-secret-value"})
    locked = api.post(public(org, "/verify"), json={"token": token})
    assert locked.status_code == 429 and locked.json()["reason"] == "locked"
    with rt.db.engine.connect() as conn:
        counted = conn.execute(text("SELECT attempts FROM rights_token_attempts")).scalars().all()
    assert counted == [5]


def test_download_link_expires(api: TestClient, rt: Runtime, org: Tenant, smtp: SmtpSink) -> None:
    p = seed(rt, org.id).person
    api.post(
        public(org), json={"type": "access_categories", "jurisdiction": "CA", "email": p.email}
    )
    token = link_in(mails_to(smtp, p.email)[0], "verify")
    api.post(public(org, "/verify"), json={"token": token, "data_points": {"phone": p.phone}})
    download = link_in(mails_to(smtp, p.email, 2)[1], "download")
    assert api.get(public(org, "/download"), params={"token": download}).status_code == 200
    with rt.db.session() as session:
        session.execute(
            update(RequestToken)
            .where(RequestToken.public_id == download.split(".")[0])
            .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
        )
    late = api.get(public(org, "/download"), params={"token": download})
    assert late.status_code == 410
    # A verify link is not a download link.
    assert api.get(public(org, "/download"), params={"token": token}).status_code == 400
