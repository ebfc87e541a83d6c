"""The sub-processor register reaches the consumer: in the access package's data.json (read
from the downloaded ZIP, after the real portal request and mailed links) and on the public
notice page (/p/{slug}); a removed one disappears from both."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from honorbound.audit import Actor
from honorbound.disclosures import subprocessors
from honorbound.runtime import Runtime
from tests.conftest import Tenant
from tests.rights.conftest import download_access, seed
from tests.support.smtp import SmtpSink

ADMIN = Actor("bpo-admin", "admin")


def test_register_in_package_and_notice(
    api: TestClient, rt: Runtime, org: Tenant, smtp: SmtpSink
) -> None:
    s = seed(rt, org.id)
    with rt.db.session() as session:
        kept = subprocessors.add(
            session, rt.keys, rt.jobs, org.id, "privacy@acme.example", "Dialer Cloud Inc.",
            "Outbound dialing", "United States", ["user.contact.phone_number"], ADMIN,
        ).subprocessor.id  # fmt: skip
        gone = subprocessors.add(
            session, rt.keys, rt.jobs, org.id, "privacy@acme.example", "Old Transcripts LLC",
            "Call transcription", "Canada", [], ADMIN,
        ).subprocessor.id  # fmt: skip
        subprocessors.remove(session, rt.keys, rt.jobs, org.id, "privacy@acme.example", gone, ADMIN)
    data = json.loads(download_access(api, org, smtp, s.person).read("data.json"))
    assert data["subprocessors"] == [
        {
            "name": "Dialer Cloud Inc.",
            "purpose": "Outbound dialing",
            "location": "United States",
            "categories": ["user.contact.phone_number"],
            "added_at": data["subprocessors"][0]["added_at"],
        }
    ]
    page = api.get(f"/p/{org.slug}").text
    assert "Dialer Cloud Inc." in page and "Outbound dialing" in page
    assert "Old Transcripts LLC" not in page
    assert kept != gone
