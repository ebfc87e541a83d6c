"""The company-specific do-not-call lists from the command line (`honorbound dnc company`) and
the API's list and removal routes (`GET`/`DELETE /v1/dnc/company`), for a BPO dialing for a
client.

Oracles: the rows and audit entries on disk read with plain SQL; the effect checked through
`/v1/contact-decisions` (a different path from the commands); the number itself searched for
in everything printed and stored. Bad input exits 2 (or answers 4xx) with one sentence and
changes nothing."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import text
from typer.testing import CliRunner

from honorbound.accounts.roles import Role
from honorbound.cli import app as cli
from honorbound.runtime import Runtime
from tests.bpo.test_bpo_dnc import _agent, _reasons
from tests.bpo.test_clients_api import onboard
from tests.bpo.test_clients_cli import cli_env  # noqa: F401 (a fixture)
from tests.conftest import Tenant
from tests.consent.conftest import number


def _rows(runtime: Runtime, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    with runtime.db.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql), params)]


def _state(runtime: Runtime) -> tuple[Any, ...]:
    return (
        _rows(runtime, "SELECT id, organization_id FROM consent_company_dnc ORDER BY id"),
        _rows(runtime, "SELECT count(*) FROM audit_entries WHERE action LIKE 'consent.%dnc%'"),
    )


def test_cli_add_list_remove(
    client: TestClient,
    runtime: Runtime,
    tenant: Tenant,
    cli_env: CliRunner,  # noqa: F811
) -> None:
    one = onboard(client, tenant, "one")["id"]
    two = onboard(client, tenant, "two")["id"]
    agents = {one: _agent(client, tenant, one), two: _agent(client, tenant, two)}
    seller, center = number("646", 71), number("646", 72)
    for headers in agents.values():
        assert _reasons(client, headers, [seller, center]) == [[], []]
    add = ["dnc", "company", "add", "--org", "one"]
    r = cli_env.invoke(cli, add, input=seller + "\n")
    assert r.exit_code == 0 and "recorded on one" in r.output, r.output
    r = cli_env.invoke(cli, [*add, "--binds", "telemarketer", "--source", "phone_call"],
                       input=center + "\n")  # fmt: skip
    assert r.exit_code == 0 and "BPO's list" in r.output, r.output
    # The effect, through the decisions route: seller binds one, the call center binds both.
    assert _reasons(client, agents[one], [seller, center]) == [["company_dnc"], ["bpo_dnc"]]
    assert _reasons(client, agents[two], [seller, center]) == [[], ["bpo_dnc"]]
    on_disk = _rows(
        runtime, "SELECT id, organization_id, source FROM consent_company_dnc ORDER BY id"
    )
    assert [(o, s) for _, o, s in on_disk] == [(one, "agent_verbal"), (tenant.id, "phone_call")]
    seller_id, center_id = on_disk[0][0], on_disk[1][0]
    # Lists: each organization's own, no number.
    listed = cli_env.invoke(cli, ["dnc", "company", "list", "--org", tenant.slug])
    assert listed.exit_code == 0 and listed.output.split("\t")[:2] == [str(center_id), "phone_call"]
    listed_one = cli_env.invoke(cli, ["dnc", "company", "list", "--org", "one"]).output
    assert listed_one.startswith(f"{seller_id}\tagent_verbal\t")
    assert len(listed_one.strip().splitlines()) == 1
    # Bad input: one sentence, exit 2, nothing written or removed.
    before = _state(runtime)
    for args, stdin, words in (
        (add, "not a number\n", "not a phone number"),
        (add, "\n", "identity"),
        (add, "x" * 300 + "\n", "longer than 254"),
        ([*add, "--binds", "everyone"], seller + "\n", "everyone"),
        ([*add, "--source", "gossip"], seller + "\n", "Source"),
        ([*add, "--requested-at", "yesterday"], seller + "\n", "ISO 8601"),
        ([*add, "--requested-at", "2099-01-01T00:00:00+00:00"], seller + "\n", "future"),
        (["dnc", "company", "add", "--org", tenant.slug, "--binds", "telemarketer"],
         seller + "\n", "not operated by a BPO"),
        (["dnc", "company", "add", "--org", "nobody"], seller + "\n", "no organization"),
        (["dnc", "company", "remove", "--org", "one", "--id", str(center_id),
          "--reason", "duplicate"], "", f"no do-not-call request {center_id}"),
        (["dnc", "company", "remove", "--org", "one", "--id", str(seller_id),
          "--reason", "felt like it"], "", "reason must be one of"),
        (["dnc", "company", "list", "--org", "one", "--limit", "0"], "", "limit must be"),
    ):  # fmt: skip
        r = cli_env.invoke(cli, args, input=stdin)
        assert r.exit_code == 2 and words in r.output, (args, r.output)
        assert "Traceback" not in r.output
    assert _state(runtime) == before
    # Remove the call center's request: both clients may call the number again.
    r = cli_env.invoke(cli, ["dnc", "company", "remove", "--org", tenant.slug, "--id",
                             str(center_id), "--reason", "recorded_in_error"])  # fmt: skip
    assert r.exit_code == 0, r.output
    assert _reasons(client, agents[one], [seller, center]) == [["company_dnc"], []]
    assert _reasons(client, agents[two], [seller, center]) == [[], []]
    removed = _rows(
        runtime,
        "SELECT organization_id, object_id, details FROM audit_entries WHERE action = :a",
        a="consent.company_dnc_removed",
    )
    assert [(o, str(i)) for o, i, _ in removed] == [(tenant.id, str(center_id))]
    assert "recorded_in_error" in str(removed[0][2])  # JSON text, or a dict on PostgreSQL
    # The numbers are nowhere in what was printed or in the audit chain.
    details = " ".join(str(d) for (d,) in _rows(runtime, "SELECT details FROM audit_entries"))
    for value in (seller, center):
        assert value[2:] not in details and value[5:] not in listed.output + listed_one


def test_api_list_and_remove(client: TestClient, runtime: Runtime, tenant: Tenant) -> None:
    one = onboard(client, tenant, "one")["id"]
    agent = _agent(client, tenant, one)
    phones = [number("718", 73 + i) for i in range(3)]
    assert _reasons(client, agent, phones) == [[], [], []]
    ids = []
    for phone in phones:
        said = client.post("/v1/dnc/company", json={"identity": phone, "binds": "telemarketer"},
                           headers=agent)  # fmt: skip
        assert said.status_code == 201, said.text
        ids.append(said.json()["id"])
    # Decided once more, so the BPO's snapshot holds all three before one is removed.
    assert _reasons(client, agent, phones) == [["bpo_dnc"]] * 3
    # The BPO's key lists the BPO-wide list, newest first, two per page.
    first = client.get("/v1/dnc/company?limit=2", headers=tenant.headers()).json()
    assert [i["id"] for i in first["items"]] == ids[:0:-1] and first["next_before"] == ids[1]
    rest = client.get(f"/v1/dnc/company?limit=2&before={ids[1]}", headers=tenant.headers()).json()
    assert [i["id"] for i in rest["items"]] == [ids[0]] and rest["next_before"] is None
    assert all(p[2:] not in str(first) + str(rest) for p in phones)
    # The client's key lists the client's own list: empty (the requests are the BPO's).
    assert client.get("/v1/dnc/company", headers=agent).json()["items"] == []
    made = client.post(f"/v1/clients/{one}/api-keys", json={"name": "a", "role": "admin"},
                       headers=tenant.headers())  # fmt: skip
    client_admin = {"Authorization": f"Bearer {made.json()['key']}"}
    before = _rows(runtime, "SELECT id FROM consent_company_dnc ORDER BY id")
    for path, headers, status in (
        (f"/v1/dnc/company/{ids[0]}?reason=duplicate", tenant.headers(Role.AGENT), 403),
        (f"/v1/dnc/company/{ids[0]}?reason=duplicate", client_admin, 404),  # not its list
        (f"/v1/dnc/company/{ids[0]}?reason=because", tenant.headers(), 422),
        (f"/v1/dnc/company/{ids[0]}", tenant.headers(), 422),
        (f"/v1/dnc/company/{ids[-1] + 100}?reason=duplicate", tenant.headers(), 404),
    ):
        answer = client.delete(path, headers=headers)
        assert answer.status_code == status, (path, answer.text)
    assert _rows(runtime, "SELECT id FROM consent_company_dnc ORDER BY id") == before
    gone = client.delete(
        f"/v1/dnc/company/{ids[0]}?reason=written_consent", headers=tenant.headers()
    )
    assert gone.status_code == 200 and gone.json()["reason"] == "written_consent", gone.text
    assert _reasons(client, agent, phones) == [[], ["bpo_dnc"], ["bpo_dnc"]]
    assert client.get("/v1/dnc/company?limit=0", headers=tenant.headers()).status_code == 422
