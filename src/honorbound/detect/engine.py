"""One pass per family over the text, then overlap resolution.

Order of work for a text: number runs (written and spoken digits, with the two-line join),
written shapes (email, IP, IBAN, dates, expiry, addresses, context-named ids), people, then
intents. Overlapping PII findings are resolved by score, then length; intents are a separate
layer and may overlap PII ("delete my information" next to an email address).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator
from typing import Final

from honorbound.detect import (
    context,
    conversation,
    digits,
    intents,
    numbers,
    patterns,
    people,
    whole,
)
from honorbound.detect.findings import Finding
from honorbound.detect.prepared import Prepared

INTENT_TYPES: Final = frozenset({intents.OPT_OUT, intents.RIGHTS})


def _kept(
    said: Iterator[tuple[digits.Run, str | None, int]], store: list[tuple[int, int, str]]
) -> Iterator[tuple[digits.Run, str | None, int]]:
    """The runs, each remembered for `whole.complete` unless it is a speaker label's."""
    for run, who, content in said:
        if run.start >= content:
            whole.keep(store, run.start, run.end, run.digits)
        yield run, who, content


def _number_findings(
    prepared: Prepared, index: context.Index, runs: list[tuple[int, int, str]]
) -> list[Finding]:
    """Findings of the number runs: a chain of runs (conversation.py) read as one value when
    a value crosses its pieces, every other run on its own. Runs and chains stream through
    (generators): memory holds one chain at a time, whatever the length of the text."""
    text = prepared.text
    out: list[Finding] = []
    said = _kept(conversation.speakers(text, digits.iter_runs(prepared)), runs)
    for chain in conversation.chains(text, prepared.lowered, said):
        if len(chain) == 1:
            run = chain[0].run
            if run is not None:
                numbers.add_findings(out, text, run, index)
            continue
        for segment, done in zip(
            chain, conversation.findings(out, text, chain, index), strict=True
        ):
            if not done and segment.run is not None:
                numbers.add_findings(out, text, segment.run, index)
    return out


def _candidates(prepared: Prepared, runs: list[tuple[int, int, str]]) -> list[Finding]:
    index = context.Index(prepared)
    out = _number_findings(prepared, index, runs)
    patterns.emails(out, prepared)
    patterns.ips(out, prepared)
    patterns.dates(out, prepared, index)
    if prepared.has_digit:
        # These need a written digit (spoken numbers are handled by the number runs).
        patterns.ibans(out, prepared)
        patterns.expiries(out, prepared, index)
        patterns.addresses(out, prepared)
    patterns.named_ids(out, prepared)
    people.people(out, prepared)
    return out


def resolve(candidates: Iterable[Finding]) -> list[Finding]:
    """Non-overlapping findings: higher score first, then longer span."""
    chosen: list[Finding] = []
    starts: list[int] = []
    ends: list[int] = []
    for finding in sorted(candidates, key=lambda f: (-f.score, f.start - f.end, f.start)):
        # Taken spans never overlap, so sorted by start they are sorted by end too: only the
        # neighbours on either side can collide.
        i = bisect.bisect_right(starts, finding.start)
        if i > 0 and ends[i - 1] > finding.start:
            continue
        if i < len(starts) and starts[i] < finding.end:
            continue
        starts.insert(i, finding.start)
        ends.insert(i, finding.end)
        chosen.append(finding)
    chosen.sort(key=lambda f: (f.start, f.end))
    return chosen


def scan(text: str, *, entities: Iterable[str] | None = None) -> list[Finding]:
    """Every PII finding and intent in `text`, ordered by position."""
    return scan_prepared(Prepared(text), entities=entities)


def scan_prepared(prepared: Prepared, *, entities: Iterable[str] | None = None) -> list[Finding]:
    """`scan` of a text already prepared (tests prepare one without shortcuts)."""
    runs: list[tuple[int, int, str]] = []
    candidates = _candidates(prepared, runs)
    found = resolve(candidates) if len(candidates) > 1 else candidates
    # No partial value: number findings grown over their whole number, repeats added.
    found = whole.complete(prepared.text, prepared.lowered, found, runs)
    said: list[Finding] = []
    intents.intents(said, prepared)
    if said:
        found.extend(said)
        found.sort(key=lambda f: (f.start, f.end))
    if entities is not None:
        wanted = frozenset(entities)
        found = [f for f in found if f.type in wanted]
    return found


def scan_many(texts: Iterable[str]) -> list[list[Finding]]:
    return [scan(text) for text in texts]
