"""Issue 14, defect 9: a GPC signal without a state is recorded for the browser or person and
the answer says "Opt-out request honored" (11 CCR 7025(c)(6)); `channel: "all"` is a valid
contact-decision channel ("on every channel": allowed only when each channel allows it)."""

from __future__ import annotations

import re

import yaml
from fastapi.testclient import TestClient
from sqlalchemy import select

from honorbound.accounts.roles import Role
from honorbound.consent.models import ConsentEvent
from honorbound.consent.rules import DATA
from honorbound.runtime import Runtime
from tests.conftest import Tenant
from tests.consent.conftest import record
from tests.support.people import person

# The regulation's example wording (11 CCR 7025(c)(6)), the oracle for the data file.
HONORED = "Opt-out request honored"


def test_the_display_text_is_in_the_rules_file() -> None:
    raw = yaml.safe_load(DATA.read_text(encoding="utf-8"))
    assert raw["gpc"]["honored_display"] == HONORED and "7025(c)(6)" in raw["gpc"]["source"]


def _decide(client: TestClient, tenant: Tenant, items: list[dict[str, str]]) -> list[dict]:  # type: ignore[type-arg]
    response = client.post(
        "/v1/contact-decisions", json={"items": items}, headers=tenant.headers(Role.CLIENT)
    )
    assert response.status_code == 200, response.text
    return response.json()["results"]  # type: ignore[no-any-return]


def test_gpc_without_a_state_is_recorded_and_says_so(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    url = f"/v1/public/consent/{tenant.slug}/gpc"
    cookie = {"cookie_id": "browser-7d1e55aa"}
    first = client.post(url, json=cookie, headers={"Sec-GPC": "1"}).json()
    assert sorted(first["recorded"]) == ["sale", "sharing", "targeted_advertising"]
    assert first["honored"] is True and first["status"] == HONORED
    again = client.post(url, json=cookie, headers={"Sec-GPC": "1"}).json()
    # Already in force: nothing new recorded, and still honored (the site keeps showing it).
    assert again["recorded"] == [] and again["status"] == HONORED
    assert client.post(url, json=cookie).json()["status"] is None
    # A state whose law is in force and does not require it: not honored, not claimed.
    virginia = client.post(
        url, json={"cookie_id": "browser-va-0001", "state": "VA"}, headers={"Sec-GPC": "1"}
    ).json()
    assert virginia == {"gpc": True, "recorded": [], "honored": False, "status": None}
    with runtime.db.session() as session:
        rows = list(session.scalars(select(ConsentEvent).order_by(ConsentEvent.id)))
        assert [(r.purpose, r.channel, r.source) for r in rows] == [
            ("sale", "all", "gpc_signal"),
            ("sharing", "all", "gpc_signal"),
            ("targeted_advertising", "all", "gpc_signal"),
        ]
    # Applied: the browser's cookie id is opted out of sale on every channel.
    results = _decide(
        client,
        tenant,
        [
            {"identity": "browser-7d1e55aa", "kind": "cookie_id", "purpose": p, "channel": "all"}
            for p in ("sale", "sharing", "targeted_advertising", "marketing")
        ],
    )
    # GPC says nothing about marketing; "every channel" includes texts, which need consent.
    assert [r["reasons"] for r in results] == [["opted_out"]] * 3 + [["consent_required"]]


def test_unsubscribe_pages_show_the_gpc_status(client: TestClient, tenant: Tenant) -> None:
    who = person().email
    link = client.post(
        "/v1/consent/unsubscribe-links",
        json={"identity": who, "list_id": "newsletter"},
        headers=tenant.headers(Role.CLIENT),
    ).json()
    path = link["url"].replace("http://testserver", "")
    page = client.get(path, headers={"Sec-GPC": "1"})
    assert page.status_code == 200 and HONORED in page.text
    assert HONORED not in client.get(path).text
    done = client.post(path, data={"List-Unsubscribe": "One-Click"}, headers={"Sec-GPC": "1"})
    assert done.status_code == 200 and HONORED in done.text


def test_channel_all_is_every_channel(client: TestClient, runtime: Runtime, tenant: Tenant) -> None:
    texted_stop, clean = person().phone, person().email
    record(runtime, tenant.id, texted_stop, "marketing", "sms")
    items = [
        {
            "identity": texted_stop,
            "purpose": "marketing",
            "channel": "all",
            "at": "2026-12-01T20:00:00Z",
        },
        {"identity": texted_stop, "purpose": "marketing", "channel": "email"},
        {"identity": clean, "purpose": "sale", "channel": "all"},
        {"identity": clean, "purpose": "marketing", "channel": "pigeon"},
    ]
    results = _decide(client, tenant, items)
    # An opt-out on one channel blocks "every channel"; it leaves email alone. Marketing texts
    # need consent, so "every channel" for marketing also says so.
    assert "opted_out" in results[0]["reasons"] and results[0]["allowed"] is False
    assert results[1] == {"allowed": True, "reasons": []}
    assert results[2] == {"allowed": True, "reasons": []}
    assert results[3]["reasons"] == ["invalid_item"]
    assert results[3]["errors"][0]["field"] == "items[3].channel"
    assert "all" in results[3]["errors"][0]["message"]
    # Every item of a batch with the same channel `all` (the shape of a bulk list).
    bulk = _decide(
        client,
        tenant,
        [{"identity": v, "purpose": "marketing", "channel": "all"} for v in (clean, texted_stop)],
    )
    assert "opted_out" not in bulk[0]["reasons"] and "opted_out" in bulk[1]["reasons"]


def test_the_portal_choices_page_says_the_signal_was_honored(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    url = f"/p/{tenant.slug}/choices"
    gpc = {"Sec-GPC": "1"}
    page = client.get(url, headers=gpc).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    done = client.post(
        url, data={"csrf_token": token.group(1), "identity": person().email}, headers=gpc
    )
    assert done.status_code == 200 and HONORED in done.text
    with runtime.db.session() as session:
        sources = set(session.scalars(select(ConsentEvent.source)))
    assert sources == {"gpc_signal"}
