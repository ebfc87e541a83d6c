"""Logs never contain raw personal data. (The whole run's log is also grepped at session end
for every value tests.support.people handed out; see tests/conftest.py.)"""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient

from honorbound.notify.models import Channel
from honorbound.notify.outbox import put
from honorbound.runtime import Runtime
from tests.conftest import Tenant
from tests.support.people import person


def test_request_and_error_logs_hold_no_values(
    client: TestClient, runtime: Runtime, tenant: Tenant, caplog: pytest.LogCaptureFixture
) -> None:
    someone = person()
    caplog.set_level(logging.DEBUG)
    # A value in the query string, in a path, in a bad body and in an outbox message.
    client.get(f"/v1/outbox?email={someone.email}", headers=tenant.headers())
    client.get(f"/v1/outbox/{someone.phone}", headers=tenant.headers())
    client.post(
        "/v1/api-keys",
        json={"name": someone.email, "role": someone.phone},
        headers=tenant.headers(),
    )
    with runtime.db.session() as session:
        put(
            session,
            runtime.keys,
            runtime.jobs,
            tenant.id,
            Channel.EMAIL,
            "test",
            someone.email,
            f"Dear {someone.first_name}",
            "Hello",
        )
    text = caplog.text + "".join(str(r.__dict__) for r in caplog.records)
    assert caplog.records, "expected request logs"
    for value in (someone.email, someone.phone, someone.first_name):
        assert value not in text
