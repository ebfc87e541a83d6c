"""Access packages include "who received my data": the person's entries in the disclosure
ledger (never aggregates, never other people's), in data.json, disclosures.csv and the
summary."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import zipfile

from fastapi.testclient import TestClient

from honorbound.disclosures.ledger import record_disclosure
from honorbound.disclosures.models import Basis
from honorbound.policy import store
from honorbound.runtime import Runtime
from tests.conftest import Tenant
from tests.rights.conftest import ACTOR, link_in, mails_to, public, seed
from tests.support.smtp import SmtpSink


def _disclose(
    rt: Runtime,
    org: Tenant,
    recipient_id: str,
    at: dt.datetime,
    *,
    subjects: dict[int, list[str]] | None = None,
    aggregate: int | None = None,
) -> None:
    with rt.db.session() as session:
        adopted = store.current(session, org.id)
        assert adopted is not None
        recipient = adopted.declaration.recipient(recipient_id)
        assert recipient is not None
        record_disclosure(
            session,
            org.id,
            ACTOR,
            recipient=recipient,
            categories=["user.contact.address", "user.contact.email"],
            purpose="advertising",
            basis=Basis.SHARING,
            subjects=subjects,
            aggregate_count=aggregate,
            disclosed_at=at,
        )


def _package(
    api: TestClient, org: Tenant, smtp: SmtpSink, email: str, phone: str
) -> zipfile.ZipFile:
    answer = api.post(
        public(org),
        # The ledger entries below are dated 2025: ask for everything held, not the CA
        # default of the 12 months before the request (test_limits covers that).
        json={"type": "access_categories", "jurisdiction": "CA", "email": email, "period": "all"},
    )
    assert answer.status_code == 202, answer.text
    token = link_in(mails_to(smtp, email)[0], "verify")
    verified = api.post(
        public(org, "/verify"), json={"token": token, "data_points": {"phone": phone}}
    )
    assert verified.json()["verified"] is True, verified.text
    download = link_in(mails_to(smtp, email, 2)[1], "download")
    package = api.get(public(org, "/download"), params={"token": download})
    assert package.status_code == 200, package.text
    return zipfile.ZipFile(io.BytesIO(package.content))


def test_access_package_lists_who_received_the_persons_data(
    api: TestClient, rt: Runtime, org: Tenant, smtp: SmtpSink
) -> None:
    s = seed(rt, org.id)
    other = seed(rt, org.id)
    first = dt.datetime(2025, 3, 1, 12, tzinfo=dt.UTC)
    second = dt.datetime(2025, 9, 1, 12, tzinfo=dt.UTC)
    _disclose(rt, org, "meta", second, subjects={s.subject_id: ["user.contact.email"]})
    _disclose(
        rt,
        org,
        "google",
        first,
        subjects={s.subject_id: ["user.contact.address"], other.subject_id: ["user.contact.email"]},
    )
    _disclose(rt, org, "linkedin", first, aggregate=500)  # nobody identifiable: not listed
    _disclose(rt, org, "microsoft", first, subjects={other.subject_id: ["user.contact.email"]})

    archive = _package(api, org, smtp, s.person.email, s.person.phone)
    data = json.loads(archive.read("data.json"))
    got = [
        (d["recipient"], d["categories"], d["purpose"], d["basis"], d["disclosed_at"])
        for d in data["disclosures"]
    ]
    assert got == [
        ("Google", ["user.contact.address"], "advertising", "sharing", first.isoformat()),
        (
            "Meta (Facebook, Instagram)",
            ["user.contact.email"],
            "advertising",
            "sharing",
            second.isoformat(),
        ),
    ]
    rows = list(csv.DictReader(io.StringIO(archive.read("disclosures.csv").decode())))
    assert [(r["recipient"], r["categories"], r["basis"]) for r in rows] == [
        ("Google", "user.contact.address", "sharing"),
        ("Meta (Facebook, Instagram)", "user.contact.email", "sharing"),
    ]
    summary = archive.read("summary.html").decode()
    assert "Who received your information" in summary
    assert "Google" in summary and "Meta (Facebook, Instagram)" in summary
    whole = "".join(archive.read(n).decode() for n in archive.namelist())
    assert "LinkedIn" not in whole and "Microsoft" not in whole


def test_access_package_says_when_nobody_received_the_data(
    api: TestClient, rt: Runtime, org: Tenant, smtp: SmtpSink
) -> None:
    s = seed(rt, org.id)
    other = seed(rt, org.id)
    _disclose(
        rt,
        org,
        "meta",
        dt.datetime(2025, 3, 1, tzinfo=dt.UTC),
        subjects={other.subject_id: ["user.contact.email"]},
    )
    archive = _package(api, org, smtp, s.person.email, s.person.phone)
    assert json.loads(archive.read("data.json"))["disclosures"] == []
    rows = list(csv.DictReader(io.StringIO(archive.read("disclosures.csv").decode())))
    assert rows == []
    assert "show no disclosure" in archive.read("summary.html").decode()
