"""No partial value: a number finding never leaves part of its number in clear.

A finding made of digits (card, SSN, phone, account, date of birth ...) may cover only part
of what was said: a window of a longer run ("five five five one two three four" of a
ten-digit run whose whole failed a check), the corrected reading of a self-correction, a run
split by a filler. And a value said once may be said again where no chain links it: the agent
reading it back after "let me read that back to you", the customer repeating it later. Both
leave digits of a card or SSN in a "redacted" transcript, which is what a PCI assessor looks
for. After overlap resolution this pass:

- **extends** each number finding over the number tokens next to it (digits and number
  words, English and Spanish) on the same line, through separators, fillers and
  self-correction words (`data/conversation_words.txt`: "uh", "este", "no sorry",
  "perdón"), up to the next finding: the run is covered whole, as one finding of the type
  already chosen;
- **repeats**: a number run of four or more digits (or of three, alone on its line near the
  value: a chunk echoed back) that no finding covers, whose digits are part of a found card,
  SSN, ITIN, phone or account number of seven or more digits (or hold it whole), is reported
  as a piece of that value (same type and `value_id`); a date said again that names the
  same day as a date of birth is that date of birth.

It only ever grows or adds findings next to findings already made, so a text with no finding
(a hard negative) is untouched. Windows are bounded (`_REACH` characters each side, runs
kept up to `_MAX_RUNS`), so its cost does not grow with the length of a text's lines.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from typing import Final

from honorbound.detect import conversation, dates
from honorbound.detect import digits as digit_words
from honorbound.detect.findings import Finding
from honorbound.detect.resources import word_classes

NUMBER_TYPES: Final = frozenset(
    {
        "CREDIT_CARD",
        "CVV",
        "CARD_EXPIRY",
        "US_SSN",
        "US_ITIN",
        "PHONE_NUMBER",
        "US_BANK_NUMBER",
        "ABA_ROUTING_NUMBER",
        "DATE_OF_BIRTH",
        "US_DRIVER_LICENSE",
        "US_PASSPORT",
        "MEDICAL_RECORD",
    }
)
# Types whose value, said again elsewhere, is still that value.
_REPEATED: Final = frozenset({"CREDIT_CARD", "US_SSN", "US_ITIN", "PHONE_NUMBER", "US_BANK_NUMBER"})
_CLASSES: Final = word_classes("conversation_words.txt")
# Words that may stand inside one number: hesitations and self-corrections, and the "y" of
# "cuarenta y uno".
_INSIDE: Final = _CLASSES["filler"] | _CLASSES["correction"] | _CLASSES["mark"] | {"y", "and"}
_NUMBER: Final = frozenset(w for w in digit_words.WORDS if w not in ("y", "o"))
_TOKEN: Final = re.compile(r"[^\W_]+|\n|[^\s\w]")
_SEPARATOR: Final = frozenset(",.-()#*")
_REACH: Final = 160
_MAX_INSIDE: Final = 3  # light words in a row between two number tokens
_MAX_RUNS: Final = 4096
_MAX_VALUES: Final = 256


def _is_number(token: str) -> bool:
    return token.isdigit() or token in _NUMBER


def _walk(tokens: Iterator[re.Match[str]], limit: int) -> int:
    """How far (an offset) the number tokens at the head of `tokens` go; -1 for none. Lazy:
    most findings end where their number ends, so one token is read."""
    reached = -1
    light = 0
    for match in tokens:
        token, start, end = match.group(), match.start(), match.end()
        if start >= limit or token == "\n":
            break
        if _is_number(token):
            reached = end
            light = 0
        elif token in _SEPARATOR:
            continue
        elif token in _INSIDE and light < _MAX_INSIDE:
            light += 1
        else:
            break
    return reached


def _walk_left(lowered: str, window: int, start: int) -> int:
    """Where the number tokens and light words just before `start` begin, within the window
    (`window` when they fill it)."""
    first = start
    for match in reversed(list(_TOKEN.finditer(lowered, window, start))):
        token = match.group()
        if _is_number(token) or token in _SEPARATOR or token in _INSIDE:
            first = match.start()
            continue
        return start if first == start else first
    return window if first != start else start


def _extend(text: str, lowered: str, found: list[Finding]) -> list[Finding]:
    out: list[Finding] = []
    pii = [k for k, f in enumerate(found) if f.type not in _SKIP]
    for n, k in enumerate(pii):
        finding = found[k]
        if finding.type not in NUMBER_TYPES:
            continue
        before = found[pii[n - 1]].end if n > 0 else 0
        after = found[pii[n + 1]].start if n + 1 < len(pii) else len(text)
        start, end = finding.start, finding.end
        # Right: the tokens after the finding, in order.
        right = _TOKEN.finditer(lowered, end, min(after, end + _REACH))
        reached = _walk(right, after)
        if reached > end:
            end = reached
        # Left: the tokens before it, nearest first, read the same way.
        # Left: a short window first; the whole reach only when the number fills it.
        window = max(before, start - 24)
        if window > before and _walk_left(lowered, window, start) == window:
            window = max(before, start - _REACH)
        left = [(m.group(), m.start(), m.end()) for m in _TOKEN.finditer(lowered, window, start)]
        if left and left[0][1] == window and window > before and lowered[window - 1].isalnum():
            left = left[1:]  # a word cut by the window
        first = -1
        light = 0
        for token, s, _e in reversed(left):
            if token == "\n":
                break
            if _is_number(token):
                first = s
                light = 0
            elif token in _SEPARATOR:
                continue
            elif token in _INSIDE and light < _MAX_INSIDE:
                light += 1
            else:
                break
        if first != -1 and first < start:
            start = first
        if start == finding.start and end == finding.end:
            continue
        found[k] = Finding(
            finding.type, start, end, finding.score, text[start:end], finding.value_id
        )
        out.append(found[k])
    return out


_SKIP: Final = frozenset({"OPT_OUT_REQUEST", "RIGHTS_REQUEST"})


def _repeats(text: str, found: list[Finding], runs: list[tuple[int, int, str]]) -> list[Finding]:
    spans = sorted((f.start, f.end) for f in found if f.type not in _SKIP)
    starts = [s for s, _e in spans]
    free: list[tuple[int, int, str]] = []
    for start, end, said in runs:
        # Taken spans do not overlap: only the one starting last before `end` can collide.
        i = bisect.bisect_left(starts, end) - 1
        if i < 0 or spans[i][1] <= start:
            free.append((start, end, said))
    if not free:
        return []  # every number run is already covered: nothing can be a repeat
    pieces: list[tuple[str, str, int, int | None]] = []
    for f in found:
        if f.type in _REPEATED and len(pieces) < _MAX_VALUES:
            value = digit_words.to_digits(f.text if f.text is not None else text[f.start : f.end])
            pieces.append((value, f.type, f.start, f.value_id))
    values = [piece for piece in pieces if len(piece[0]) >= 7]
    # The pieces of one value said in several places, put together in order.
    whole: dict[int, tuple[str, list[str]]] = {}
    for value, kind, _start, value_id in pieces:
        if value_id is not None:
            whole.setdefault(value_id, (kind, []))[1].append(value)
    values += [
        ("".join(parts), kind, vid, vid)
        for vid, (kind, parts) in whole.items()
        if len(parts) > 1 and len("".join(parts)) >= 7
    ]
    if not values:
        return []
    added: list[Finding] = []
    for start, end, said in free:
        for value, kind, at, value_id in values:
            near = len(said) >= 4 or (abs(start - at) < 400 and _own_line(text, start, end))
            if near and (said in value or (len(said) <= 19 and value in said)):
                vid = value_id if value_id is not None else at
                added.append(Finding(kind, start, end, 0.6, text[start:end], vid))
                break
    return added


def _birth_repeats(text: str, found: list[Finding]) -> None:
    """A date said again (the agent reading a date of birth back) is that date of birth."""
    births = {_normal(text[f.start : f.end]) for f in found if f.type == "DATE_OF_BIRTH"}
    if not births:
        return
    days = {day for day in (dates.to_date(value) for value in births) if day is not None}
    for k, f in enumerate(found):
        if f.type != "DATE_TIME":
            continue
        value = _normal(text[f.start : f.end])
        if value in births or (days and dates.to_date(value) in days):
            found[k] = Finding("DATE_OF_BIRTH", f.start, f.end, f.score, f.text, f.value_id)


def _normal(value: str) -> str:
    return " ".join(_TOKEN.findall(value.lower()))


def _own_line(text: str, start: int, end: int) -> bool:
    """Whether a run is all its line says, after a speaker label (a chunk echoed back)."""
    line_start = text.rfind("\n", 0, start) + 1
    _who, content = conversation.speaker_at(text, start)
    line_end = text.find("\n", end)
    tail = text[end : len(text) if line_end == -1 else line_end]
    head = text[max(content, line_start) : start]
    return not head.strip(" \t.,") and not tail.strip(" \t.,?!")


def complete(
    text: str, lowered: str, found: list[Finding], runs: list[tuple[int, int, str]]
) -> list[Finding]:
    """`found` (sorted, PII not overlapping) with every number finding grown over its whole
    number and the value's repeats added; `runs` are the text's number runs (start, end,
    digits) as the scan found them."""
    if not any(f.type in NUMBER_TYPES for f in found):
        return found
    found = list(found)
    _birth_repeats(text, found)
    if len(lowered) != len(text):
        lowered = text  # a rare character that lower-cases to two: read the original
    _extend(text, lowered, found)
    added = _repeats(text, found, runs)
    if added:
        found.extend(added)
        found.sort(key=lambda f: (f.start, f.end))
    return found


def keep(runs: list[tuple[int, int, str]], start: int, end: int, said: str) -> None:
    """Remember a number run for `complete` (bounded: a text of a million runs keeps
    `_MAX_RUNS`)."""
    if len(said) >= 3 and len(runs) < _MAX_RUNS:
        runs.append((start, end, said))
