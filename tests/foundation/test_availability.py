"""No stalls: a slow or locked database delays only the requests that need the lock, never the
event loop or unrelated requests; a full server or pool answers 503 with Retry-After at once
instead of hanging; nothing answers 500 for "busy".

Real uvicorn on loopback (tests.support.live), another real process holding the lock."""

from __future__ import annotations

import inspect
import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute
from sqlalchemy import func, select
from starlette.routing import Route

from honorbound.accounts.roles import Role
from honorbound.api.app import create_app
from honorbound.config import ConfigError, Settings, load_settings
from honorbound.consent import sms
from honorbound.consent.models import ConsentEvent
from honorbound.runtime import Runtime, build_runtime
from tests.conftest import Tenant, make_tenant
from tests.support.live import lock_held_by_another_process, serve
from tests.support.people import person

# How long an unrelated request may take while the lock is held. Generous (the machine is
# shared); what matters is that it answers while the locked request is still waiting.
PROMPT = 5.0


def _runtime(settings: Settings, **changes: Any) -> Runtime:
    return build_runtime(settings.model_copy(update=changes), immediate_jobs=True)


@pytest.fixture
def patient(settings: Settings) -> Iterator[Runtime]:
    """Writes wait up to 30 s for a lock: long enough to watch them wait."""
    rt = _runtime(settings, db_lock_timeout=30.0, base_url="http://127.0.0.1")
    yield rt
    rt.close()


def test_no_route_runs_its_work_on_the_event_loop(app: Any) -> None:
    """Every route is a plain `def` (FastAPI runs it in a worker thread): an `async def` route
    runs its database or SMTP work on the event loop and stops every other request."""
    routes = list(_routes(app.routes))
    assert len(routes) > 100  # every router was walked (FastAPI nests included routers)
    on_loop = [
        route.path
        for route in routes
        if inspect.iscoroutinefunction(route.endpoint)
        # FastAPI's own /openapi.json and /docs pages only render in memory.
        and not route.endpoint.__module__.startswith("fastapi.")
    ]
    assert on_loop == []


def _routes(routes: Any) -> Iterator[Route]:
    for route in routes:
        included = getattr(route, "original_router", None)  # an included APIRouter
        if included is not None:
            yield from _routes(included.routes)
        elif isinstance(route, APIRoute | Route):
            yield route


def _sms(base: str, rt: Runtime, tenant: Tenant, message_id: str) -> httpx.Response:
    url = f"{base}/v1/public/sms/{tenant.slug}"
    form = {"From": person().phone, "To": "+12125550199", "Body": "STOP", "MessageSid": message_id}
    signature = sms.HmacUrlParams(sms.webhook_secret(rt.keys, tenant.id)).expected(url, form)
    return httpx.post(url, data=form, headers={"X-Twilio-Signature": signature}, timeout=60)


@pytest.mark.timeout(120)
def test_a_locked_database_stalls_only_the_requests_that_need_the_lock(
    patient: Runtime, database_url: str
) -> None:
    rt = patient
    tenant = make_tenant(rt, "org-live")
    app = create_app(rt)
    done: dict[str, httpx.Response] = {}
    with serve(app) as base:
        with lock_held_by_another_process(database_url, tenant.id):
            # The public SMS webhook (a write) waits for the lock ...
            webhook = threading.Thread(
                target=lambda: done.setdefault("sms", _sms(base, rt, tenant, "SM-live-1"))
            )
            webhook.start()
            time.sleep(1.0)
            assert "sms" not in done  # it is waiting for the lock
            # ... while the health check and authenticated reads answer.
            started = time.monotonic()
            health = httpx.get(f"{base}/healthz", timeout=PROMPT)
            me = httpx.get(f"{base}/v1/me", headers=tenant.headers(Role.AUDITOR), timeout=PROMPT)
            decided = httpx.post(
                f"{base}/v1/contact-decisions",
                json={"items": [{"identity": person().email, "purpose": "marketing",
                                 "channel": "email"}]},
                headers=tenant.headers(Role.AUDITOR),
                timeout=PROMPT,
            )  # fmt: skip
            elapsed = time.monotonic() - started
            assert health.status_code == 200 and me.status_code == 200, (health.text, me.text)
            assert decided.status_code == 200 and decided.json()["count"] == 1
            assert "sms" not in done, "the webhook did not wait for the lock"
        webhook.join(timeout=60)
    assert done["sms"].status_code == 200, done["sms"].text
    assert done["sms"].json()["kind"] == "stop"
    assert elapsed < 3 * PROMPT


