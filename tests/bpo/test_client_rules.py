"""Per-client rules overrides (issue 20): a BPO administrator gives client one its counsel's
20-day answer period; one's requests are due 20 days after receipt while client two keeps the
law's 45; a looser or bad file is refused with FILE:LINE sentences and nothing is stored; the
desk shows the breach notices the BPO owes each client, NY 30 days and OR 10 days after
discovery (or the client's own stricter 72 hours). Every expected date below is written out
from a calendar by hand, not computed by the clock code; what is stored is read with SQL."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import text
from typer.testing import CliRunner

from honorbound.accounts.roles import Role
from honorbound.cli import app as cli
from honorbound.runtime import Runtime
from tests.bpo.test_clients_api import onboard
from tests.bpo.test_clients_cli import cli_env  # noqa: F401 (a fixture)
from tests.breach.conftest import resident
from tests.conftest import Tenant, adopt_example

RECEIVED = "2026-11-02T15:00:00+00:00"  # a Monday
COUNSEL_20 = """\
schema: honorbound/jurisdiction-rules/v1
states:
  VA:
    respond: {days: 20, kind: calendar, counted_from: receipt}
    source: "counsel memo 2026-12 (client one)"
"""


def _rows(runtime: Runtime, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    with runtime.db.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql), params)]


def _key(client: TestClient, bpo: Tenant, client_id: int, role: str) -> dict[str, str]:
    made = client.post(
        f"/v1/clients/{client_id}/api-keys", json={"name": "crm", "role": role},
        headers=bpo.headers(),
    )  # fmt: skip
    assert made.status_code == 201, made.text
    return {"Authorization": f"Bearer {made.json()['key']}"}


def _due(client: TestClient, headers: dict[str, str], n: int) -> str:
    made = client.post(
        "/v1/requests",
        json={"type": "delete", "email": f"person{n}@example.com", "manner": "mail",
              "jurisdiction": "VA", "received_at": RECEIVED},
        headers=headers,
    )  # fmt: skip
    assert made.status_code == 201, made.text
    return str(made.json()["due_at"])[:19]


def test_a_client_counsel_deadline_reaches_its_requests_only(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    one, two = onboard(client, tenant, "one")["id"], onboard(client, tenant, "two")["id"]
    heads = {c: _key(client, tenant, c, "privacy_officer") for c in (one, two)}
    put = client.put(
        f"/v1/clients/{one}/rules", json={"rules": COUNSEL_20, "name": "one-counsel.yaml"},
        headers=tenant.headers(),
    )  # fmt: skip
    assert put.status_code == 200, put.text
    assert put.json()["in_force"] and put.json()["periods"] == {
        "states.VA.respond": "20 calendar days"
    }
    # 2026-11-02 + 20 days = 2026-11-22; + 45 days = 2026-12-17 (Nov has 30 days).
    assert _due(client, heads[one], 1) == "2026-11-22T15:00:00"
    assert _due(client, heads[two], 2) == "2026-12-17T15:00:00"
    # Built once for this version: more requests of one do not build it again.
    builds = runtime.rule_book.builds
    assert _due(client, heads[one], 3) == "2026-11-22T15:00:00"
    assert runtime.rule_book.builds == builds
    # A new version is a new build: 25 days -> 2026-11-27.
    changed = COUNSEL_20.replace("days: 20", "days: 25")
    put = client.put(f"/v1/clients/{one}/rules", json={"rules": changed}, headers=tenant.headers())
    assert put.status_code == 200, put.text
    assert _due(client, heads[one], 4) == "2026-11-27T15:00:00"
    assert runtime.rule_book.builds == builds + 1
    stored = _rows(runtime, "SELECT organization_id, name, source_text FROM policy_client_rules")
    assert stored == [(one, "client-rules.yaml", changed)]
    actions = _rows(
        runtime, "SELECT organization_id, action FROM audit_entries WHERE action LIKE "
        "'policy.client_rules%' ORDER BY id",
    )  # fmt: skip
    assert actions == [(one, "policy.client_rules_set")] * 2
    got = client.get(f"/v1/clients/{one}/rules", headers=tenant.headers()).json()
    assert got["override"]["rules"] == changed and got["in_force"]
    # Cleared: the law's 45 days again, and the clearing is on the audit chain.
    assert client.delete(f"/v1/clients/{one}/rules", headers=tenant.headers()).status_code == 204
    assert _due(client, heads[one], 5) == "2026-12-17T15:00:00"
    assert _rows(runtime, "SELECT count(*) FROM policy_client_rules") == [(0,)]
    assert (one, "policy.client_rules_cleared") in _rows(
        runtime, "SELECT organization_id, action FROM audit_entries"
    )


REFUSED = [
    # Looser than the law: a longer period, business days over calendar days, an extension the
    # law does not give, a slower notice to the owner.
    ("states:\n  VA:\n    respond: {days: 60, kind: calendar}\n    source: m\n",
     "acme.yaml:3: states.VA.respond: a client's deadline can only be stricter than the "
     "installation's rules: 60 calendar days can end later than 45 calendar days"),
    ("states:\n  VA:\n    respond: {days: 40, kind: business}\n    source: m\n",
     "40 business days can end later than 45 calendar days"),
    ("states:\n  VA:\n    appeal: {required: false}\n    source: m\n", "keep `required: true`"),
    ("breach:\n  OR:\n    processor_to_owner: {within: {days: 11, kind: calendar}}\n"
     "    source: m\n",
     "11 calendar days can end later than 10 calendar days"),
    # Not honoured per client, not in the rules, not valid: the loader's own sentences.
    ("states:\n  VA:\n    sensitive: opt_out\n",
     "acme.yaml:3: states.VA.sensitive cannot be overridden per client"),
    ("coppa: {source: x}\n", "acme.yaml:1: `coppa` cannot be overridden per client"),
    ("states:\n  ZZ:\n    respond: {days: 1, kind: calendar}\n",
     "acme.yaml:2: states.ZZ: no such row in the installation's rules"),
    ("states:\n  VA:\n    respond: {days: -1, kind: calendar}\n    source: m\n",
     "acme.yaml:3: states.VA.respond.days: input should be greater than or equal to 0"),
    ("states:\n  VA:\n    respond: {days: 10, kind: weekly}\n    source: m\n",
     "acme.yaml:3: states.VA.respond"),
    ("states:\n  VA:\n    respond: {days: 10, kind: calendar}\n",
     "acme.yaml:2: states.VA: say where the client's period comes from in `source`"),
    ("- a list\n", "acme.yaml:1: an override file is a YAML mapping"),
    ("states: [\n", "acme.yaml:2: this is not valid YAML"),
    ("a: &x 1\nb: *x\n", "aliases (*name) are not allowed here"),
]  # fmt: skip


def test_a_looser_or_bad_override_is_refused_and_nothing_stored(
    client: TestClient, runtime: Runtime, tenant: Tenant, other_tenant: Tenant
) -> None:
    one = onboard(client, tenant, "one")["id"]
    before = _rows(runtime, "SELECT count(*) FROM audit_entries")
    for body, words in REFUSED:
        answer = client.put(
            f"/v1/clients/{one}/rules", json={"rules": body, "name": "acme.yaml"},
            headers=tenant.headers(),
        )  # fmt: skip
        assert answer.status_code == 422, (body, answer.text)
        assert words in answer.json()["detail"], (body, answer.json()["detail"])
    for bad in (
        {"rules": ""},
        {"rules": "x" * 200_001},
        {"rules": COUNSEL_20, "extra": 1},
        {"rules": COUNSEL_20, "name": "n" * 201},
        {"rules": 20},
    ):
        answer = client.put(f"/v1/clients/{one}/rules", json=bad, headers=tenant.headers())
        assert answer.status_code == 422, (str(bad)[:60], answer.text)
    assert _rows(runtime, "SELECT count(*) FROM policy_client_rules") == [(0,)]
    assert _rows(runtime, "SELECT count(*) FROM audit_entries") == before
    # Another BPO, the client's own key, an unknown client: never this BPO's client's rules.
    own = _key(client, tenant, one, "admin")
    for headers, status in ((other_tenant.headers(), 404), (own, 404)):
        for method in ("GET", "PUT", "DELETE"):
            answer = client.request(
                method, f"/v1/clients/{one}/rules", json={"rules": COUNSEL_20}, headers=headers
            )
            assert answer.status_code in (status, 403), (method, answer.status_code)
    assert client.get("/v1/clients/999999/rules", headers=tenant.headers()).status_code == 404
    assert client.get(f"/v1/clients/{one}/rules", headers=tenant.headers()).json() == {
        "override": None, "in_force": False, "problem": None, "periods": {},
    }  # fmt: skip
    assert _rows(runtime, "SELECT count(*) FROM policy_client_rules") == [(0,)]


def test_client_rules_from_the_cli(
    client: TestClient, runtime: Runtime, tenant: Tenant, cli_env: CliRunner,  # noqa: F811
    tmp_path: Path,
) -> None:  # fmt: skip
    one = onboard(client, tenant, "one")["id"]
    good, bad = tmp_path / "one-counsel.yaml", tmp_path / "looser.yaml"
    good.write_text(COUNSEL_20, encoding="utf-8")
    bad.write_text(
        "states:\n  VA:\n    respond: {days: 46, kind: calendar}\n    source: m\n", "utf-8"
    )
    base = ["clients", "rules", "set", "--bpo", tenant.slug, "--client", "one", "--file"]
    r = cli_env.invoke(cli, [*base, str(bad)])
    assert r.exit_code == 2, r.output
    assert "looser.yaml:3: states.VA.respond: a client's deadline can only be stricter" in r.output
    r = cli_env.invoke(cli, [*base, str(tmp_path / "missing.yaml")])
    assert r.exit_code == 2 and "cannot read" in r.output
    assert _rows(runtime, "SELECT count(*) FROM policy_client_rules") == [(0,)]
    r = cli_env.invoke(cli, [*base, str(good)])
    assert r.exit_code == 0, r.output
    assert _rows(runtime, "SELECT organization_id, name FROM policy_client_rules") == [
        (one, "one-counsel.yaml")
    ]
    show = cli_env.invoke(
        cli, ["clients", "rules", "show", "--bpo", tenant.slug, "--client", "one"]
    )
    assert "in force" in show.output and "states.VA.respond\t20 calendar days" in show.output
    r = cli_env.invoke(cli, ["clients", "rules", "clear", "--bpo", tenant.slug, "--client", "one"])
    assert r.exit_code == 0 and "cleared" in r.output
    assert _rows(runtime, "SELECT count(*) FROM policy_client_rules") == [(0,)]


# -- the desk: breach notices owed to clients ----------------------------------------------------
def _owed(client: TestClient, headers: dict[str, str], query: str = "") -> list[tuple[Any, ...]]:
    answer = client.get(f"/v1/desk{query}", headers=headers)
    assert answer.status_code == 200, answer.text
    return [
        (n["organization"], n["state"], n["due_at"][:19], n["status"])
        for n in answer.json()["owner_notices"]
    ]


def test_the_desk_shows_the_breach_notices_owed_to_each_client(
    client: TestClient, runtime: Runtime, tenant: Tenant, other_tenant: Tenant
) -> None:
    one = onboard(client, tenant, "one")["id"]
    onboard(client, tenant, "two")  # named by its name, "Client two", in the incident
    adopt_example(runtime, tenant.id)
    for state in ("NY", "OR"):
        resident(runtime, tenant.id, state)
    # Client one's contract: told within 72 hours of discovery in NY (stricter than 30 days).
    rules = "breach:\n  NY:\n    processor_to_owner: {within_hours: 72}\n    source: contract\n"
    put = client.put(f"/v1/clients/{one}/rules", json={"rules": rules}, headers=tenant.headers())
    assert put.status_code == 200, put.text
    made = client.post(
        "/v1/breach/incidents",
        json={"title": "Dialer export", "owner": "Sec", "clients": ["one", "Client two"],
              "discovered_at": "2026-11-02T15:00:00Z", "categories": ["user.contact"]},
        headers=tenant.headers(),
    )  # fmt: skip
    assert made.status_code == 201, made.text
    iid = made.json()["id"]
    selected = client.post(
        f"/v1/breach/incidents/{iid}/selection", json={"systems": ["web_form"]},
        headers=tenant.headers(),
    )  # fmt: skip
    assert selected.status_code == 200, selected.text
    # Discovered Mon 2026-11-02 15:00 UTC: NY 30 days -> 2026-12-02; OR 10 days -> 2026-11-12;
    # client one's NY 72 hours -> Thu 2026-11-05 15:00. All past today: overdue.
    assert _owed(client, tenant.headers()) == [
        ("one", "NY", "2026-11-05T15:00:00", "overdue"),
        ("one", "OR", "2026-11-12T15:00:00", "overdue"),
        ("two", "OR", "2026-11-12T15:00:00", "overdue"),
        ("two", "NY", "2026-12-02T15:00:00", "overdue"),
    ]
    # The client document for OR to two is submitted: sent, no longer counted as owed.
    prepared = client.post(
        f"/v1/breach/incidents/{iid}/notices", json={"language": "en"}, headers=tenant.headers()
    )
    assert prepared.status_code == 200, prepared.text
    notice_id = _rows(
        runtime, "SELECT id FROM breach_notices WHERE incident_id = :i AND audience = 'owner' "
        "AND state = 'OR' AND recipient = 'Client two'", i=iid,
    )[0][0]  # fmt: skip
    done = client.post(
        f"/v1/breach/incidents/{iid}/notices/{notice_id}/submitted", headers=tenant.headers()
    )
    assert done.status_code == 200, done.text
    assert ("two", "OR", "2026-11-12T15:00:00", "sent") in _owed(client, tenant.headers())
    figures = client.get("/v1/desk", headers=tenant.headers()).json()
    per = {r["organization"]["slug"]: r for r in figures["organizations"]}
    assert (per["one"]["owner_notices_due"], per["one"]["owner_notices_overdue"]) == (2, 2)
    assert (per["two"]["owner_notices_due"], per["two"]["owner_notices_overdue"]) == (1, 1)
    assert (per[tenant.slug]["owner_notices_due"]) == 0
    assert figures["totals"]["owner_notices_due"] == 3
    # Filtered by client; another BPO sees none of it; the client's own key neither (its BPO's
    # incident is not one of its organizations).
    assert [r[0] for r in _owed(client, tenant.headers(), "?client=two")] == ["two", "two"]
    assert _owed(client, other_tenant.headers()) == []
    assert _owed(client, _key(client, tenant, one, "admin")) == []
    assert client.get("/v1/desk?client=one", headers=other_tenant.headers()).status_code == 404
    # A fresh incident: due, 30 days after its discovery in NY for two (72 hours for one).
    now = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(hours=1)
    fresh = client.post(
        "/v1/breach/incidents",
        json={"title": "Second", "owner": "Sec", "clients": ["two"],
              "discovered_at": now.isoformat()},
        headers=tenant.headers(),
    ).json()["id"]  # fmt: skip
    client.post(
        f"/v1/breach/incidents/{fresh}/selection", json={"systems": ["web_form"]},
        headers=tenant.headers(Role.ADMIN),
    )  # fmt: skip
    later = _owed(client, tenant.headers(), "?client=two")
    assert ("two", "NY", (now + dt.timedelta(days=30)).isoformat()[:19], "due") in later
