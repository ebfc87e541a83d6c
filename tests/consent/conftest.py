"""Helpers for consent tests: record events and decide through the real engine and database."""

from __future__ import annotations

import datetime as dt
from typing import Any

from honorbound.audit import Actor
from honorbound.consent import calls, ledger, service
from honorbound.consent.decisions import Batch, Decisions
from honorbound.consent.identity import identify
from honorbound.runtime import Runtime
from tests.support.people import remember


def number(npa: str, line: int) -> str:
    """A fictional number (555-01xx) in an area code; remembered for the log check."""
    value = f"+1{npa}55501{line:02d}"
    remember(value, value[2:])
    return value


def record(
    runtime: Runtime,
    org: int,
    identity: str,
    purpose: str,
    channel: str,
    action: str = "opt_out",
    **kwargs: Any,
) -> int:
    with runtime.db.session() as session:
        event, _ = ledger.record(
            session,
            org,
            identify(runtime.keys, org, identity),
            purpose,
            channel,
            action,
            kwargs.pop("source", "web_form"),
            Actor("test", "agent"),
            **kwargs,
        )
        return event.id


def decide(
    runtime: Runtime,
    org: int,
    identities: list[str],
    purpose: str,
    channel: str,
    at: dt.datetime | None = None,
    **kwargs: Any,
) -> Decisions:
    with runtime.db.session() as session:
        return service.engine(runtime.keys, runtime.vault_keys, runtime.rules).decide(
            session, org, Batch(identities, purpose, channel, at, **kwargs)
        )


def reasons(result: Decisions) -> list[tuple[str, ...]]:
    return [result.reasons_of(i) for i in range(len(result))]


def record_attempts(
    runtime: Runtime, organization_id: int, phone: str, times: list[dt.datetime]
) -> None:
    """Dials recorded in the call log (what call caps count)."""
    with runtime.db.session() as session:
        ref = identify(runtime.keys, organization_id, phone)
        for when in times:
            calls.record_attempt(
                session, organization_id, ref, "marketing", Actor("t", "agent"), when
            )
