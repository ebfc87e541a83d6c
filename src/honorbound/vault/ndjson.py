"""NDJSON lines from a byte stream, with a bound on each line (bulk ingest over HTTP and from
the command line read their input through this one splitter)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator


def split_lines(chunks: Iterable[bytes], limit: int) -> Iterator[bytes | None]:
    """The lines of `chunks` joined, without their newline. None stands for a line longer than
    `limit` (its bytes are skipped, not kept), so memory stays under about `limit` plus one
    chunk whatever the input holds."""
    pending = b""
    too_long = False
    for chunk in chunks:
        pending += chunk
        *complete, pending = pending.split(b"\n")
        for line in complete:
            yield None if too_long or len(line) > limit else line
            too_long = False
        if len(pending) > limit:
            pending, too_long = b"", True
    if pending.strip() or too_long:
        yield None if too_long else pending
