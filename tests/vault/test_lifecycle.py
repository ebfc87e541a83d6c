"""Subject lifecycle dates (account closure, engagement end): the domain function and the API
route `POST /v1/subjects/{id}/lifecycle`, on a real database."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from honorbound.accounts.roles import Role
from honorbound.audit import Actor
from honorbound.audit.models import AuditEntry
from honorbound.db.base import utcnow
from honorbound.runtime import Runtime
from honorbound.vault.models import Subject, SubjectStatus
from honorbound.vault.subjects import (
    InvalidLifecycleDate,
    SubjectNotFound,
    record_lifecycle,
)
from tests.conftest import Tenant
from tests.support.people import person

ADMIN = Actor("user:1", "admin")


def _subject(client: TestClient, tenant: Tenant) -> int:
    who = person()
    response = client.post(
        "/v1/subjects",
        json={"type": "user", "identities": [{"kind": "email", "value": who.email}]},
        headers=tenant.headers(Role.AGENT),
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def _backdate(runtime: Runtime, subject_id: int, days: int) -> dt.datetime:
    with runtime.db.session() as session:
        subject = session.get(Subject, subject_id)
        assert subject is not None
        subject.created_at = utcnow() - dt.timedelta(days=days)
        return subject.created_at


def _dates(runtime: Runtime, subject_id: int) -> tuple[Any, Any]:
    with runtime.db.session() as session:
        subject = session.get(Subject, subject_id)
        assert subject is not None
        return subject.account_closed_at, subject.engagement_ended_at


def _problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    data: dict[str, Any] = response.json()
    return data


def test_api_records_changes_and_clears_lifecycle_dates(
    client: TestClient, runtime: Runtime, tenant: Tenant, adopted_policy: object
) -> None:
    sid = _subject(client, tenant)
    _backdate(runtime, sid, 400)
    closed = (utcnow() - dt.timedelta(days=10)).replace(microsecond=0)
    ended = (utcnow() - dt.timedelta(days=20)).replace(microsecond=0)
    url = f"/v1/subjects/{sid}/lifecycle"
    # An offset other than UTC is accepted and stored as the same instant.
    eastern = closed.astimezone(dt.timezone(dt.timedelta(hours=-5))).isoformat()
    response = client.post(
        url, json={"account_closed_at": eastern}, headers=tenant.headers(Role.AGENT)
    )
    assert response.status_code == 200, response.text
    assert response.json()["subject_id"] == sid
    assert dt.datetime.fromisoformat(response.json()["account_closed_at"]) == closed
    assert response.json()["engagement_ended_at"] is None
    assert _dates(runtime, sid) == (closed, None)

    # A field left out is unchanged; the other is set.
    response = client.post(
        url, json={"engagement_ended_at": ended.isoformat()}, headers=tenant.headers(Role.CLIENT)
    )
    assert response.status_code == 200, response.text
    assert _dates(runtime, sid) == (closed, ended)

    # null clears (an account reopened).
    response = client.post(
        url, json={"account_closed_at": None}, headers=tenant.headers(Role.ADMIN)
    )
    assert response.status_code == 200, response.text
    assert _dates(runtime, sid) == (None, ended)
    view = client.get(f"/v1/subjects/{sid}", headers=tenant.headers(Role.AGENT)).json()
    assert view["account_closed_at"] is None
    assert dt.datetime.fromisoformat(view["engagement_ended_at"]) == ended

    with runtime.db.session() as session:
        entries = list(
            session.scalars(
                select(AuditEntry)
                .where(AuditEntry.action == "subject.lifecycle_recorded")
                .order_by(AuditEntry.id)
            )
        )
        details = [e.details for e in entries]
    assert details == [
        {"set": ["account_closed_at"], "cleared": []},
        {"set": ["engagement_ended_at"], "cleared": []},
        {"set": [], "cleared": ["account_closed_at"]},
    ]
    # No dates (personal data about the subject) in the audit trail.
    assert closed.date().isoformat() not in str(details)


def test_api_bad_input_is_refused_and_writes_nothing(
    client: TestClient, runtime: Runtime, tenant: Tenant, adopted_policy: object
) -> None:
    sid = _subject(client, tenant)
    created = _backdate(runtime, sid, 30)
    url = f"/v1/subjects/{sid}/lifecycle"
    agent = tenant.headers(Role.AGENT)
    future = (utcnow() + dt.timedelta(days=1)).isoformat()
    before = (created - dt.timedelta(days=1)).isoformat()
    fine = (utcnow() - dt.timedelta(days=1)).isoformat()

    cases: list[tuple[dict[str, Any], str]] = [
        ({"account_closed_at": future}, "body.account_closed_at"),
        ({"account_closed_at": before}, "body.account_closed_at"),
        ({"account_closed_at": fine, "engagement_ended_at": future}, "body.engagement_ended_at"),
        ({"engagement_ended_at": before}, "body.engagement_ended_at"),
        ({}, "body"),
    ]
    for body, field in cases:
        problem = _problem(client.post(url, json=body, headers=agent), 422)
        assert problem["errors"][0]["field"] == field, problem
    future_problem = _problem(
        client.post(url, json={"account_closed_at": future}, headers=agent), 422
    )
    assert "future" in future_problem["detail"]
    before_problem = _problem(
        client.post(url, json={"account_closed_at": before}, headers=agent), 422
    )
    assert "before the subject was created" in before_problem["detail"]

    # Pydantic: no time zone, not a date, an unknown field.
    for body in (
        {"account_closed_at": "2026-01-01T00:00:00"},
        {"account_closed_at": "yesterday"},
        {"account_closed_at": fine, "reopened": True},
    ):
        assert client.post(url, json=body, headers=agent).status_code == 422
    assert _dates(runtime, sid) == (None, None)

    # A role that may not collect data; no key; an unknown subject.
    assert (
        client.post(
            url, json={"account_closed_at": fine}, headers=tenant.headers(Role.AUDITOR)
        ).status_code
        == 403
    )
    assert client.post(url, json={"account_closed_at": fine}).status_code == 401
    _problem(
        client.post(
            "/v1/subjects/999999/lifecycle", json={"account_closed_at": fine}, headers=agent
        ),
        404,
    )
    assert _dates(runtime, sid) == (None, None)


def test_another_organization_gets_404(
    client: TestClient,
    runtime: Runtime,
    tenant: Tenant,
    other_tenant: Tenant,
    adopted_policy: object,
) -> None:
    sid = _subject(client, tenant)
    _backdate(runtime, sid, 30)
    fine = (utcnow() - dt.timedelta(days=1)).isoformat()
    response = client.post(
        f"/v1/subjects/{sid}/lifecycle",
        json={"account_closed_at": fine},
        headers=other_tenant.headers(Role.ADMIN),
    )
    _problem(response, 404)
    assert _dates(runtime, sid) == (None, None)


def test_domain_refuses_naive_unknown_and_erased(
    client: TestClient, runtime: Runtime, tenant: Tenant, adopted_policy: object
) -> None:
    sid = _subject(client, tenant)
    _backdate(runtime, sid, 30)
    org = tenant.id
    with runtime.db.session() as session:
        with pytest.raises(InvalidLifecycleDate) as caught:
            record_lifecycle(
                session, org, sid, {"account_closed_at": dt.datetime(2026, 11, 1)}, ADMIN
            )
        assert caught.value.field == "account_closed_at" and "time zone" in caught.value.message
        with pytest.raises(InvalidLifecycleDate) as caught:
            record_lifecycle(session, org, sid, {"closed": utcnow()}, ADMIN)
        assert caught.value.field == "closed"
        with pytest.raises(SubjectNotFound):
            record_lifecycle(session, org + 1000, sid, {"account_closed_at": utcnow()}, ADMIN)
        subject = session.get(Subject, sid)
        assert subject is not None
        subject.status = SubjectStatus.ERASED.value
        session.flush()
        with pytest.raises(SubjectNotFound):
            record_lifecycle(session, org, sid, {"account_closed_at": utcnow()}, ADMIN)
        session.rollback()
    assert _dates(runtime, sid) == (None, None)
