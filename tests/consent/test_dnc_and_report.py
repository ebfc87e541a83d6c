"""Do-not-call lists (API and CLI), registry age, the scrub command and the revocation report."""

from __future__ import annotations

import csv
import datetime as dt
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from typer.testing import CliRunner

from honorbound.accounts.roles import Role
from honorbound.cli import app as cli
from honorbound.config import Settings
from honorbound.consent import report
from honorbound.consent.models import CompanyDnc, ConsentEvent, NationalDncNumber
from honorbound.runtime import Runtime
from tests.conftest import Tenant
from tests.consent.conftest import decide, number, reasons, record
from tests.support.people import person

NOON_NY = dt.datetime(2026, 11, 18, 17, 0, tzinfo=dt.UTC)
TODAY = dt.datetime.now(dt.UTC).date()


def _import(
    client: TestClient, tenant: Tenant, text: str, registry_date: dt.date, mode: str = "full"
) -> tuple[int, dict]:  # type: ignore[type-arg]
    response = client.post(
        f"/v1/dnc/national?registry_date={registry_date.isoformat()}&mode={mode}"
        "&confirm_removal=true",  # replacing the registry here is the point (see test_dnc_guard)
        content=text.encode(),
        headers={**tenant.headers(Role.ADMIN), "Content-Type": "text/plain"},
    )
    return response.status_code, response.json()


def _national_rows(runtime: Runtime) -> int:
    with runtime.db.session() as session:
        return int(session.scalar(select(func.count()).select_from(NationalDncNumber)) or 0)


