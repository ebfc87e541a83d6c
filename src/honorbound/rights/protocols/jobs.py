"""Job handlers and the context builder of the protocols (registered by the runtime)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from honorbound.rights.jobs import RightsJobContext, services
from honorbound.rights.protocols import REPORT_JOB
from honorbound.rights.protocols.context import ProtocolContext
from honorbound.rights.protocols.report import report_changes
from honorbound.rights.protocols.rules import load
from honorbound.rights.protocols.signing import ProcessorKey, load_processor_key
from honorbound.rights.protocols.urls import parse_networks

__all__ = ["REPORT_JOB", "context", "report_job"]


@lru_cache(maxsize=8)
def _key(key_file: str, certificate_file: str | None, domain: str) -> ProcessorKey:
    return load_processor_key(
        Path(key_file), Path(certificate_file) if certificate_file else None, domain
    )


def context(rt: RightsJobContext) -> ProtocolContext:
    settings = rt.settings
    rights = services(rt)
    holder: dict[str, ProtocolContext] = {}

    def processor_key() -> ProcessorKey:
        cert = settings.opendsr_certificate_file
        return _key(
            str(settings.resolved_opendsr_key_file),
            str(cert) if cert else None,
            holder["ctx"].domain,
        )

    ctx = ProtocolContext(
        rights,
        load(),
        processor_key,
        parse_networks(settings.callback_allow_networks),
        settings.callback_timeout,
    )
    holder["ctx"] = ctx
    return ctx


def report_job(rt: RightsJobContext, payload: dict[str, Any]) -> dict[str, Any]:
    wanted = payload.get("rights_request_id")
    result = report_changes(rt.db.session, context(rt), int(wanted) if wanted else None)
    return {
        "callbacks_sent": result.callbacks_sent,
        "callbacks_failed": result.callbacks_failed,
        "completion_notices": result.completion_notices,
    }
