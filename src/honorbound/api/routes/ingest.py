"""Bulk ingest: `POST /v1/interactions/bulk`, interactions as NDJSON, one result per line.

Thin: reads the body as it arrives (a line may be at most `max_body_bytes`), hands the lines to
`honorbound.collection.bulk.ingest` (the checks, batches and results, shared with `honorbound
ingest`) and sends the results, spooled to a temporary file (to disk past 1 MB), once the
upload is done.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse

from honorbound.accounts.service import Principal
from honorbound.api.deps import RuntimeDep, require
from honorbound.api.streaming import body_chunks
from honorbound.collection.bulk import ingest
from honorbound.vault.ndjson import split_lines

router = APIRouter(tags=["vault"])
Collector = Annotated[Principal, Depends(require("data.collect"))]
NDJSON = "application/x-ndjson"


def _lines(request: Request, limit: int) -> Iterator[bytes | None]:
    """The body's lines, read from the event loop as the route (a worker thread) needs them."""
    return split_lines(body_chunks(request), limit)


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
        lines = _lines(request, runtime.settings.max_body_bytes)
        ingest(runtime, principal.organization_id, principal.actor, lines, results)
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
