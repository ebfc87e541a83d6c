"""Schemathesis over every operation of the OpenAPI document, as an admin, as a `client` key
and with no credentials: no answer is a 5xx, every status is documented, and every body
matches its documented schema. Bounded here (HONORBOUND_FUZZ_EXAMPLES examples per operation,
3 by default); `make fuzz-api` runs a larger number."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import Case
from schemathesis.checks import (
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from honorbound.accounts.roles import Role
from honorbound.ratelimit import RateLimiter
from honorbound.runtime import Runtime
from tests.conftest import Tenant, adopt_example, make_tenant

EXAMPLES = int(os.environ.get("HONORBOUND_FUZZ_EXAMPLES", "3"))
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]


@pytest.fixture
def fuzz_app(app: FastAPI, runtime: Runtime) -> Iterator[FastAPI]:
    # The shared limiter would answer most generated requests 429 (documented, but it would
    # hide the routes behind it): here each limiter allows plenty, in memory.
    for name in ("ip", "identity", "read", "login.address", "login.user", "link"):
        runtime.rate_limits.override(name, RateLimiter(1_000_000, 60.0))
    yield app


@pytest.fixture
def fuzz_tenant(runtime: Runtime) -> Tenant:
    tenant = make_tenant(runtime, "fuzz-org")
    adopt_example(runtime, tenant.id)
    return tenant


FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
    database=None,
    phases=[Phase.explicit, Phase.generate],
)


def _fuzz(app: FastAPI, headers: dict[str, str]) -> list[str]:
    """Every operation, EXAMPLES generated cases each; the failures, one line per operation."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @FUZZ
        def run(case: Case) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            run()
        except Exception as exc:  # noqa: BLE001 - collected and reported below
            first = str(exc).strip().splitlines()[:6]
            failures.append(f"{operation.label}: " + " | ".join(first))
    assert operations > 40
    return failures


def test_as_admin(fuzz_app: FastAPI, fuzz_tenant: Tenant) -> None:
    failures = _fuzz(fuzz_app, fuzz_tenant.headers(Role.ADMIN))
    assert not failures, "\n".join(failures)


def test_as_client(fuzz_app: FastAPI, fuzz_tenant: Tenant) -> None:
    failures = _fuzz(fuzz_app, fuzz_tenant.headers(Role.CLIENT))
    assert not failures, "\n".join(failures)


def test_without_credentials(fuzz_app: FastAPI, fuzz_tenant: Tenant) -> None:
    failures = _fuzz(fuzz_app, {})
    assert not failures, "\n".join(failures)
