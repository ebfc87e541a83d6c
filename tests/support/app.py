"""Fixtures shared by the packages that run the real app against a real SMTP server on loopback
(tests/rights, tests/breach, tests/systems): the runtime with its mail pointed at the sink, the
ASGI test client, and a filter keeping the sink's own log lines out of the personal-data check.
Each package keeps its own `org` (its own organization slug) and its own fictional people."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from honorbound.api.app import create_app
from honorbound.config import Settings
from honorbound.runtime import Runtime, build_runtime
from tests.support.smtp import SmtpSink


class _OnlyWarnings(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING


_SINK_FILTER = _OnlyWarnings()


@pytest.fixture(autouse=True)
def _quiet_smtp_sink() -> Iterator[None]:
    """The loopback SMTP server (aiosmtpd) logs envelopes, recipients included; that is the
    test's mail server talking, not Honorbound, so it stays out of the personal-data log check.
    A filter (not a level) because its thread may still be logging after a test's teardown."""
    logger = logging.getLogger("mail.log")
    if _SINK_FILTER not in logger.filters:
        logger.addFilter(_SINK_FILTER)
    yield


@pytest.fixture
def rt(settings: Settings, smtp: SmtpSink) -> Iterator[Runtime]:
    runtime = build_runtime(settings.model_copy(update={"smtp_url": smtp.url}), immediate_jobs=True)
    yield runtime
    runtime.close()


@pytest.fixture
def api(rt: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(rt)) as test_client:
        yield test_client


__all__ = ["_quiet_smtp_sink", "api", "rt"]
