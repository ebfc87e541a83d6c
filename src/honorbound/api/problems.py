"""Errors as RFC 9457 problem details. Bad input is a 4xx naming the field, never a 500."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

from honorbound.db.engine import is_contention
from honorbound.errors import HonorboundError
from honorbound.validation import field_errors, field_path
from honorbound.validation import message as _message

log = logging.getLogger("honorbound.api")

PROBLEM_JSON = "application/problem+json"


class Problem(Exception):
    """Raise from a route to answer with a problem document."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str = "",
        errors: list[dict[str, str]] | None = None,
        type_: str = "about:blank",
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.title = title
        self.detail = detail
        self.errors = errors or []
        self.type = type_
        self.headers = headers
        self.extra = extra or {}


def problem_response(
    status: int,
    title: str,
    detail: str = "",
    instance: str = "",
    errors: list[dict[str, str]] | None = None,
    type_: str = "about:blank",
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {"type": type_, "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if instance:
        body["instance"] = instance
    if errors:
        body["errors"] = errors
    body.update(extra or {})
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def invalid(raw: list[Any], prefix: tuple[Any, ...] = ("body",)) -> Problem:
    """The 422 of a pydantic validation failure, as the API's handler words it (for bodies
    validated inside a route)."""
    errors = field_errors(raw, prefix)
    first = errors[0] if errors else {"field": field_path(prefix), "message": "is invalid"}
    return Problem(422, "Invalid request", f"{first['field']} {first['message']}.", errors)


class ProtocolRoute(APIRoute):
    """A route of a protocol whose error bodies are its own, not problem documents (DRP,
    OpenDSR): the one handler asks the route first. `render_error` answers the protocol's
    body, or None to leave the error to the problem document."""

    def render_error(self, exc: HonorboundError) -> Response | None:
        return None


# Given by the app: the HTML page for an error on a browser path, or None for the API's paths
# (`honorbound.web.errors.page`). Called in a worker thread.
Pages = Callable[..., Response | None]


def install(app: FastAPI, pages: Pages | None = None) -> None:
    async def _page(
        request: Request,
        status: int,
        field: str = "",
        kind: str = "",
        headers: dict[str, str] | None = None,
        error: HonorboundError | None = None,
    ) -> Response | None:
        if pages is None:
            return None
        return await anyio.to_thread.run_sync(
            lambda: pages(request, status, field=field, kind=kind, headers=headers, error=error)
        )

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(
            exc.status,
            exc.title,
            exc.detail,
            request.url.path,
            exc.errors,
            exc.type,
            exc.headers,
            exc.extra,
        )

    # The one translation of the domain's errors: each carries its status, title and type
    # (honorbound.errors); a browser path gets the web layer's HTML page for that status.
    @app.exception_handler(HonorboundError)
    async def _domain(request: Request, exc: HonorboundError) -> Response:
        own = _protocol_answer(request, exc)
        if own is not None:
            return own
        if exc.status == 500:
            return await _crash(request, exc)  # our failure: logged, and a generic answer
        errors = exc.errors()
        field = errors[0]["field"].rsplit(".", 1)[-1] if errors else ""
        html = await _page(request, exc.status, field, error=exc)
        if html is not None:
            return html
        return problem_response(
            exc.status,
            exc.title,
            exc.detail(),
            request.url.path,
            errors,
            exc.type,
            extra=exc.extra(),
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        raw = exc.errors()
        if raw:
            loc = [str(part) for part in raw[0].get("loc", ()) if not isinstance(part, int)]
            html = await _page(request, 422, loc[-1] if loc else "", str(raw[0].get("type", "")))
            if html is not None:
                return html
        errors = [
            {"field": field_path(error.get("loc", ())), "message": _message(dict(error))}
            for error in exc.errors()
        ]
        # Never echo the submitted values back: they may be personal data.
        if any(e["message"] == "is not valid JSON" for e in errors):
            return problem_response(
                400,
                "Request body is not valid JSON",
                "The body could not be parsed as JSON.",
                request.url.path,
                [{"field": "body", "message": "is not valid JSON"}],
            )
        first = errors[0] if errors else {"field": "body", "message": "is invalid"}
        return problem_response(
            422,
            "Invalid request",
            f"{first['field']} {first['message']}.",
            request.url.path,
            errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        html = await _page(request, exc.status_code, headers=getattr(exc, "headers", None))
        if html is not None:
            return html
        if exc.status_code == 400 and isinstance(exc.__cause__, RecursionError):
            # FastAPI reads the body itself and turns the parser's RecursionError into a bare
            # "error parsing the body": say what was wrong, as `_deep` does.
            return _nested(request)
        titles = {
            401: "Not authenticated",
            403: "Forbidden",
            404: "Not found",
            405: "Method not allowed",
            413: "Request body too large",
        }
        return problem_response(
            exc.status_code,
            titles.get(exc.status_code, "Error"),
            str(exc.detail) if exc.detail else "",
            request.url.path,
            headers=getattr(exc, "headers", None),
        )

    # A handler for the database's errors, not only the catch-all below: Starlette re-raises
    # what the catch-all handled (the server then logs it as an application error), and a busy
    # database is an expected answer, logged once as a warning.
    @app.exception_handler(RecursionError)
    async def _deep(request: Request, exc: RecursionError) -> JSONResponse:
        return _nested(request)

    @app.exception_handler(SQLAlchemyError)
    async def _busy(request: Request, exc: SQLAlchemyError) -> JSONResponse:
        if _nul_character(exc):
            # PostgreSQL cannot store U+0000 in text; SQLite can. Either way it is bad input.
            return problem_response(
                422,
                "Invalid request",
                "A text value contains a NUL character (U+0000), which cannot be stored; "
                "remove it.",
                request.url.path,
                [{"field": "body", "message": "contains a NUL character (U+0000)"}],
            )
        if not is_contention(exc):
            raise exc  # a real failure: the catch-all answers 500 and logs it
        # The database was busy (no connection within the pool timeout, a lock not granted
        # within the lock timeout, a deadlock victim): nothing was written.
        log.warning(
            "database busy", extra={"path_template": _template(request), "error": _kind(exc)}
        )
        retry_after = str(request.app.state.runtime.settings.retry_after_seconds)
        return problem_response(
            503,
            "Server busy",
            f"The database was busy and nothing was changed; try again after {retry_after} s.",
            request.url.path,
            headers={"Retry-After": retry_after},
        )

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> Response:
        log.error("unhandled error", exc_info=exc, extra={"path_template": _template(request)})
        try:
            html = await _page(request, 500)
        except Exception:  # the page itself failed: the plain problem document below
            html = None
        if html is not None:
            return html
        return problem_response(
            500,
            "Internal error",
            "Something went wrong on our side; it has been logged.",
            request.url.path,
        )


def _protocol_answer(request: Request, exc: HonorboundError) -> Response | None:
    """The protocol's own error body, when the route is a protocol's (DRP, OpenDSR)."""
    route = request.scope.get("route")
    return route.render_error(exc) if isinstance(route, ProtocolRoute) else None


def _nested(request: Request) -> JSONResponse:
    # JSON nested deeper than the parser's recursion limit: bad input, not our failure.
    return problem_response(
        400,
        "Request body is nested too deeply",
        "The body nests arrays or objects too deeply to read; flatten it.",
        request.url.path,
        [{"field": "body", "message": "is nested too deeply"}],
    )


def _nul_character(exc: SQLAlchemyError) -> bool:
    message = str(getattr(exc, "orig", "") or "")
    return "NUL (0x00)" in message or ("0x00" in message and "character" in message)


def _kind(exc: BaseException) -> str:
    original = getattr(exc, "orig", None)
    return type(original or exc).__name__


def _template(request: Request) -> str:
    route = request.scope.get("route")
    return getattr(route, "path", "unmatched")


# -- the OpenAPI document: every operation's error answers, as problem documents ------------
PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details. `errors` names each field that was wrong.",
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
    "additionalProperties": True,
}
ERROR_ANSWERS = {
    "400": "The body could not be read (not JSON, not UTF-8, nested too deeply).",
    "401": "No API key, or one that is not valid.",
    "403": "The key's role may not do this (the permission is named), or a bad signature.",
    "404": "Nothing with that id in your organization.",
    "409": "The state does not allow it now (e.g. a removal that needs confirmation).",
    "413": "The body is larger than the limit.",
    "415": "The body's media type is not accepted.",
    "422": "A field is wrong; `errors` names each one.",
    "429": "Too many requests; `Retry-After` says when to try again.",
    "503": "The server or database is busy; nothing was changed. `Retry-After` says when.",
}


def document_problems(schema: dict[str, Any]) -> dict[str, Any]:
    """Add the Problem schema and every error answer (application/problem+json) to each
    operation of an OpenAPI document; FastAPI's default 422 body is replaced."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = PROBLEM_SCHEMA
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)
    ref = {"$ref": "#/components/schemas/Problem"}
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            for status, description in ERROR_ANSWERS.items():
                declared = responses.get(status)
                if declared is not None and "content" not in declared:
                    # The route documents this answer as having no body (DRP s.2.05.1's 403).
                    continue
                answer = {"description": description, "content": {PROBLEM_JSON: {"schema": ref}}}
                if status in ("429", "503"):
                    answer["headers"] = {
                        "Retry-After": {"schema": {"type": "integer"}, "description": "Seconds."}
                    }
                responses[status] = answer
    return schema
