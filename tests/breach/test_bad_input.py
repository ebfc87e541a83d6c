"""Bad input gets a clear 4xx problem naming what was wrong, never a 500."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from honorbound.accounts.roles import Role
from honorbound.runtime import Runtime
from tests.breach.conftest import resident
from tests.conftest import Tenant, adopt_example, make_tenant

GOOD: dict[str, Any] = {
    "title": "Laptop stolen",
    "discovered_at": "2026-11-02T15:00:00Z",
    "owner": "Privacy Office",
    "categories": ["user.contact"],
}


def _problem(r: Any, status: int, needle: str) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert needle in (body.get("detail", "") + " " + str(body.get("errors", ""))), body


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"discovered_at": None}, "discovered_at"),
        ({"discovered_at": "yesterday"}, "discovered_at"),
        ({"discovered_at": "2026-11-02T15:00:00"}, "time zone"),
        ({"discovered_at": "2999-01-01T00:00:00Z"}, "in the future"),
        ({"title": ""}, "title"),
        ({"status": "maybe"}, "status"),
        ({"key_compromised": True}, "only applies to encrypted data"),
        (
            {"occurred_from": "2026-11-01T00:00:00Z", "occurred_to": "2026-10-01T00:00:00Z"},
            "occurred_to is before occurred_from",
        ),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_bad_incident_is_a_clear_422(
    api: TestClient, org: Tenant, change: dict[str, Any], needle: str
) -> None:
    body = {**GOOD, **change}
    body = {k: v for k, v in body.items() if v is not None}
    r = api.post("/v1/breach/incidents", headers=org.headers(Role.PRIVACY_OFFICER), json=body)
    _problem(r, 422, needle)


def test_no_discovery_time_names_the_field(api: TestClient, org: Tenant) -> None:
    body = {k: v for k, v in GOOD.items() if k != "discovered_at"}
    r = api.post("/v1/breach/incidents", headers=org.headers(Role.PRIVACY_OFFICER), json=body)
    _problem(r, 422, "body.discovered_at is required")


def test_bad_selection_and_order_of_steps(rt: Runtime, api: TestClient, org: Tenant) -> None:
    h = org.headers(Role.PRIVACY_OFFICER)
    resident(rt, org.id, "NY")
    iid = api.post("/v1/breach/incidents", headers=h, json=GOOD).json()["id"]
    url = f"/v1/breach/incidents/{iid}"
    # Notices before anyone is selected.
    _problem(api.post(f"{url}/notices", headers=h, json={}), 422, "select the affected people")
    _problem(api.post(f"{url}/selection", headers=h, json={}), 422, "names none of")
    _problem(api.post(f"{url}/selection", headers=h, json={"channels": ["pigeon"]}), 422, "pigeon")
    _problem(
        api.post(f"{url}/selection", headers=h, json={"categories": ["user.biometric"]}),
        422,
        "matches nobody",
    )
    _problem(
        api.post(
            f"{url}/selection",
            headers=h,
            json={"categories": ["user.contact"], "window_from": "2026-11-02T00:00:00Z",
                  "window_to": "2026-11-01T00:00:00Z"},
        ),
        422,
        "window_to is before window_from",
    )  # fmt: skip
    _problem(api.post(f"{url}/notices", headers=h, json={"language": "fr"}), 422, "language")
    _problem(api.patch(url, headers=h, json={"discovered_at": None}), 422, "discovered_at")
    _problem(api.get("/v1/breach/incidents/999999", headers=h), 404, "no incident 999999")
    _problem(api.get("/v1/breach/incidents/99999999999", headers=h), 422, "incident_id")


def test_other_organizations_and_roles(rt: Runtime, api: TestClient, org: Tenant) -> None:
    iid = api.post(
        "/v1/breach/incidents", headers=org.headers(Role.PRIVACY_OFFICER), json=GOOD
    ).json()["id"]
    other = make_tenant(rt, "another")
    adopt_example(rt, other.id)
    r = api.get(f"/v1/breach/incidents/{iid}", headers=other.headers(Role.ADMIN))
    assert r.status_code == 404
    r = api.post("/v1/breach/incidents", headers=org.headers(Role.AGENT), json=GOOD)
    assert r.status_code == 403
    r = api.get(f"/v1/breach/incidents/{iid}", headers=org.headers(Role.AUDITOR))
    assert r.status_code == 200


def test_letters_without_reportlab_say_how_to_get_them(
    rt: Runtime, api: TestClient, org: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    h = org.headers(Role.PRIVACY_OFFICER)
    resident(rt, org.id, "NY", email=False)
    iid = api.post("/v1/breach/incidents", headers=h, json=GOOD).json()["id"]
    api.post(f"/v1/breach/incidents/{iid}/selection", headers=h, json={"systems": ["crm"]})
    assert api.post(f"/v1/breach/incidents/{iid}/notices", headers=h, json={}).json()["letters"]
    letter = next(
        n
        for n in api.get(f"/v1/breach/incidents/{iid}/notices", headers=h).json()
        if n["channel"] == "letter"
    )
    monkeypatch.setitem(sys.modules, "reportlab.lib.pagesizes", None)  # import fails
    r = api.get(f"/v1/breach/incidents/{iid}/notices/{letter['id']}/letter.pdf", headers=h)
    _problem(r, 501, "honorbound[breach]")
