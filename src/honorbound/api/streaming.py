"""A request body read as it arrives, from a sync route (a worker thread): each chunk is
awaited on the event loop only when the route asks for it, so nothing holds the whole body."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import anyio.from_thread
from fastapi import Request


def body_chunks(request: Request) -> Iterator[bytes]:
    stream: AsyncIterator[bytes] = request.stream().__aiter__()

    async def next_chunk() -> bytes | None:
        try:
            return await stream.__anext__()
        except StopAsyncIteration:
            return None

    while (chunk := anyio.from_thread.run(next_chunk)) is not None:
        yield chunk