@pytest.mark.timeout(120)
def test_waiting_writes_get_503_and_never_crowd_out_reads(
    settings: Settings, database_url: str
) -> None:
    """Four slots, of which writes may take two; both are taken by writes waiting for a lock.
    A third write is refused quickly with 503 and Retry-After; a read still answers; the two
    writes then succeed and the refused one wrote nothing."""
    rt = _runtime(
        settings,
        http_concurrency=4,
        http_queue_seconds=0.5,
        db_lock_timeout=30.0,
        retry_after_seconds=3,
        base_url="http://127.0.0.1",
    )
    tenant = make_tenant(rt, "org-full")
    app = create_app(rt)
    done: list[httpx.Response] = []
    with serve(app) as base:
        with lock_held_by_another_process(database_url, tenant.id):
            writers = [
                threading.Thread(
                    target=lambda n=n: done.append(_sms(base, rt, tenant, f"SM-full-{n}"))
                )
                for n in range(2)
            ]
            for writer in writers:
                writer.start()
            time.sleep(1.0)
            started = time.monotonic()
            refused = httpx.post(
                f"{base}/v1/consent/events",
                json={"identity": person().email, "purpose": "marketing", "channel": "email",
                      "action": "opt_out", "source": "web_form"},
                headers=tenant.headers(Role.AGENT),
                timeout=PROMPT,
            )  # fmt: skip
            waited = time.monotonic() - started
            read = httpx.get(f"{base}/v1/me", headers=tenant.headers(Role.AUDITOR), timeout=PROMPT)
            health = httpx.get(f"{base}/healthz", timeout=PROMPT)
            assert refused.status_code == 503, refused.text
            assert refused.headers["retry-after"] == "3"
            assert refused.headers["content-type"] == "application/problem+json"
            assert waited < PROMPT
            assert read.status_code == 200 and health.status_code == 200
            assert not done  # the two writes are still waiting for the lock
        for writer in writers:
            writer.join(timeout=60)
    assert sorted(r.status_code for r in done) == [200, 200]
    with rt.db.session() as session:
        assert session.scalar(select(func.count()).select_from(ConsentEvent)) == 2
    rt.close()


def test_admission_refuses_past_the_limit_after_the_wait() -> None:
    """The admission middleware alone, over a real ASGI app whose requests hold their slot
    until released: one slot, a second request is refused after the wait, a third after the
    first finished is admitted."""
    import anyio
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route as StarletteRoute

    from honorbound.api.middleware import Admission

    release = anyio.Event()

    async def slow(_request: Any) -> PlainTextResponse:
        await release.wait()
        return PlainTextResponse("done")

    inner = Starlette(routes=[StarletteRoute("/slow", slow)])
    app = Admission(inner, limit=1, wait=0.3, retry_after=7)

    async def scenario() -> list[tuple[int, str | None]]:
        transport = httpx.ASGITransport(app=app)
        out: list[tuple[int, str | None]] = []
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:

            async def call() -> None:
                answer = await client.get("/slow")
                out.append((answer.status_code, answer.headers.get("retry-after")))

            async with anyio.create_task_group() as group:
                group.start_soon(call)
                await anyio.sleep(0.05)
                await call()  # refused while the first holds the slot
                release.set()
            await call()
        return out

    assert anyio.run(scenario) == [(503, "7"), (200, None), (200, None)]


