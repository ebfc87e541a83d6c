"""The ASGI application: JSON API, public pages and the staff console on one server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from typing import Any

import anyio.to_thread
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from prometheus_client import CollectorRegistry
from starlette.middleware.sessions import SessionMiddleware

from honorbound import __version__
from honorbound.api import problems
from honorbound.api.middleware import Admission, BodyGuard, Observability
from honorbound.api.routes import (
    apikeys,
    audit,
    clients,
    consent_public,
    desk,
    detect,
    health,
    ingest,
    me,
    outbox,
    sms_numbers,
    wellknown,
)
from honorbound.api.routes import breach as breach_routes
from honorbound.api.routes import consent as consent_routes
from honorbound.api.routes import disclosures as disclosure_routes
from honorbound.api.routes import intents as intent_routes
from honorbound.api.routes import policy as policy_routes
from honorbound.api.routes import protocols as protocol_routes
from honorbound.api.routes import recordings as recording_routes
from honorbound.api.routes import retention as retention_routes
from honorbound.api.routes import rights as rights_routes
from honorbound.api.routes import systems as systems_routes
from honorbound.api.routes import vault as vault_routes
from honorbound.runtime import Runtime
from honorbound.web import errors as web_errors
from honorbound.web import routes as web_routes
from honorbound.web import staff as web_staff

# Endpoints whose bodies are lists of many items get the larger bulk limit.
BULK_PATHS = ("/v1/contact-decisions", "/v1/recordings")
# Endpoints that stream their body (each line, or the upload, bounded by the route).
STREAM_PATHS = ("/v1/interactions/bulk", "/v1/recordings/upload")
# POST endpoints that only read (a read-only transaction): admitted as reads (see Admission).
READ_POSTS = ("/v1/contact-decisions", "/v1/consent/lookup")


# Worker threads beyond the request slots: static files, template rendering and the exempt
# health/metrics routes also run in the pool.
THREAD_HEADROOM = 8


def _api_reference(app: FastAPI) -> None:
    """/docs with Swagger UI's script and styles from the swagger-ui-py package (Swagger UI
    5, which reads OpenAPI 3.1), not a CDN: the page works offline and loads nothing from
    another server."""
    assets = str(resources.files("swagger_ui") / "static")
    app.mount("/docs-assets", StaticFiles(directory=assets), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def api_docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="Honorbound API",
            swagger_js_url="/docs-assets/swagger-ui-bundle.js",
            swagger_css_url="/docs-assets/swagger-ui.css",
            swagger_favicon_url="/docs-assets/favicon-32x32.png",
        )


def create_app(runtime: Runtime) -> FastAPI:
    settings = runtime.settings

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Every admitted request finds a worker thread (the default pool is 40, whatever the
        # connection pool): see Settings.http_concurrency.
        limiter = anyio.to_thread.current_default_thread_limiter()
        limiter.total_tokens = settings.http_concurrency + THREAD_HEADROOM
        yield

    app = FastAPI(
        lifespan=lifespan,
        title="Honorbound",
        version=__version__,
        description="Your privacy notice, enforced. JSON API; errors are RFC 9457 problem details.",
        openapi_url="/openapi.json",
        docs_url=None,  # served below, with Swagger UI's files from this server
        redoc_url=None,
    )
    app.state.runtime = runtime

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = problems.document_problems(get_openapi(
                title=app.title, version=app.version, description=app.description,
                routes=app.routes,
            ))  # fmt: skip
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    app.state.metrics = CollectorRegistry()
    problems.install(app, pages=web_errors.page)
    app.add_exception_handler(web_staff.Turned, web_staff.turned)
    for router in (
        health.router,
        me.router,
        apikeys.router,
        clients.router,
        desk.router,
        sms_numbers.router,
        audit.router,
        outbox.router,
        detect.router,
    ):
        app.include_router(router)
    app.include_router(vault_routes.router)
    app.include_router(ingest.router)
    for consent_router in (consent_routes.router, consent_public.router, consent_public.pages):
        app.include_router(consent_router)
    app.include_router(wellknown.router)
    app.include_router(rights_routes.router)
    app.include_router(protocol_routes.router)
    app.include_router(intent_routes.router)
    app.include_router(retention_routes.router)
    app.include_router(systems_routes.router)
    app.include_router(systems_routes.public)
    app.include_router(disclosure_routes.router)
    app.include_router(breach_routes.router)
    app.include_router(policy_routes.router)
    app.include_router(policy_routes.public)
    app.include_router(recording_routes.router)
    app.include_router(web_routes.router)
    web_routes.mount_static(app)
    _api_reference(app)
    secret = runtime.settings.secret_key or runtime.keys.session_secret
    app.add_middleware(
        SessionMiddleware,
        secret_key=secret,
        session_cookie="honorbound_session",
        max_age=8 * 3600,
        same_site="lax",
        https_only=runtime.settings.secure_cookies,
    )
    app.add_middleware(
        Admission,
        limit=settings.http_concurrency,
        wait=settings.http_queue_seconds,
        retry_after=settings.retry_after_seconds,
        read_paths=READ_POSTS,
    )
    app.add_middleware(
        BodyGuard,
        max_bytes=runtime.settings.max_body_bytes,
        bulk_max_bytes=runtime.settings.max_bulk_body_bytes,
        bulk_paths=BULK_PATHS,
        stream_paths=STREAM_PATHS,
    )
    app.add_middleware(Observability, registry=app.state.metrics)
    return app
