"""Free text (transcripts, chats, email bodies, agent notes) is screened here, before storage.

One function, `screen`, is the only call site. It uses the detection engine
(`honorbound.detect.scan`: cards, security codes, SSNs, phones, emails, names, addresses, ...,
spoken forms included) when that package is installed, and otherwise a small built-in scanner
that covers what must never be stored in clear whatever else happens: payment card numbers
(Luhn-checked) and card security codes (PCI DSS v4.0.1 requirement 3.3.1.2: the card
verification code is not retained after authorization, in any form). Both report the same
names for those two: `CREDIT_CARD` and `CVV`.

What is kept:
- `redacted`: every finding replaced by `[TYPE]`; this is the body agents see and search.
  Intents (an opt-out or rights request) and plain dates are counted but left in place.
- `original`: only when the caller's rule allows it for the kinds of value found (the
  declaration must list their categories, see `rules.CollectionRules.may_keep_original`), and
  even then with security codes cut out (card numbers may stay, because the original is stored
  encrypted; PCI DSS 3.5.1). Text with nothing found has no separate original: it is the body.
"""

from __future__ import annotations

import datetime as dt
import importlib
import multiprocessing
import re
import threading
from collections import Counter
from collections.abc import Callable, Collection
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from honorbound.detect.dates import to_date
from honorbound.vault.rules import collection_data

CARD = "CREDIT_CARD"
SECURITY_CODE = "CVV"  # the detection engine's name
# Entity names (from either engine) never kept in any form (data file; PCI DSS 3.3.1.2).
NEVER_KEPT = collection_data().never_kept | {SECURITY_CODE}
# Findings counted but left in the text (intents such as an opt-out request, plain dates).
NOT_REDACTED = collection_data().not_redacted
BIRTH_DATE_KINDS = collection_data().birth_date_kinds
# The engine's intents (requests said in the text), handed on with their spans.
INTENT_KINDS = frozenset({"OPT_OUT_REQUEST", "RIGHTS_REQUEST"})


def parse_birth_date(text: str, today: dt.date | None = None) -> dt.date | None:
    """A date of birth as a date, in any form the detection engine reads as a calendar date
    (`honorbound.detect.dates.to_date`: ISO, US numeric, digits only, month names in English
    or Spanish, days and years in digits or words: "october fifteen nineteen sixty eight").
    None when it is not one of those, or is not a past date."""
    today = today or dt.datetime.now(dt.UTC).date()
    found = to_date(text, today)
    if found is None or found > today or today.year - found.year > 150:
        return None
    return found


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    entity: str


@dataclass(frozen=True)
class Screened:
    redacted: str
    original: str | None
    counts: dict[str, int] = field(default_factory=dict)
    engine: str = "builtin"
    # Dates of birth found in the text (the detection engine's DATE_OF_BIRTH findings that
    # read as a calendar date); they count for the minimum age.
    birth_dates: tuple[dt.date, ...] = ()
    # Requests said in the text (the engine's intent findings, offsets into the text as sent),
    # for `honorbound.intents` to act on.
    intents: tuple[Span, ...] = ()


_CARD_CANDIDATE = re.compile(r"(?<![\d-])(?:\d[ -]?){12,18}\d(?![\d-])")
_CODE_NEAR = re.compile(
    r"(?i)\b(?:cvv2?|cvc2?|cid|csc|security\s+code|verification\s+(?:code|number)|"
    r"(?:three|four|3|4)[- ]digit\s+code)\b[^0-9\n]{0,25}(\d{3,4})(?!\d)"
)


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = ord(ch) - 48
        if i % 2 == 1:
            n *= 2
            if n > 9:
                n -= 9
        total += n
    return total % 10 == 0


def builtin_spans(text: str) -> list[Span]:
    spans: list[Span] = []
    for match in _CARD_CANDIDATE.finditer(text):
        digits = re.sub(r"[ -]", "", match.group())
        if 13 <= len(digits) <= 19 and luhn_ok(digits):
            spans.append(Span(match.start(), match.end(), CARD))
    for match in _CODE_NEAR.finditer(text):
        spans.append(Span(match.start(1), match.end(1), SECURITY_CODE))
    return spans


@cache
def _detect_scan() -> Any:
    """`honorbound.detect.scan` when the detection engine is installed, else None (looked up
    once: a failed import is slow to repeat on every interaction)."""
    try:
        detect = importlib.import_module("honorbound.detect")
    except ImportError:
        return None
    return getattr(detect, "scan", None)