@pytest.mark.timeout(60)
def test_a_lock_not_granted_in_time_is_503_and_writes_nothing(
    settings: Settings, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """...and it is logged once, as a warning: not as an application error (a busy database
    is an expected answer, not a fault to page someone about)."""
    caplog.set_level(logging.INFO)
    rt = _runtime(settings, db_lock_timeout=0.5, retry_after_seconds=2)
    tenant = make_tenant(rt, "org-locked")
    app = create_app(rt)
    with serve(app) as base, lock_held_by_another_process(database_url, tenant.id):
        answer = httpx.post(
            f"{base}/v1/consent/events",
            json={"identity": person().email, "purpose": "marketing", "channel": "email",
                  "action": "opt_out", "source": "web_form"},
            headers=tenant.headers(Role.AGENT),
            timeout=30,
        )  # fmt: skip
    assert answer.status_code == 503, answer.text
    assert answer.headers["retry-after"] == "2"
    with rt.db.session() as session:
        assert session.scalar(select(func.count()).select_from(ConsentEvent)) == 0
    rt.close()
    busy = [r for r in caplog.records if r.getMessage() == "database busy"]
    assert [r.levelno for r in busy] == [logging.WARNING]
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


@pytest.mark.timeout(60)
def test_no_free_connection_within_the_pool_timeout_is_503(settings: Settings) -> None:
    rt = _runtime(settings, http_concurrency=2, db_pool_size=2, db_pool_timeout=0.5)
    tenant = make_tenant(rt, "org-pool")
    app = create_app(rt)
    with serve(app) as base:
        held = [rt.db.engine.connect() for _ in range(2)]  # every pooled connection
        try:
            started = time.monotonic()
            answer = httpx.get(
                f"{base}/v1/me", headers=tenant.headers(Role.AUDITOR), timeout=PROMPT
            )
            waited = time.monotonic() - started
        finally:
            for connection in held:
                connection.close()
        after = httpx.get(f"{base}/v1/me", headers=tenant.headers(Role.AUDITOR), timeout=PROMPT)
    assert answer.status_code == 503 and answer.headers["retry-after"] == "2", answer.text
    assert waited < PROMPT
    assert after.status_code == 200
    rt.close()


def test_pool_smaller_than_the_request_slots_is_refused_at_start_up() -> None:
    with pytest.raises(ConfigError, match="HONORBOUND_DB_POOL_SIZE .* HONORBOUND_HTTP_CONC"):
        load_settings(http_concurrency=50, db_pool_size=20)
    sized = load_settings(http_concurrency=50)
    assert sized.resolved_db_pool_size == 58


def test_the_runtime_sizes_pools_and_threads_from_one_setting(
    settings: Settings, tenant: Tenant
) -> None:
    rt = _runtime(settings, http_concurrency=12)
    assert rt.db.engine.pool.size() == 20  # type: ignore[attr-defined]
    assert rt.vault_keys.db.engine.pool.size() == 20  # type: ignore[attr-defined]
    from fastapi.testclient import TestClient

    seen: list[int] = []
    app = create_app(rt)

    @app.get("/probe-threads")
    async def probe() -> dict[str, int]:
        import anyio.to_thread

        seen.append(int(anyio.to_thread.current_default_thread_limiter().total_tokens))
        return {}

    with TestClient(app) as client:
        client.get("/probe-threads")
    assert seen == [20]
    rt.close()


@pytest.mark.timeout(60)
def test_a_write_is_committed_before_it_is_acknowledged(settings: Settings) -> None:
    """The client's 201 comes after the commit, not before: the moment the answer arrives,
    another connection sees the event. (FastAPI's default ends a yield dependency, our unit
    of work, after the response; a commit that then failed would lose an acknowledged write.)
    The commit is made slow on purpose, so that a response sent before it is caught."""
    from sqlalchemy import event as sa_event

    rt = _runtime(settings)
    tenant = make_tenant(rt, "org-ack")

    def slow_commit(_session: Any) -> None:
        time.sleep(0.5)

    sa_event.listen(rt.db.sessions, "before_commit", slow_commit)
    app = create_app(rt)
    with serve(app) as base:
        answer = httpx.post(
            f"{base}/v1/consent/events",
            json={"identity": person().email, "purpose": "marketing", "channel": "email",
                  "action": "opt_out", "source": "web_form"},
            headers=tenant.headers(Role.AGENT),
            timeout=30,
        )  # fmt: skip
        assert answer.status_code == 201, answer.text
        with rt.db.read_session() as session:
            seen = session.scalar(
                select(ConsentEvent.id).where(
                    ConsentEvent.receipt_id == answer.json()["receipt_id"]
                )
            )
    sa_event.remove(rt.db.sessions, "before_commit", slow_commit)
    assert seen == answer.json()["id"]
    rt.close()


def test_a_database_error_that_is_not_contention_stays_a_500(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """Only "busy" becomes 503: a constraint violation that escapes a route is a fault (500,
    logged as an error), not something a client should retry."""
    from fastapi.testclient import TestClient
    from sqlalchemy import text

    rt = _runtime(settings)
    app = create_app(rt)

    @app.get("/test-only/duplicate")
    def duplicate() -> None:
        with rt.db.session() as session:
            session.execute(text("CREATE TEMP TABLE t (id INTEGER PRIMARY KEY)"))
            session.execute(text("INSERT INTO t VALUES (1)"))
            session.execute(text("INSERT INTO t VALUES (1)"))

    with TestClient(app, raise_server_exceptions=False) as client:
        answer = client.get("/test-only/duplicate")
    rt.close()
    assert answer.status_code == 500 and "retry-after" not in answer.headers
    assert any(r.levelno == logging.ERROR for r in caplog.records)
    assert not any(r.getMessage() == "database busy" for r in caplog.records)
