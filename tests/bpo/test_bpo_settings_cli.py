"""`honorbound clients hours | subprocessors | sms-numbers`: a BPO's per-client settings from the
command line. Checked against the rows on disk (plain SQL) and the API's answers, not the
functions the commands call; bad input exits 2 with one sentence and changes nothing."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import text
from typer.testing import CliRunner

from honorbound.cli import app as cli
from honorbound.runtime import Runtime
from tests.bpo.test_clients_api import onboard
from tests.bpo.test_clients_cli import cli_env  # noqa: F401 (a fixture)
from tests.conftest import Tenant

TABLES = ("consent_contact_overrides", "subprocessors", "bpo_shared_numbers",
          "bpo_shared_number_clients", "outbox", "audit_entries")  # fmt: skip


def _rows(runtime: Runtime, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    with runtime.db.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql), params)]


def _counts(runtime: Runtime) -> dict[str, int]:
    return {t: _rows(runtime, f"SELECT count(*) FROM {t}")[0][0] for t in TABLES}  # noqa: S608


def _refused(runner: CliRunner, runtime: Runtime, cases: list[tuple[list[str], str]]) -> None:
    before = _counts(runtime)
    for args, words in cases:
        r = runner.invoke(cli, args)
        assert r.exit_code == 2 and words in r.output, (args, r.output)
        assert "Traceback" not in r.output
    assert _counts(runtime) == before


def test_calling_hours_from_the_cli(
    client: TestClient, runtime: Runtime, tenant: Tenant, other_tenant: Tenant,
    cli_env: CliRunner,  # noqa: F811
) -> None:  # fmt: skip
    made = onboard(client, tenant, "acme")
    onboard(client, other_tenant, "theirs")
    base = ["clients", "hours", "set", "--bpo", tenant.slug, "--client", "acme"]
    r = cli_env.invoke(cli, [*base, "--start", "10:00", "--end", "18:00", "--note", "memo 12"])
    assert r.exit_code == 0, r.output
    assert _rows(
        runtime, "SELECT calling_start, calling_end, note FROM consent_contact_overrides "
        "WHERE organization_id = :o", o=made["id"],
    ) == [("10:00", "18:00", "memo 12")]  # fmt: skip
    api = client.get(f"/v1/clients/{made['id']}/overrides", headers=tenant.headers()).json()
    assert api["calling_hours"] == {"start": "10:00", "end": "18:00"}
    r = cli_env.invoke(cli, ["clients", "hours", "show", "--bpo", tenant.slug, "--client", "acme"])
    assert "10:00-18:00" in r.output and "memo 12" in r.output
    _refused(cli_env, runtime, [
        ([*base, "--start", "07:00", "--end", "18:00"], "only be stricter than the law"),
        ([*base, "--start", "10:00", "--end", "09:00"], "must be after the start"),
        ([*base, "--start", "10h", "--end", "18:00"], "HH:MM"),
        ([*base, "--start", "10:00", "--end", "18:00", "--note", "x" * 501], "longer than 500"),
        ([*base[:-1], "nope", "--start", "10:00", "--end", "18:00"], "no client with slug"),
        # Another BPO's client is not one of this BPO's (it looks unknown).
        ([*base[:-1], "theirs", "--start", "10:00", "--end", "18:00"], "no client with slug"),
        (["clients", "hours", "clear", "--bpo", "no-bpo", "--client", "acme"], "no organization"),
    ])  # fmt: skip
    r = cli_env.invoke(cli, ["clients", "hours", "clear", "--bpo", tenant.slug, "--client", "acme"])
    assert r.exit_code == 0 and "cleared" in r.output
    assert _rows(runtime, "SELECT count(*) FROM consent_contact_overrides")[0][0] == 0


def test_subprocessors_from_the_cli(
    client: TestClient,
    runtime: Runtime,
    tenant: Tenant,
    cli_env: CliRunner,  # noqa: F811
) -> None:
    made = onboard(client, tenant, "acme")
    add = ["clients", "subprocessors", "add", "--bpo", tenant.slug, "--client", "acme",
           "--name", "Dialer Co", "--purpose", "Outbound dialing", "--location", "United States",
           "--category", "user.contact.phone_number"]  # fmt: skip
    notices = _rows(runtime, "SELECT count(*) FROM outbox WHERE organization_id = :o", o=made["id"])
    r = cli_env.invoke(cli, [*add, "--objection-days", "14"])
    assert r.exit_code == 0, r.output
    found = _rows(
        runtime, "SELECT id, name, location, removed_at FROM subprocessors "
        "WHERE organization_id = :o", o=made["id"],
    )  # fmt: skip
    assert [row[1:] for row in found] == [("Dialer Co", "United States", None)]
    assert (
        _rows(runtime, "SELECT count(*) FROM outbox WHERE organization_id = :o", o=made["id"])[0][0]
        == notices[0][0] + 1
    )  # the change notice to the privacy contact
    listed = cli_env.invoke(cli, ["clients", "subprocessors", "list", "--bpo", tenant.slug,
                                  "--client", "acme"])  # fmt: skip
    assert listed.output.startswith(f"{found[0][0]}\tDialer Co\tUnited States\t")
    _refused(cli_env, runtime, [
        ([*add[:8], "x" * 201, *add[9:]], "name is longer than 200"),
        ([*add[:10], "   ", *add[11:]], "purpose is empty"),
        ([*add, "--objection-days", "400"], "between 0 and 365"),
        ([*add[:6], "nope", *add[7:]], "no client with slug"),
        (["clients", "subprocessors", "remove", "--bpo", tenant.slug, "--client", "acme",
          "--id", "999999"], "no current sub-processor with id 999999"),
    ])  # fmt: skip
    r = cli_env.invoke(cli, ["clients", "subprocessors", "remove", "--bpo", tenant.slug,
                             "--client", "acme", "--id", str(found[0][0])])  # fmt: skip
    assert r.exit_code == 0, r.output
    api = client.get(f"/v1/clients/{made['id']}/subprocessors", headers=tenant.headers()).json()
    assert api["items"] == []


def test_shared_numbers_from_the_cli(
    client: TestClient, runtime: Runtime, tenant: Tenant, other_tenant: Tenant,
    cli_env: CliRunner,  # noqa: F811
) -> None:  # fmt: skip
    onboard(client, tenant, "acme")
    onboard(client, tenant, "globex")
    onboard(client, other_tenant, "theirs")
    base = ["clients", "sms-numbers", "set", "--bpo", tenant.slug]
    r = cli_env.invoke(cli, [*base, "--number", "+1 212 555 0190", "--client", "acme",
                             "--client", "globex", "--routing", "all"])  # fmt: skip
    assert r.exit_code == 0, r.output
    assert _rows(runtime, "SELECT number, routing FROM bpo_shared_numbers") == [
        ("+12125550190", "all")
    ]
    api = client.get("/v1/sms-numbers", headers=tenant.headers()).json()["items"]
    assert api == [{"number": "+12125550190", "routing": "all", "clients": ["acme", "globex"]}]
    r = cli_env.invoke(cli, ["clients", "sms-numbers", "list", "--bpo", tenant.slug])
    assert r.output == "+12125550190\tall\tacme,globex\n"
    theirs = ["clients", "sms-numbers", "set", "--bpo", other_tenant.slug, "--client", "theirs"]
    _refused(cli_env, runtime, [
        ([*base, "--number", "not a number", "--client", "acme"], "must be a phone number"),
        ([*base, "--number", "12345", "--client", "acme", "--routing", "first"],
         "routing must be last_sender or all"),
        ([*base, "--number", "12345", "--client", "theirs"], "no client with slug 'theirs'"),
        ([*theirs, "--number", "+12125550190"], "registered by another organization"),
    ])  # fmt: skip
