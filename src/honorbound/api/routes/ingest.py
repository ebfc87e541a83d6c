"""Bulk ingest: interactions as NDJSON, one result per line.

`POST /v1/interactions/bulk`, body `application/x-ndjson`: one JSON object per line, each the
body of `POST /v1/subjects/{id}/interactions` plus `subject_id`. Every line goes through the
same checks, collection gate and error wording as that endpoint (`vault.store_interaction`);
a bad line gets its own result (status and problem) and does not stop the others. Lines are
committed in batches of `BATCH`, each line inside a savepoint so a refused line leaves its
batch intact. Memory is bounded: the body is read as it arrives, a line may be at most
`max_body_bytes`, and results are spooled to a temporary file (to disk past 1 MB) and sent
once the upload is done. The response is NDJSON: `{"line": n, "status": 201, "id": ...}` or
`{"line": n, "status": 4xx, "title": ..., "detail": ..., "errors": [...]}`.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from typing import IO, Annotated, Any, cast

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse
from pydantic import ValidationError
from sqlalchemy.orm import Session

from honorbound.accounts.service import Principal
from honorbound.api.deps import RuntimeDep, require
from honorbound.api.problems import Problem, invalid
from honorbound.api.routes import vault as single
from honorbound.api.streaming import body_chunks
from honorbound.runtime import Runtime
from honorbound.vault import erasure
from honorbound.vault.ndjson import split_lines
from honorbound.vault.subjects import BelowMinimumAge, SubjectNotFound, get_subject

router = APIRouter(tags=["vault"])
Collector = Annotated[Principal, Depends(require("data.collect"))]
BATCH = 200
NDJSON = "application/x-ndjson"
_END = object()  # the end of the body (a blank line is b"")


class BulkInteractionIn(single.InteractionIn):
    subject_id: int


def _lines(request: Request, limit: int) -> Iterator[bytes | None]:
    """The body's lines, read from the event loop as the route (a worker thread) needs them."""
    return split_lines(body_chunks(request), limit)


def _result(line: int, problem: Problem) -> dict[str, Any]:
    out: dict[str, Any] = {"line": line, "status": problem.status, "title": problem.title}
    if problem.detail:
        out["detail"] = problem.detail
    if problem.errors:
        out["errors"] = problem.errors
    return out | problem.extra


def _one(
    session: Session, runtime: Runtime, principal: Principal, raw: bytes | None, minors: list[int]
) -> dict[str, Any]:
    """One line, as `POST /v1/subjects/{id}/interactions` would answer it."""
    if raw is None:
        raise Problem(413, "Line too large", "The line is longer than the body size limit.")
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        raise Problem(
            400,
            "Line is not valid JSON",
            "The line could not be parsed as JSON.",
            errors=[{"field": "line", "message": "is not valid JSON"}],
        ) from None
    try:
        body = BulkInteractionIn.model_validate(data)
    except ValidationError as exc:
        raise invalid(exc.errors(include_url=False, include_input=False), ("line",)) from None
    single.check_interaction(body, "line")
    try:
        subject = get_subject(session, principal.organization_id, body.subject_id)
    except SubjectNotFound:
        raise Problem(404, "Not found", "No subject with that id in your organization.") from None
    with single._domain_errors(session, runtime, principal):
        try:
            out = single.store_interaction(session, runtime, principal, subject, body)
        except BelowMinimumAge as exc:
            # The single endpoint schedules the erasure in its own unit of work; here after
            # the batch commits (rolling back would drop the batch's other lines).
            if exc.subject_id is not None:
                minors.append(exc.subject_id)
            exc.subject_id = None
            raise
    return {"line": 0, "status": 201, **out.model_dump(mode="json")}


def ingest(
    runtime: Runtime, principal: Principal, lines: Iterator[bytes | None], results: IO[bytes]
) -> None:
    """Every line of `lines` stored or refused, one NDJSON result per non-blank line written
    to `results` in order (the endpoint and `honorbound ingest` both call this)."""
    number = 0
    exhausted = False
    while not exhausted:
        minors: list[int] = []
        with runtime.db.session() as session:
            for _ in range(BATCH):
                item = next(lines, _END)
                if item is _END:
                    exhausted = True
                    break
                raw = cast(bytes | None, item)
                number += 1
                if raw is not None and not raw.strip():
                    continue  # blank lines are allowed between records
                savepoint = session.begin_nested()
                try:
                    result = _one(session, runtime, principal, raw, minors)
                    savepoint.commit()
                except Problem as problem:
                    savepoint.rollback()
                    result = _result(number, problem)
                result["line"] = number
                results.write(json.dumps(result, separators=(",", ":")).encode() + b"\n")
        for subject_id in minors:
            with runtime.db.session() as session:
                erasure.schedule_erasure(session, runtime.jobs, principal.organization_id,
                                         subject_id, principal.actor, "minimum_age")  # fmt: skip


@router.post(
    "/v1/interactions/bulk",
    response_class=StreamingResponse,
    responses={200: {"content": {NDJSON: {}}, "description": "One result per line."}},
)
def bulk_interactions(
    request: Request, principal: Collector, runtime: RuntimeDep
) -> StreamingResponse:
    """Many interactions as NDJSON (one `POST /v1/subjects/{id}/interactions` body plus
    `subject_id` per line); answers NDJSON, one result per non-blank line, in order."""
    # Closed by the response once sent (or here on failure), not by a with-block.
    results = tempfile.SpooledTemporaryFile(max_size=1 << 20)  # noqa: SIM115
    try:
        ingest(runtime, principal, _lines(request, runtime.settings.max_body_bytes), results)
    except BaseException:
        results.close()
        raise
    results.seek(0)

    def send() -> Iterator[bytes]:
        try:
            while chunk := results.read(1 << 16):
                yield chunk
        finally:
            results.close()

    return StreamingResponse(send(), media_type=NDJSON)
