"""Job handlers of the systems package, registered by `honorbound.runtime.build_registry`."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from honorbound.audit import Actor
from honorbound.jobs.context import JobContext
from honorbound.systems.context import SystemsContext
from honorbound.systems.models import ConnectedSystem
from honorbound.systems.sweep import SWEEP_JOB, sweep
from honorbound.vault.context import VaultJobContext

SCAN_JOB = "systems.scan"

__all__ = ["SCAN_JOB", "SWEEP_JOB", "context", "scan_job", "sweep_job"]


def context(rt: JobContext) -> SystemsContext:
    return SystemsContext(rt.keys.derived, rt.settings.base_url)


def sweep_job(rt: VaultJobContext, payload: dict[str, Any]) -> dict[str, Any]:
    """Sweep one organization's systems (payload `organization_id`), or every organization
    with a connected system with an adopted declaration."""
    if "organization_id" in payload:
        orgs = [int(payload["organization_id"])]
    else:
        with rt.db.session() as session:
            orgs = list(session.scalars(select(ConnectedSystem.organization_id).distinct()))
    out: dict[str, Any] = {}
    for org in orgs:
        try:
            result = sweep(rt.db, rt.keys, rt.vault_keys, context(rt), org, Actor.system())
        except Exception as exc:  # one organization's failure must not stop the others
            out[str(org)] = {"error": type(exc).__name__}
            continue
        out[str(org)] = {
            "batches": result.batches,
            "rows": result.rows,
            "failed": sorted(result.failed),
        }
    return out


def scan_job(rt: JobContext, payload: dict[str, Any]) -> dict[str, Any]:
    from honorbound.systems.scan import scan

    with rt.db.session() as session:
        report = scan(session, context(rt), int(payload["organization_id"]))
    return {"scan_id": report.get("scan_id"), "undeclared": len(report["undeclared_fields"])}
