"""Number runs: written and spoken digits, mapped back to the original text.

A run is a stretch of digit groups and spoken digit words joined by light separators (spaces,
commas, dashes, dots, parentheses): "4111 1111 1111 1111", "five five oh, double two",
"41 11 11 11", "(212) 555-0100". Each digit of the run's digit string keeps the offsets of the
original characters it came from, so every finding maps back to the original text.

The run pattern is linear: tokens and separators are disjoint character classes and the digit
token is possessive, so no input makes the regex backtrack.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

UNITS = {
    "zero": "0",
    "oh": "0",
    "o": "0",
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
    "niner": "9",
    # Spanish: callers switch language mid-call.
    "cero": "0",
    "uno": "1",
    "dos": "2",
    "tres": "3",
    "cuatro": "4",
    "cinco": "5",
    "seis": "6",
    "siete": "7",
    "ocho": "8",
    "nueve": "9",
}
TEENS = {
    "ten": "10",
    "eleven": "11",
    "twelve": "12",
    "thirteen": "13",
    "fourteen": "14",
    "fifteen": "15",
    "sixteen": "16",
    "seventeen": "17",
    "eighteen": "18",
    "nineteen": "19",
}
TENS = {
    "twenty": "2",
    "thirty": "3",
    "forty": "4",
    "fifty": "5",
    "sixty": "6",
    "seventy": "7",
    "eighty": "8",
    "ninety": "9",
}
REPEAT = {"double": 2, "triple": 3}
WORDS = {**UNITS, **TEENS, **TENS, "hundred": "00", "double": "", "triple": ""}

_PIECE = re.compile(r"\d+|[A-Za-z]+")
_SEPARATORS = " \t,.-()#*"  # "*" and "#" from keypad notation
_MAX_GAP = 6
_DIGIT = re.compile(r"\d")
_DIGITS = re.compile(r"\d+")
_LETTERS = re.compile(r"[a-z]+")
_GATE_WORDS = frozenset(w for w in WORDS if len(w) > 1)


def _has_number_word(text: str) -> bool:
    # C-speed: find the words, then one set operation ("o" for zero only counts between other
    # number words, which this finds).
    return not _GATE_WORDS.isdisjoint(_LETTERS.findall(text.lower()))


# A run longer than this is not scanned window by window (no identifier is that long, and a
# 100k-digit blob must not cost 100k x 17 validations).
MAX_RUN_DIGITS = 64


@dataclass(slots=True)
class Run:
    digits: str
    starts: list[int]  # original start offset of each digit
    ends: list[int]  # original end offset of each digit
    bounds: list[int]  # digit indices where a token starts (plus len(digits))
    spoken: bool
    plus: bool
    start: int
    end: int
    # Digit indices at which the run continues on the next line (two-line runs).
    breaks: tuple[int, ...] = ()

    def span(self, i: int, j: int) -> tuple[int, int]:
        return self.starts[i], self.ends[j - 1]


def _build(text: str, pieces: list[re.Match[str]]) -> Run | None:
    digits: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    bounds: list[int] = []
    spoken = False
    pending_repeat = 1
    k = 0
    while k < len(pieces):
        piece = pieces[k]
        k += 1
        value = piece.group()
        s, e = piece.span()
        if value[0].isdigit():
            bounds.append(len(digits))
            if pending_repeat > 1 and len(value) == 1:
                value = value * pending_repeat
                pending_repeat = 1
                for ch in value:
                    digits.append(ch)
                    starts.append(s)
                    ends.append(e)
                continue
            pending_repeat = 1
            digits.extend(value)
            starts.extend(range(s, e))
            ends.extend(range(s + 1, e + 1))
            continue
        word = value.lower()
        spoken = True
        if word in REPEAT:
            pending_repeat = REPEAT[word]
            continue
        if word in TENS:
            out = TENS[word] + "0"
            nxt = pieces[k] if k < len(pieces) else None
            if nxt is not None:
                following = nxt.group().lower()
                unit = UNITS.get(following)
                if unit is not None and unit != "0":
                    out = TENS[word] + unit
                    e = nxt.end()
                    k += 1
        elif word == "hundred":
            out = "00"
        else:
            out = UNITS.get(word) or TEENS.get(word, "")
        if not out:
            continue
        if word != "hundred":
            bounds.append(len(digits))
        if pending_repeat > 1 and len(out) == 1:
            out = out * pending_repeat
        pending_repeat = 1
        for ch in out:
            digits.append(ch)
            starts.append(s)
            ends.append(e)
    if not digits:
        return None
    bounds.append(len(digits))
    first = pieces[0].start()
    plus = first > 0 and text[first - 1] == "+"
    return Run("".join(digits), starts, ends, bounds, spoken, plus, first, pieces[-1].end())


def runs(text: str) -> list[Run]:
    """Every number run in `text`, in order.

    One linear pass over letter and digit pieces (a C-speed regex); a piece continues the
    current run when only separators (at most a few) lie between them. Runs longer than
    MAX_RUN_DIGITS pieces are dropped without being kept in memory.
    """
    found: list[Run] = []
    # Fast path: with no number word in the text only digit pieces matter, and `\d+` lets the
    # regex engine skip everything else in C.
    pattern = _PIECE if _has_number_word(text) else _DIGITS
    if pattern is _DIGITS and not _DIGIT.search(text):
        return found
    current: list[re.Match[str]] = []
    overflow = False
    last_end = -1
    for piece in pattern.finditer(text):
        value = piece.group()
        numeric = value[0].isdigit() or value.lower() in WORDS
        if numeric:
            start = piece.start()
            if current or overflow:
                gap = text[last_end:start]
                joined = 0 < len(gap) <= _MAX_GAP and not gap.strip(_SEPARATORS)
                if not joined:
                    if current and not overflow:
                        _close(text, current, found)
                    current = []
                    overflow = False
            if len(value) > MAX_RUN_DIGITS:
                overflow = True
                current = []
            elif not overflow:
                current.append(piece)
                if len(current) > MAX_RUN_DIGITS:
                    overflow = True
                    current = []
            last_end = piece.end()
        elif current or overflow:
            if current and not overflow:
                _close(text, current, found)
            current = []
            overflow = False
    if current and not overflow:
        _close(text, current, found)
    return found


def _close(text: str, pieces: list[re.Match[str]], found: list[Run]) -> None:
    # A lone short piece ("3 items", "one of them") can never be an identifier: skip the
    # bookkeeping, which matters on texts made of millions of them.
    if len(pieces) == 1 and len(pieces[0].group()) < 3 and pieces[0].group()[0].isdigit():
        return
    run = _build(text, pieces)
    if run is not None:
        found.append(run)


def join(first: Run, second: Run) -> Run:
    """One run made of two (a number a speaker split over two lines)."""
    offset = len(first.digits)
    return Run(
        first.digits + second.digits,
        first.starts + second.starts,
        first.ends + second.ends,
        first.bounds[:-1] + [b + offset for b in second.bounds],
        first.spoken or second.spoken,
        first.plus,
        first.start,
        second.end,
        (*first.breaks, offset, *(b + offset for b in second.breaks)),
    )


def to_digits(value: str) -> str:
    """The digits a written or spoken value stands for ("five five oh" -> "550")."""
    pieces = [
        p for p in _PIECE.finditer(value) if p.group()[0].isdigit() or p.group().lower() in WORDS
    ]
    run = _build(value, pieces) if pieces else None
    return run.digits if run else ""