def test_national_import_blocks_listed_numbers(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    listed, free = number("212", 50), number("212", 51)
    status, body = _import(
        client, tenant, f"{listed[2:5]},{listed[5:]}\n\n# comment\n2025550143\n", TODAY
    )
    assert status == 201 and body["numbers"] == 2 and body["warnings"] == []
    result = decide(runtime, tenant.id, [listed, free], "marketing", "voice", NOON_NY)
    assert reasons(result) == [("national_dnc",), ()]
    assert result.warnings == []
    # Not for service calls, and express permission for this purpose overrides the registry.
    assert decide(runtime, tenant.id, [listed], "service_messages", "voice", NOON_NY).allowed[0]
    record(runtime, tenant.id, listed, "marketing", "voice", action="opt_in")
    assert decide(runtime, tenant.id, [listed], "marketing", "voice", NOON_NY).allowed[0]
    # A change file removes it; a full file replaces everything.
    assert _import(client, tenant, f"{free[2:]}\n", TODAY, "add")[0] == 201
    assert reasons(decide(runtime, tenant.id, [free], "marketing", "voice", NOON_NY)) == [
        ("national_dnc",)
    ]
    assert _import(client, tenant, f"{free[2:]}\n", TODAY, "delete")[0] == 201
    assert decide(runtime, tenant.id, [free], "marketing", "voice", NOON_NY).allowed[0]
    assert _import(client, tenant, "2025550143\n", TODAY)[0] == 201
    assert _national_rows(runtime) == 1


def test_bad_lines_are_reported_by_number_and_nothing_is_imported(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    text = "2125550100\n212555010\nabc\n2125550101\n0125550100\n"
    status, body = _import(client, tenant, text, TODAY)
    assert status == 422
    assert [e["field"] for e in body["errors"]] == ["line 2", "line 3", "line 5"]
    assert "found 9" in body["errors"][0]["message"]
    assert _national_rows(runtime) == 0
    status, body = client.get("/v1/dnc/national", headers=tenant.headers()).status_code, None
    assert status == 200
    future = _import(client, tenant, "2125550100\n", TODAY + dt.timedelta(days=2))
    assert future[0] == 422 and future[1]["errors"][0]["field"] == "registry_date"


def test_registry_older_than_31_days_warns(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    fresh = decide(runtime, tenant.id, [number("212", 52)], "marketing", "voice", NOON_NY)
    assert fresh.warnings == ["national_dnc_registry_missing"]
    status, body = _import(client, tenant, "2125550100\n", TODAY - dt.timedelta(days=32))
    assert status == 201 and "32 days old" in body["warnings"][0]
    stale = decide(runtime, tenant.id, [number("212", 52)], "marketing", "voice", NOON_NY)
    assert stale.warnings == ["national_dnc_registry_stale"]
    assert (
        "32 days old"
        in client.get("/v1/dnc/national", headers=tenant.headers()).json()["warnings"][0]
    )
    status, body = _import(client, tenant, "2125550100\n", TODAY - dt.timedelta(days=31))
    assert body["warnings"] == []
    assert (
        decide(runtime, tenant.id, [number("212", 52)], "marketing", "voice", NOON_NY).warnings
        == []
    )


def test_company_dnc_blocks_for_five_years(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    phone = number("415", 53)
    decide(runtime, tenant.id, [phone], "marketing", "voice", NOON_NY)  # snapshot first
    response = client.post(
        "/v1/dnc/company",
        json={"identity": phone, "source": "agent_verbal"},
        headers=tenant.headers(Role.AGENT),
    )
    assert response.status_code == 201
    expires = dt.datetime.fromisoformat(response.json()["expires_at"])
    assert expires.year == dt.datetime.now(dt.UTC).year + 5
    assert reasons(decide(runtime, tenant.id, [phone], "marketing", "voice", NOON_NY)) == [
        ("company_dnc",)
    ]
    after = expires + dt.timedelta(days=1)
    late = decide(runtime, tenant.id, [phone], "marketing", "voice", after.replace(hour=18))
    assert "company_dnc" not in late.reasons_of(0)
    bad = client.post(
        "/v1/dnc/company", json={"identity": phone, "source": "gossip"}, headers=tenant.headers()
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "source"


def test_business_days_skip_weekends_and_federal_holidays() -> None:
    # Friday 2026-11-20 -> Monday 2026-12-07: Thanksgiving (Thursday 26th) is not counted.
    assert report.business_days_between(dt.date(2026, 11, 20), dt.date(2026, 12, 7)) == 10
    assert report.add_business_days(dt.date(2026, 11, 20), 10) == dt.date(2026, 12, 7)
    assert report.business_days_between(dt.date(2026, 12, 31), dt.date(2027, 1, 4)) == 1
    assert not report.is_business_day(dt.date(2026, 7, 3))  # Independence Day observed


def _set_times(
    runtime: Runtime, event_id: int, occurred: dt.datetime, recorded: dt.datetime
) -> None:
    # Simulate a request written down late (e.g. a letter typed in weeks after it came).
    with runtime.db.session() as session:
        session.execute(
            update(ConsentEvent)
            .where(ConsentEvent.id == event_id)
            .values(occurred_at=occurred, recorded_at=recorded)
        )


def test_revocation_report_uses_federal_holidays(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    fri = dt.datetime(2026, 11, 20, 15, 0, tzinfo=dt.UTC)
    on_time = record(runtime, tenant.id, person().email, "marketing", "email")
    late = record(runtime, tenant.id, person().email, "marketing", "email")
    _set_times(runtime, on_time, fri, dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC))
    _set_times(runtime, late, fri, dt.datetime(2026, 12, 8, 9, 0, tzinfo=dt.UTC))
    response = client.get(
        "/v1/consent/revocation-report?since=2026-11-01&until=2026-11-30",
        headers=tenant.headers(Role.AUDITOR),
    )
    assert response.status_code == 200
    body = response.json()
    assert body["rule_business_days"] == 10 and body["total"] == 2 and body["late"] == 1
    by_id = {line["id"]: line for line in body["lines"]}
    assert by_id[on_time]["business_days"] == 10 and by_id[on_time]["honored"] is True
    assert by_id[late]["business_days"] == 11 and by_id[late]["honored"] is False
    assert by_id[late]["due_on"] == "2026-12-07"
    bad = client.get(
        "/v1/consent/revocation-report?since=2026-12-01&until=2026-11-01", headers=tenant.headers()
    )
    assert bad.status_code == 422
    assert (
        client.get(
            "/v1/consent/revocation-report?since=2026-11-01&until=2026-11-30",
            headers=tenant.headers(Role.AGENT),
        ).status_code
        == 403
    )


# -- command line ------------------------------------------------------------------------------


@pytest.fixture
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    for name in ("database_url", "keystore_url", "master_key", "data_dir", "base_url"):
        monkeypatch.setenv(f"HONORBOUND_{name.upper()}", str(getattr(settings, name)))
    return CliRunner()


def test_cli_dnc_import_reports_bad_lines(
    cli_env: CliRunner, tmp_path: Path, runtime: Runtime, tenant: Tenant
) -> None:
    bad = tmp_path / "registry.txt"
    bad.write_text("2125550100\n21255501\n2125550101\nx\n")
    result = cli_env.invoke(
        cli, ["dnc", "import", str(bad), "--org", tenant.slug, "--registry-date", TODAY.isoformat()]
    )
    assert result.exit_code == 2
    assert "registry.txt:2:" in result.output and "registry.txt:4:" in result.output
    assert _national_rows(runtime) == 0
    good = tmp_path / "good.txt"
    good.write_text("2125550100\n212,5550101\n")
    result = cli_env.invoke(
        cli,
        [
            "dnc",
            "import",
            str(good),
            "--org",
            tenant.slug,
            "--registry-date",
            (TODAY - dt.timedelta(days=40)).isoformat(),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "imported 2 numbers" in result.output and "40 days old" in result.output
    assert _national_rows(runtime) == 2


def test_cli_scrub_splits_a_list(
    cli_env: CliRunner, tmp_path: Path, runtime: Runtime, tenant: Tenant
) -> None:
    people = [number("212", 60 + i) for i in range(4)]
    record(runtime, tenant.id, people[1], "marketing", "voice")
    with runtime.db.session() as session:
        from honorbound.audit import Actor
        from honorbound.consent import dnc, rules
        from honorbound.consent.identity import identify

        dnc.add_company_request(
            session,
            tenant.id,
            identify(runtime.keys, tenant.id, people[2]),
            rules.load(),
            Actor("t", "agent"),
        )
    source = tmp_path / "campaign.csv"
    with source.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["phone", "first_name"])
        for i, phone in enumerate(people):
            writer.writerow([phone, f"P{i}"])
        writer.writerow(["12", "P4"])
    result = cli_env.invoke(
        cli, ["scrub", str(source), "--org", tenant.slug, "--at", "2026-11-18T12:00:00-05:00"]
    )
    assert result.exit_code == 0, result.output
    assert "allowed=2 blocked=3" in result.output
    allowed = list(csv.DictReader((tmp_path / "campaign.allowed.csv").open()))
    blocked = list(csv.DictReader((tmp_path / "campaign.blocked.csv").open()))
    assert [r["first_name"] for r in allowed] == ["P0", "P3"]
    assert [(r["first_name"], r["reasons"]) for r in blocked] == [
        ("P1", "opted_out"),
        ("P2", "company_dnc"),
        ("P4", "invalid_item"),
    ]
    assert blocked[2]["errors"].startswith("line 6: identity:")
    no_column = tmp_path / "x.csv"
    no_column.write_text("name\nA\n")
    result = cli_env.invoke(cli, ["scrub", str(no_column), "--org", tenant.slug])
    assert result.exit_code == 2 and "x.csv:1:" in result.output


def test_cli_report_exits_1_when_late(cli_env: CliRunner, runtime: Runtime, tenant: Tenant) -> None:
    fri = dt.datetime(2026, 11, 20, 15, 0, tzinfo=dt.UTC)
    event = record(runtime, tenant.id, person().email, "all", "sms")
    _set_times(runtime, event, fri, dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC))
    args = [
        "consent",
        "report",
        "--org",
        tenant.slug,
        "--since",
        "2026-11-01",
        "--until",
        "2026-11-30",
    ]
    result = cli_env.invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert ",10,yes" in result.output and "0 late" in result.output
    _set_times(runtime, event, fri, dt.datetime(2026, 12, 8, 9, 0, tzinfo=dt.UTC))
    result = cli_env.invoke(cli, args)
    assert result.exit_code == 1 and ",11,NO" in result.output
    with runtime.db.session() as session:
        assert session.scalar(select(func.count()).select_from(CompanyDnc)) == 0


def test_hourly_rebuild_keeps_the_registry_array_until_a_new_import(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    from honorbound.consent import service
    from honorbound.consent.decisions import MAX_SNAPSHOT_AGE

    listed = number("212", 54)
    assert _import(client, tenant, f"{listed[2:]}\n", TODAY)[0] == 201
    engine = service.engine(runtime.keys)
    decide(runtime, tenant.id, [listed], "marketing", "voice", NOON_NY)
    first = engine._snapshots[tenant.id]
    first.built_at -= MAX_SNAPSHOT_AGE + dt.timedelta(minutes=1)  # an hour later
    who = person().email
    record(runtime, tenant.id, who, "marketing", "email")
    assert reasons(decide(runtime, tenant.id, [listed], "marketing", "voice", NOON_NY)) == [
        ("national_dnc",)
    ]
    # Rebuilt in the background (issue 22), the request answered from the old one meanwhile.
    deadline = time.monotonic() + 30
    while engine._snapshots[tenant.id] is first and time.monotonic() < deadline:
        time.sleep(0.01)
    second = engine._snapshots[tenant.id]
    assert second is not first and second.national is first.national
    assert not decide(runtime, tenant.id, [who], "marketing", "email").allowed[0]
    # A new import replaces it.
    assert _import(client, tenant, "2025550143\n", TODAY)[0] == 201
    assert decide(runtime, tenant.id, [listed], "marketing", "voice", NOON_NY).allowed[0]
    assert engine._snapshots[tenant.id].national is not first.national


def test_call_attempts_api_feeds_the_cap(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    phone = number("305", 55)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    for hours in (5, 3, 1):
        response = client.post(
            "/v1/consent/call-attempts",
            json={"identity": phone, "purpose": "marketing",
                  "called_at": (now - dt.timedelta(hours=hours)).isoformat()},
            headers=tenant.headers(Role.AGENT),
        )  # fmt: skip
        assert response.status_code == 201, response.text
    assert "call_cap_reached" in decide(
        runtime, tenant.id, [phone], "marketing", "voice", now
    ).reasons_of(0)
    for body, field in (
        ({"identity": phone, "purpose": "gossip"}, "purpose"),
        (
            {"identity": phone, "purpose": "marketing", "called_at": "2999-01-01T00:00:00Z"},
            "called_at",
        ),
        ({"identity": "nope", "purpose": "marketing"}, "identity"),
    ):
        response = client.post("/v1/consent/call-attempts", json=body, headers=tenant.headers())
        assert response.status_code == 422 and response.json()["errors"][0]["field"] == field


def test_cli_prints_the_sms_webhook_secret(
    cli_env: CliRunner, runtime: Runtime, tenant: Tenant
) -> None:
    from honorbound.consent import sms

    result = cli_env.invoke(cli, ["consent", "sms-secret", "--org", tenant.slug])
    assert result.exit_code == 0, result.output
    assert sms.webhook_secret(runtime.keys, tenant.id).decode() in result.output
    assert f"/v1/public/sms/{tenant.slug}" in result.output
    assert cli_env.invoke(cli, ["consent", "sms-secret", "--org", "nobody"]).exit_code == 2