def _engine_spans(text: str) -> tuple[list[Span], str] | None:
    scan: Any = _detect_scan()
    if scan is None:
        return None
    spans = []
    for finding in scan(text):
        entity = str(
            getattr(finding, "type", None)
            or getattr(finding, "entity", None)
            or getattr(finding, "entity_type", None)
            or "PII"
        )
        spans.append(Span(int(finding.start), int(finding.end), entity.upper()))
    return spans, "honorbound.detect"


def _merge(spans: list[Span]) -> list[Span]:
    """Sort and drop overlaps; a security code wins over whatever overlaps it."""
    ordered = sorted(spans, key=lambda s: (s.start, -(s.end - s.start)))
    out: list[Span] = []
    for span in ordered:
        if out and span.start < out[-1].end:
            last = out[-1]
            never = [e for e in (last.entity, span.entity) if e in NEVER_KEPT]
            entity = never[0] if never else last.entity
            out[-1] = Span(last.start, max(last.end, span.end), entity)
        else:
            out.append(span)
    return out


def _replace(text: str, spans: list[Span], which: frozenset[str] | None) -> str:
    parts: list[str] = []
    cursor = 0
    for span in spans:
        if which is not None and span.entity not in which:
            continue
        parts.append(text[cursor : span.start])
        parts.append(f"[{span.entity}]")
        cursor = span.end
    parts.append(text[cursor:])
    return "".join(parts)


KeepRule = Callable[[Collection[str]], bool]


def screen(text: str, keep_original: bool | KeepRule) -> Screened:
    """Scan `text`; `keep_original` is a yes/no or a rule asked with the kinds of value found."""
    found = _engine_spans(text)
    if found is not None:
        spans, engine = found
    else:
        spans, engine = builtin_spans(text), "builtin"
    born = tuple(
        day
        for span in spans
        if span.entity in BIRTH_DATE_KINDS
        and (day := parse_birth_date(text[span.start : span.end])) is not None
    )
    counts = dict(Counter(span.entity for span in spans if span.entity in NOT_REDACTED))
    intents = tuple(span for span in spans if span.entity in INTENT_KINDS)
    spans = _merge([span for span in spans if span.entity not in NOT_REDACTED])
    counts.update(Counter(span.entity for span in spans))
    redacted = _replace(text, spans, None)
    keep = keep_original(set(counts)) if callable(keep_original) else keep_original
    original = None
    if keep and any(span.entity not in NEVER_KEPT for span in spans):
        original = _replace(text, spans, NEVER_KEPT)
    return Screened(redacted, original, counts, engine, born, intents)


def screen_all(texts: list[str]) -> list[Screened]:
    """Each text screened with the original kept aside (what `vault.collection` stores
    decides later whether it is kept); a module function so a process pool can run it."""
    return [screen(text, keep_original=True) for text in texts]


class ScreeningPool:
    """Screening in other processes, so bulk ingest screens the next batch while it writes
    this one (the detector holds the GIL: threads would not overlap). `processes` 0: no pool,
    `submit` answers None and the caller screens in its own thread. The processes start on
    the first batch (spawned: a fork of a threaded server is unsafe) and stop with `close`.

    A text crosses the process boundary in memory (a pipe), never a file; the results are
    the same objects `screen` returns in the caller's process."""

    def __init__(self, processes: int) -> None:
        self.processes = processes
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def submit(self, texts: list[str]) -> Callable[[], list[Screened]] | None:
        """The screening of `texts` started; call the answer for the results, in order."""
        if self.processes < 1 or not texts:
            return None
        with self._lock:
            if self._pool is None:
                context = multiprocessing.get_context("spawn")
                self._pool = ProcessPoolExecutor(self.processes, mp_context=context)
            pool = self._pool
        size = -(-len(texts) // self.processes)
        try:
            futures = [
                pool.submit(screen_all, texts[i : i + size]) for i in range(0, len(texts), size)
            ]
        except BrokenProcessPool:
            # A screening process died earlier (killed, out of memory): start afresh next
            # time, and screen this batch in the caller's thread.
            with self._lock:
                if self._pool is pool:
                    self._pool = None
            pool.shutdown(wait=False, cancel_futures=True)
            return None

        def results() -> list[Screened]:
            try:
                return [s for future in futures for s in future.result()]
            except BrokenProcessPool:
                # A screening process died (killed, out of memory): screen here instead.
                return screen_all(texts)

        return results

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
