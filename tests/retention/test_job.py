from __future__ import annotations

from sqlalchemy import func, select

from honorbound.retention.jobs import sweep_job
from honorbound.retention.models import RetentionRun
from honorbound.retention.sweep import SWEEP_JOB
from honorbound.runtime import Runtime
from tests.conftest import Tenant
from tests.retention.factory import add_records, add_subject, adopt, days_ago

REC = "user.contact_center.call_recording"


def test_the_sweep_is_a_daily_durable_job(runtime: Runtime) -> None:
    assert SWEEP_JOB in runtime.registry
    (daily,) = [p for p in runtime.registry.periodic if p.name == SWEEP_JOB]
    assert daily.hour != "*" and daily.minute != "*"


def test_the_job_sweeps_every_organization_with_a_declaration(
    runtime: Runtime, tenant: Tenant, other_tenant: Tenant
) -> None:
    adopt(runtime, tenant.id)  # other_tenant adopted nothing: skipped, not an error
    a = add_subject(runtime, tenant.id)
    add_records(runtime, tenant.id, a, REC, [days_ago(100), days_ago(1)])
    result = sweep_job(runtime, {})
    assert result == {"organizations": 1, "records": 1, "subjects": 0, "batches": 1}
    with runtime.db.session() as session:
        queued = runtime.jobs.enqueue(session, SWEEP_JOB, {"organization_id": tenant.id})
        assert queued.id
    with runtime.db.session() as session:
        assert session.scalar(select(func.count()).select_from(RetentionRun)) == 2
