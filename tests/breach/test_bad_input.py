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
    api.post(f"/v1/breach/incidents/{iid}/selection", headers=h, json={"systems": ["web_form"]})
    assert api.post(f"/v1/breach/incidents/{iid}/notices", headers=h, json={}).json()["letters"]
    letter = next(
        n
        for n in api.get(f"/v1/breach/incidents/{iid}/notices", headers=h).json()
        if n["channel"] == "letter"
    )
    monkeypatch.setitem(sys.modules, "reportlab.lib.pagesizes", None)  # import fails
    r = api.get(f"/v1/breach/incidents/{iid}/notices/{letter['id']}/letter.pdf", headers=h)
    _problem(r, 501, "honorbound[breach]")


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"title": "t" * 201}, "title"),
        ({"description": "d" * 20_001}, "description"),
        ({"contact": "c" * 501}, "contact"),
        ({"owner": "o" * 201}, "owner"),
        ({"categories": ["user.contact"] * 201}, "categories"),
        ({"clients": ["c" * 201]}, "clients"),
    ],
)
def test_over_long_fields_are_refused_and_change_nothing(
    api: TestClient, org: Tenant, change: dict[str, Any], needle: str
) -> None:
    h = org.headers(Role.PRIVACY_OFFICER)
    before = api.get("/v1/breach/incidents", headers=h).json()
    _problem(api.post("/v1/breach/incidents", headers=h, json={**GOOD, **change}), 422, needle)
    assert api.get("/v1/breach/incidents", headers=h).json() == before
    iid = api.post("/v1/breach/incidents", headers=h, json=GOOD).json()["id"]
    kept = api.get(f"/v1/breach/incidents/{iid}", headers=h).json()
    _problem(api.patch(f"/v1/breach/incidents/{iid}", headers=h, json=change), 422, needle)
    assert api.get(f"/v1/breach/incidents/{iid}", headers=h).json() == kept


def test_the_domain_refuses_over_long_input_too(rt: Runtime, org: Tenant) -> None:
    """The CLI's path (no API model in front): the same bounds, nothing written."""
    import datetime as dt

    from honorbound.audit import Actor
    from honorbound.breach import incidents
    from honorbound.breach.errors import BreachInputError
    from honorbound.breach.models import Incident

    actor = Actor("test", "system")
    good = {"title": "Laptop", "owner": "Privacy", "discovered_at": dt.datetime(2026, 11, 2,
            tzinfo=dt.UTC)}  # fmt: skip
    for change, needle in (
        ({"title": "t" * 201}, "title is longer than 200"),
        ({"categories": ["x" * 201]}, "categories has an entry longer than 200"),
        ({"systems": [f"s{i}" for i in range(201)]}, "systems has more than 200"),
        ({"discovered_at": None}, "discovered_at"),
    ):
        with rt.db.session() as session, pytest.raises(BreachInputError, match=needle):
            incidents.create_incident(session, org.id, {**good, **change}, actor)
    with rt.db.session() as session:
        assert session.query(Incident).filter_by(organization_id=org.id).count() == 0


def test_a_selection_matching_nobody_keeps_the_previous_one(
    rt: Runtime, api: TestClient, org: Tenant
) -> None:
    h = org.headers(Role.PRIVACY_OFFICER)
    resident(rt, org.id, "NY")
    iid = api.post("/v1/breach/incidents", headers=h, json=GOOD).json()["id"]
    url = f"/v1/breach/incidents/{iid}"
    r = api.post(f"{url}/selection", headers=h, json={"systems": ["web_form"]})
    assert r.status_code == 200 and r.json()["by_state"] == {"NY": 1}
    before = api.get(url, headers=h).json()
    _problem(api.post(f"{url}/selection", headers=h, json={"systems": ["erp"]}), 422, "nobody")
    after = api.get(url, headers=h).json()
    assert (after["affected"], after["by_state"], after["selection"]) == (
        before["affected"], before["by_state"], before["selection"],
    )  # fmt: skip
