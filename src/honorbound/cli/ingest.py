"""`honorbound ingest FILE`: interactions from an NDJSON file (or `-`, standard input), through
the same code as `POST /v1/interactions/bulk` (`honorbound.collection.bulk.ingest`): the
same checks, collection gate, batches and per-line results."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Annotated, cast

import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TransferSpeedColumn,
)
from sqlalchemy import select

from honorbound.accounts.models import Organization
from honorbound.audit import Actor
from honorbound.cli.common import err, fail, runtime
from honorbound.vault.ndjson import split_lines

CHUNK = 1 << 16
PEEK = 1 << 16  # how much of the input is looked at to tell NDJSON from something else


def _not_ndjson(name: str, why: str) -> None:
    fail(f"{name} is not NDJSON ({why}); give one JSON object per line.")


def _check_start(name: str, head: bytes) -> None:
    """Refuse an input that is plainly not NDJSON (a JSON array, CSV, a binary file) before
    anything is stored; a bad line further on gets its own result instead."""
    if b"\x00" in head:
        _not_ndjson(name, "it holds binary data")
    first = next((line for line in head.split(b"\n") if line.strip()), b"")
    if not first:
        return  # empty input: nothing to ingest, not an error
    if not first.lstrip().startswith(b"{"):
        _not_ndjson(name, "its first line is not a JSON object")
    try:
        first.decode()
    except UnicodeDecodeError:
        _not_ndjson(name, "it is not UTF-8 text")
    if b"\n" in head or len(head) < PEEK:  # the whole first line is at hand
        try:
            json.loads(first)
        except ValueError:
            _not_ndjson(name, "its first line is not valid JSON")


def _chunks(stream: IO[bytes], head: bytes, progress: Progress, task: TaskID) -> Iterator[bytes]:
    progress.advance(task, len(head))
    yield head
    while chunk := stream.read(CHUNK):
        progress.advance(task, len(chunk))
        yield chunk


def _results_file(path: Path) -> IO[bytes]:
    # Results name subjects by id and say what was refused: owner-only, like every data file.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    return os.fdopen(fd, "wb")


class _Counting:
    """The results stream, counting stored and refused lines as they pass."""

    def __init__(self, inner: IO[bytes]) -> None:
        self.inner, self.stored, self.refused = inner, 0, 0

    def write(self, data: bytes) -> int:
        if b'"status":201' in data:
            self.stored += 1
        else:
            self.refused += 1
        return self.inner.write(data)


def ingest_cmd(
    file: Annotated[str, typer.Argument(help="NDJSON file, or - for standard input.")],
    org: Annotated[str, typer.Option(help="Organization slug.")],
    results: Annotated[
        Path | None,
        typer.Option(help="Write the per-line results (NDJSON) here instead of stdout."),
    ] = None,
) -> None:
    """Store interactions from NDJSON, one `POST /v1/interactions/bulk` line each (a
    `POST /v1/subjects/{id}/interactions` body plus `subject_id`). Prints one result per line;
    exit 0 when every line was stored, 1 when some were refused, 2 on unusable input."""
    name = "standard input" if file == "-" else file
    if file == "-":
        stream: IO[bytes] = sys.stdin.buffer
        size: int | None = None
    else:
        path = Path(file)
        if not path.is_file():
            fail(f"{file}: no such file; give an NDJSON file or - for standard input.")
        try:
            stream = path.open("rb")
        except OSError as exc:
            fail(f"{file}: cannot be read ({exc.strerror}).")
        size = path.stat().st_size
    try:
        head = stream.read(PEEK)
        _check_start(name, head)
        rt = runtime()
        try:
            with rt.db.read_session() as session:
                org_id = session.scalar(select(Organization.id).where(Organization.slug == org))
            if org_id is None:
                fail(f"no organization with slug {org!r}")
            actor = Actor("cli", "admin")
            # Imported here so other commands do not load the vault's write path.
            from honorbound.collection.bulk import ingest

            out = _results_file(results) if results is not None else sys.stdout.buffer
            counting = _Counting(out)
            columns = (TextColumn("ingest"), BarColumn(), DownloadColumn(), TransferSpeedColumn())
            try:
                with Progress(*columns, console=err, transient=results is None) as progress:
                    task = progress.add_task("ingest", total=size)
                    lines = _chunks(stream, head, progress, task)
                    ingest(
                        rt,
                        int(org_id),
                        actor,
                        split_lines(lines, rt.settings.max_body_bytes),
                        cast(IO[bytes], counting),
                    )
            finally:
                out.flush()
                if results is not None:
                    out.close()
        finally:
            rt.close()
    finally:
        if file != "-":
            stream.close()
    err.print(f"{counting.stored} stored, {counting.refused} refused", highlight=False)
    if counting.refused:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("ingest")(ingest_cmd)
