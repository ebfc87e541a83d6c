"""One pass per family over the text, then overlap resolution.

Order of work for a text: number runs (written and spoken digits, with the two-line join),
written shapes (email, IP, IBAN, dates, expiry, addresses, context-named ids), people, then
intents. Overlapping PII findings are resolved by score, then length; intents are a separate
layer and may overlap PII ("delete my information" next to an email address).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable
from typing import Final

from honorbound.detect import context, digits, intents, numbers, patterns, people
from honorbound.detect.findings import Finding
from honorbound.detect.prepared import Prepared

INTENT_TYPES: Final = frozenset({intents.OPT_OUT, intents.RIGHTS})
_LABEL: Final = re.compile(r"[ \t]*([A-Za-z][\w .'\-]{0,30}?)[ \t]*:")


def _speaker(text: str, position: int) -> tuple[str | None, int]:
    """The speaker label of the line holding `position`, and where the line's content starts."""
    line_start = text.rfind("\n", 0, position) + 1
    label = _LABEL.match(text, line_start, position)
    if label:
        return label.group(1).strip().lower(), label.end()
    return None, line_start


def _joinable(text: str, first: digits.Run, second: digits.Run) -> bool:
    """`second` continues `first` on the next line of the same speaker."""
    newline = text.find("\n", first.end, second.start)
    if newline == -1 or text[first.end : newline].strip(" \t.,-"):
        return False
    if text.find("\n", newline + 1, second.start) != -1:
        return False
    who_first, _ = _speaker(text, first.start)
    who_second, content_start = _speaker(text, second.start)
    if who_first != who_second:
        return False
    return text[content_start : second.start].strip() == ""


def _number_findings(prepared: Prepared, index: context.Index) -> list[Finding]:
    text = prepared.text
    found = digits.runs(prepared)
    out: list[Finding] = []
    k = 0
    while k < len(found):
        run = found[k]
        if k + 1 < len(found) and "\n" in text[run.end : found[k + 1].start]:
            nxt = found[k + 1]
            if _joinable(text, run, nxt):
                joined = digits.join(text, run, nxt)
                crossing = [
                    hit
                    for hit in numbers.classify_run(text, joined, index)
                    if hit[0] < joined.breaks[0] < hit[1]
                ]
                if crossing:
                    numbers.add_findings(out, text, joined, index)
                    k += 2
                    continue
        numbers.add_findings(out, text, run, index)
        k += 1
    return out


def _candidates(prepared: Prepared) -> list[Finding]:
    index = context.Index(prepared)
    out = _number_findings(prepared, index)
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
    candidates = _candidates(prepared)
    found = resolve(candidates) if len(candidates) > 1 else candidates
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
