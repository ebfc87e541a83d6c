"""Reminders, denial of requests still unverified on their due day, the CA 7102 report and the
24-month purge of request records."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from typer.testing import CliRunner

from honorbound.accounts.roles import Role
from honorbound.cli import app as cli
from honorbound.config import Settings
from honorbound.rights.context import Services
from honorbound.rights.models import RequestEvent, RightsRequest
from honorbound.rights.sweep import purge_records, sweep
from honorbound.runtime import Runtime
from tests.conftest import Tenant
from tests.rights.conftest import body, link_in, mails_to, public, seed, somebody
from tests.support.smtp import SmtpSink


def _by_type(rt: Runtime, org: Tenant, request_type: str) -> RightsRequest:
    with rt.db.session() as session:
        row = session.scalar(
            select(RightsRequest).where(
                RightsRequest.organization_id == org.id, RightsRequest.type == request_type
            )
        )
    assert row is not None
    return row


def test_reminders_then_due_day_decisions(
    api: TestClient, rt: Runtime, org: Tenant, smtp: SmtpSink, svc: Services
) -> None:
    known = seed(rt, org.id).person
    stranger = somebody()
    api.post(
        public(org), json={"type": "access_specific", "jurisdiction": "CA", "email": known.email}
    )
    api.post(public(org), json={"type": "delete", "jurisdiction": "CA", "email": stranger.email})
    # The known person proves two data points: enough for categories, not for specific pieces.
    token = link_in(mails_to(smtp, known.email)[0], "verify")
    partial = api.post(
        public(org, "/verify"), json={"token": token, "data_points": {"phone": known.phone}}
    )
    assert partial.json()["verified"] is False and partial.json()["matched"] == 2
    specific = _by_type(rt, org, "access_specific")
    start = specific.received_at

    with rt.db.session() as session:
        assert sweep(session, svc, org.id, now=start + dt.timedelta(days=10)).reminders == 0
    with rt.db.session() as session:
        assert sweep(session, svc, org.id, now=start + dt.timedelta(days=23)).reminders == 2
    with rt.db.session() as session:  # nothing new at the same level
        assert sweep(session, svc, org.id, now=start + dt.timedelta(days=24)).reminders == 0
    with rt.db.session() as session:
        assert sweep(session, svc, org.id, now=start + dt.timedelta(days=37)).reminders == 2
    staff = mails_to(smtp, "info@contact-center1.com", 4)
    assert any("has used 80% of its time" in m["Subject"] for m in staff)

    # Half an hour before the deadline, on the due day (the sweep compares UTC dates): a
    # request received in the first half hour of a UTC day would put that half hour on the
    # day before, so the moment is kept on the due day's date.
    due_day = (start + dt.timedelta(days=45)).replace(hour=0, minute=0, second=0, microsecond=0)
    before_deadline = max(start + dt.timedelta(days=45, minutes=-30), due_day)
    with rt.db.session() as session:
        result = sweep(session, svc, org.id, now=before_deadline)
    assert (result.downgraded, result.denied_unverified) == (1, 1)
    # 11 CCR 7024: answered as a request for categories, download link sent.
    answered = _by_type(rt, org, "access_categories")
    assert answered.id == specific.id and answered.status == "completed"
    assert link_in(mails_to(smtp, known.email, 2)[1], "download")
    # 7021(b): the unverifiable deletion is denied with notice.
    denied = _by_type(rt, org, "delete")
    assert (denied.status, denied.denial_basis) == ("denied", "unverifiable")
    assert "could not verify your identity" in body(mails_to(smtp, stranger.email, 2)[1])
    with rt.db.session() as session:
        kinds = list(
            session.scalars(
                select(RequestEvent.kind)
                .where(RequestEvent.request_id == denied.id)
                .order_by(RequestEvent.id)
            )
        )
    assert kinds == ["received", "reminder", "reminder", "reminder", "denied"]


@pytest.fixture
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    for name in ("database_url", "keystore_url", "master_key", "data_dir", "base_url"):
        monkeypatch.setenv(f"HONORBOUND_{name.upper()}", str(getattr(settings, name)))
    return CliRunner()


def test_rights_metrics_report(
    api: TestClient, rt: Runtime, org: Tenant, smtp: SmtpSink, cli_env: CliRunner
) -> None:
    outcomes = [
        ("delete", 10, "complied", None),
        ("delete", 20, "complied", None),
        ("delete", 30, "denied", "unverifiable"),
        ("access_specific", 4, "complied_in_part", None),
        ("access_categories", 8, "denied", "not_a_consumer"),
        ("opt_out_sale", 1, "complied", None),
        ("correct", 0, None, None),  # still open
    ]
    received = dt.datetime(2025, 3, 2, 9, 0, tzinfo=dt.UTC)
    for request_type, days, response, basis in outcomes:
        p = somebody()
        created = api.post(
            "/v1/requests",
            json={
                "type": request_type,
                "jurisdiction": "CA",
                "email": p.email,
                "manner": "email",
                "received_at": received.isoformat(),
                **(
                    {"corrections": [{"category": "user.contact", "value": "x"}]}
                    if request_type == "correct"
                    else {}
                ),
            },
            headers=org.headers(Role.AGENT),
        )
        assert created.status_code == 201, created.text
        with rt.db.session() as session:
            session.execute(
                update(RightsRequest)
                .where(RightsRequest.id == created.json()["id"])
                .values(
                    response=response,
                    denial_basis=basis,
                    closed_at=received + dt.timedelta(days=days) if response else None,
                    status={"denied": "denied", None: "verifying"}.get(response, "completed"),
                )
            )
    # A request of another year is not counted.
    api.post(public(org), json={"type": "delete", "jurisdiction": "CA", "email": somebody().email})

    result = cli_env.invoke(cli, ["report", "rights-metrics", "--year", "2025"])
    assert result.exit_code == 0, result.output
    rows = {r["request_type"]: r for r in csv.DictReader(io.StringIO(result.output))}
    assert list(rows) == ["delete", "correct", "know", "opt_out", "limit"]
    assert rows["delete"]["received"] == "3"
    assert rows["delete"]["complied_in_whole_or_part"] == "2"
    assert rows["delete"]["denied"] == "1" and rows["delete"]["denied_unverifiable"] == "1"
    assert rows["delete"]["median_days"] == "20.0" and rows["delete"]["mean_days"] == "20.0"
    assert rows["know"]["received"] == "2" and rows["know"]["denied_not_a_consumer"] == "1"
    assert rows["know"]["mean_days"] == "6.0"
    assert rows["correct"]["received"] == "1" and rows["correct"]["median_days"] == ""
    assert rows["limit"]["received"] == "0"

    html = cli_env.invoke(cli, ["report", "rights-metrics", "--year", "2025", "--format", "html"])
    assert (
        html.exit_code == 0
        and "<table>" in html.output
        and "complied in whole or part" in html.output
    )
    api_rows = api.get(
        "/v1/requests/metrics", params={"year": 2025}, headers=org.headers(Role.AUDITOR)
    ).json()
    assert api_rows[0]["request_type"] == "delete" and api_rows[0]["received"] == 3

    bad = cli_env.invoke(cli, ["report", "rights-metrics", "--year", "1999"])
    assert bad.exit_code == 2 and "--year 1999" in bad.output
    unknown = cli_env.invoke(cli, ["report", "rights-metrics", "--year", "2025", "--org", "nobody"])
    assert unknown.exit_code == 2


def test_records_are_purged_after_their_24_months(
    api: TestClient, rt: Runtime, org: Tenant, smtp: SmtpSink
) -> None:
    p = somebody()
    api.post(public(org), json={"type": "opt_out_sharing", "jurisdiction": "CA", "email": p.email})
    api.post(public(org), json={"type": "delete", "jurisdiction": "CA", "email": p.email})
    closed = _by_type(rt, org, "opt_out_sharing")
    assert closed.retain_until.date() == closed.received_at.date().replace(
        year=closed.received_at.year + 2
    )
    with rt.db.session() as session:
        assert purge_records(session, now=closed.retain_until - dt.timedelta(days=1)) == 0
    with rt.db.session() as session:
        # Only closed requests go; the open deletion stays whatever its age.
        assert purge_records(session, now=closed.retain_until + dt.timedelta(days=1)) == 1
    with rt.db.session() as session:
        left = list(session.scalars(select(RightsRequest.type)))
        assert left == ["delete"]
        assert (
            session.scalar(
                select(func.count())
                .select_from(RequestEvent)
                .where(RequestEvent.request_id == closed.id)
            )
            == 0
        )


def test_sweep_and_purge_run_as_durable_jobs(
    api: TestClient, rt: Runtime, org: Tenant, smtp: SmtpSink
) -> None:
    from honorbound.jobs.models import Job

    assert {"rights.sweep", "rights.purge_records"} <= {p.name for p in rt.registry.periodic}
    api.post(public(org), json={"type": "delete", "jurisdiction": "CA", "email": somebody().email})
    with rt.db.session() as session:
        for request in session.scalars(select(RightsRequest)):
            request.received_at -= dt.timedelta(days=30)
            request.due_at -= dt.timedelta(days=30)
    with rt.db.session() as session:
        rt.jobs.enqueue(session, "rights.sweep")
        rt.jobs.enqueue(session, "rights.purge_records")
    with rt.db.session() as session:
        jobs = {j.name: j for j in session.scalars(select(Job).where(Job.name.like("rights.%")))}
    assert jobs["rights.sweep"].status == "done"
    assert jobs["rights.sweep"].result == {
        "reminders": 1,
        "denied_unverified": 0,
        "handled_as_categories": 0,
    }
    assert jobs["rights.purge_records"].result == {"purged": 0}
