"""`honorbound scan` and `honorbound redact`: JSON Lines in, JSON Lines out.

Input lines are `{"id": ..., "text": ...}`; output is one line per input line, in order.
Streaming: lines are read, processed in batches and written as they complete, with at most a
few batches in flight, so memory stays bounded whatever the input size. `--workers N` spreads
batches over N processes. A line that is not UTF-8, not JSON, or not an object with a string
`text` is reported by line number (never by content) and skipped or fatal per `--on-error`.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from enum import StrEnum
from pathlib import Path
from typing import IO, Annotated

import typer

from honorbound.cli.common import err, fail
from honorbound.detect import records

BATCH_LINES = 256
BATCH_BYTES = 4 * 1024 * 1024


class OnError(StrEnum):
    skip = "skip"
    fail = "fail"


class OperatorName(StrEnum):
    replace_ = "replace"
    mask = "mask"
    redact = "redact"
    pseudonym = "pseudonym"
    encrypt = "encrypt"
    synthetic = "synthetic"


# One processed line: (line number, output JSON line or None, error sentence or None).
Outcome = tuple[int, str | None, str | None]


def process(
    batch: list[tuple[int, bytes]],
    operator: str | None,
    key: bytes | None,
    entities: frozenset[str] | None = None,
) -> list[Outcome]:
    """Scan (operator None) or redact each line of a batch. Runs in worker processes."""
    done: list[Outcome] = []
    for number, raw in batch:
        parsed = records.parse_line(raw)
        if isinstance(parsed, str):
            done.append((number, None, f"line {number}: {parsed}"))
            continue
        ident, text = parsed
        if operator is None:
            record = records.scan_record(ident, text, entities)
        else:
            record = records.redact_record(ident, text, operator, key, entities)
        done.append((number, json.dumps(record, ensure_ascii=False), None))
    return done


def _batches(stream: IO[bytes], progress: _Progress) -> Iterator[list[tuple[int, bytes]]]:
    batch: list[tuple[int, bytes]] = []
    size = 0
    for number, raw in enumerate(stream, start=1):
        progress.advance(len(raw))
        stripped = raw.rstrip(b"\r\n")
        if not stripped.strip():
            continue
        batch.append((number, stripped))
        size += len(stripped)
        if len(batch) >= BATCH_LINES or size >= BATCH_BYTES:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


class _Progress:
    """A rich progress bar on stderr, only when stderr is a terminal."""

    def __init__(self, total: int | None) -> None:
        self._bar = None
        self._task = None
        if sys.stderr.isatty():
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                Progress,
                TimeRemainingColumn,
                TransferSpeedColumn,
            )

            self._bar = Progress(
                BarColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                TimeRemainingColumn(),
                console=err,
                transient=True,
            )
            self._task = self._bar.add_task("scanning", total=total)
            self._bar.start()

    def advance(self, amount: int) -> None:
        if self._bar is not None and self._task is not None:
            self._bar.advance(self._task, amount)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()


def _open(source: str) -> tuple[IO[bytes], int | None]:
    if source == "-":
        return sys.stdin.buffer, None
    path = Path(source)
    # /dev/stdin, /dev/null, a named pipe or process substitution (/dev/fd/63) are not regular
    # files but read like one; only a regular file has a size for the progress bar.
    if path.is_dir():
        fail(f"{source}: is a directory; give a JSON Lines file or '-' for standard input")
    try:
        stream = path.open("rb")
    except FileNotFoundError:
        fail(f"{source}: no such file; give a JSON Lines file or '-' for standard input")
    except OSError as exc:
        fail(f"{source}: cannot be read ({exc.strerror}); give a JSON Lines file or '-'")
    size = os.fstat(stream.fileno())
    return stream, size.st_size if stat.S_ISREG(size.st_mode) else None


def read_key(path: Path | None, env: str | None, operator: str) -> bytes | None:
    try:
        return records.read_key(operator, None if path is None else str(path), env, os.environ)
    except ValueError as exc:
        fail(str(exc))


def read_entities(spec: str | None) -> frozenset[str] | None:
    try:
        return records.select_entities(spec)
    except ValueError as exc:
        fail(f"--entities: {exc}")


def run(
    source: str,
    operator: str | None,
    key: bytes | None,
    workers: int,
    on_error: OnError,
    output: IO[str],
    entities: frozenset[str] | None = None,
) -> int:
    """Process `source` into `output`; returns the number of bad lines."""
    if workers == 0:
        workers = os.cpu_count() or 1
    stream, total = _open(source)
    progress = _Progress(total)
    bad = 0

    def emit(outcomes: list[Outcome]) -> None:
        nonlocal bad
        for _number, line, problem in outcomes:
            if problem is not None:
                bad += 1
                if on_error is OnError.fail:
                    output.flush()
                    progress.close()
                    fail(f"{problem}; stopped (use --on-error skip to skip bad lines)", code=1)
                err.print(f"[yellow]skipped[/] {problem}", highlight=False)
                continue
            output.write(line + "\n" if line is not None else "")

    try:
        if workers <= 1:
            for batch in _batches(stream, progress):
                emit(process(batch, operator, key, entities))
        else:
            with ProcessPoolExecutor(max_workers=workers) as pool:
                pending: deque[Future[list[Outcome]]] = deque()
                for batch in _batches(stream, progress):
                    pending.append(pool.submit(process, batch, operator, key, entities))
                    # Bounded memory: at most two batches per worker in flight.
                    while len(pending) >= 2 * workers:
                        emit(pending.popleft().result())
                while pending:
                    emit(pending.popleft().result())
    finally:
        progress.close()
        output.flush()
        if stream is not sys.stdin.buffer:
            stream.close()
    return bad


Source = Annotated[str, typer.Argument(help="JSON Lines file, or '-' for standard input.")]
Workers = Annotated[
    int,
    typer.Option(min=0, max=256, help="Processes to use (0: one per core; default 1)."),
]
OnErrorOpt = Annotated[
    OnError, typer.Option("--on-error", help="What to do with a line that is not valid input.")
]
Entities = Annotated[
    str | None,
    typer.Option(
        "--entities",
        help="Only these types, comma-separated (CREDIT_CARD,US_SSN); default: every type.",
    ),
]


def scan_command(
    source: Source = "-",
    workers: Workers = 1,
    on_error: OnErrorOpt = OnError.fail,
    entities: Entities = None,
) -> None:
    """Find PII and intents: writes {"id", "findings": [{"type", "start", "end", "score"}]}."""
    run(source, None, None, workers, on_error, sys.stdout, read_entities(entities))


def redact_command(
    source: Source = "-",
    operator: Annotated[
        OperatorName, typer.Option("--operator", help="How each finding is replaced.")
    ] = OperatorName.replace_,
    key_file: Annotated[
        Path | None,
        typer.Option("--key-file", help="Key for pseudonym/encrypt: 32 bytes, raw or hex."),
    ] = None,
    key_env: Annotated[
        str | None,
        typer.Option("--key-env", help="Environment variable holding the key (hex)."),
    ] = None,
    workers: Workers = 1,
    on_error: OnErrorOpt = OnError.fail,
    entities: Entities = None,
) -> None:
    """Redact PII: writes {"id", "text", "findings"} with the redacted text."""
    key = read_key(key_file, key_env, operator.value)
    chosen = read_entities(entities)
    run(source, operator.value, key, workers, on_error, sys.stdout, chosen)


def register(app: typer.Typer) -> None:
    app.command("scan")(scan_command)
    app.command("redact")(redact_command)
