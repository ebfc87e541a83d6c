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
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Final

from honorbound.detect.prepared import Prepared, word_gate

UNITS: Final = {
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
TEENS: Final = {
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
    # Spanish teens and twenties ("veintiuno"); ASR writes them with or without accents.
    "diez": "10",
    "once": "11",
    "doce": "12",
    "trece": "13",
    "catorce": "14",
    "quince": "15",
    "dieciseis": "16",
    "dieciséis": "16",
    "diecisiete": "17",
    "dieciocho": "18",
    "diecinueve": "19",
    "veintiuno": "21",
    "veintiun": "21",
    "veintidos": "22",
    "veintidós": "22",
    "veintitres": "23",
    "veintitrés": "23",
    "veinticuatro": "24",
    "veinticinco": "25",
    "veintiseis": "26",
    "veintiséis": "26",
    "veintisiete": "27",
    "veintiocho": "28",
    "veintinueve": "29",
}
TENS: Final = {
    "twenty": "2",
    "thirty": "3",
    "forty": "4",
    "fifty": "5",
    "sixty": "6",
    "seventy": "7",
    "eighty": "8",
    "ninety": "9",
    "veinte": "2",
    "treinta": "3",
    "cuarenta": "4",
    "cincuenta": "5",
    "sesenta": "6",
    "setenta": "7",
    "ochenta": "8",
    "noventa": "9",
}
# Spanish hundreds: "ochocientos" 800, "ochocientos veinte" 820, "novecientos noventa y
# nueve" 999; a unit after them stays a digit of its own ("ochocientos cinco cinco cinco" is
# 800 555, as people dictate a toll-free number).
HUNDREDS: Final = {
    "cien": "1",
    "ciento": "1",
    "doscientos": "2",
    "doscientas": "2",
    "trescientos": "3",
    "trescientas": "3",
    "cuatrocientos": "4",
    "cuatrocientas": "4",
    "quinientos": "5",
    "quinientas": "5",
    "seiscientos": "6",
    "seiscientas": "6",
    "setecientos": "7",
    "setecientas": "7",
    "ochocientos": "8",
    "ochocientas": "8",
    "novecientos": "9",
    "novecientas": "9",
}
# "cuarenta y uno": the Spanish tens take their unit after "y" only ("cuarenta cuatro" is
# 40 then 4, as a number is dictated in groups).
_SPANISH_TENS: Final = frozenset(
    {"veinte", "treinta", "cuarenta", "cincuenta", "sesenta", "setenta", "ochenta", "noventa"}
)
# "cuarenta y uno": the Spanish tens take their unit after "y".
_AND: Final = frozenset({"y"})
REPEAT: Final = {"double": 2, "triple": 3}
WORDS: Final[dict[str, str]] = {
    **UNITS,
    **TEENS,
    **TENS,
    **HUNDREDS,
    "hundred": "00",
    "double": "",
    "triple": "",
    "y": "",
    "thousand": "",
    "mil": "",
}
THOUSAND: Final = frozenset({"thousand", "mil"})

_PIECE: Final = re.compile(r"\d+|[^\W\d_]+")
_SEPARATORS: Final = " \t,.-()#*"  # "*" and "#" from keypad notation
_MAX_GAP: Final = 6
_DIGITS: Final = re.compile(r"\d+")
_ASCII_DIGITS: Final = re.compile(r"[0-9]+")
_LETTERS: Final = re.compile(r"[a-z]+")
_GATE_WORDS: Final = frozenset(w for w in WORDS if len(w) > 1 and w.isascii())

# A run is found whole by one pattern, in C: tokens joined by 1-6 separators. Tokens (digits,
# or a whole number word between non-letters) and separators are disjoint, and the repetition
# is possessive, so the match is linear whatever the input.
_GAP: Final = rf"[{re.escape(_SEPARATORS)}]{{1,{_MAX_GAP}}}"


def trie(words: Iterable[str], first: str = "") -> str:
    """An alternation of `words` factored by common prefixes ("o(?:ne|h|cho)?"): the regex
    engine then tries one branch per letter instead of every word at every position.

    `first` goes after the first letter of every word: with a lookbehind there, each branch
    still starts with a plain letter, so the engine skips in C to positions holding one."""
    root: dict[str, dict] = {}  # type: ignore[type-arg]
    for word in words:
        node = root
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def emit(node: dict, after: str = "") -> str:  # type: ignore[type-arg]
        branches = [re.escape(ch) + after + emit(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if "" in node else body

    return emit(root, first)


_WORD_TRIE: Final = trie(WORDS)
# ASCII texts are matched on their lower-cased copy (same offsets), which is several times
# faster than case-insensitive matching; other texts on the original, ASCII case folding only.
# "(?<![a-z].)" after a word's first letter: the letter before the word is not a letter.
_FOLDED_TRIE: Final = trie(WORDS, first=r"(?<![a-z].)")
_FOLDED_TOKEN: Final = rf"(?:\d+|{_FOLDED_TRIE}(?![a-z]))"
_RUN_SPOKEN_FOLDED: Final = re.compile(rf"{_FOLDED_TOKEN}(?:{_GAP}{_FOLDED_TOKEN})*+")
# On ASCII text "[0-9]" is "\d", checked inline instead of through the Unicode tables.
_ASCII_TOKEN: Final = rf"(?:[0-9]+|{_FOLDED_TRIE}(?![a-z]))"
_RUN_SPOKEN_ASCII: Final = re.compile(rf"{_ASCII_TOKEN}(?:{_GAP}{_ASCII_TOKEN})*+")
# On an ASCII text of call length the runs are assembled from the tokens themselves, found
# with C-speed `find`s for the few number words the text holds (its words are known from
# `Prepared`), instead of the run pattern trying its trie at every letter that may start a
# number word. The two agree by construction: a token is a maximal run of digits, or a
# maximal run of letters that is a number word; a run is tokens joined by 1-6 separators
# (see the module docstring). Longer texts take the pattern, which streams (bounded memory).
_ASCII_NUMBER_WORDS: Final = frozenset(w for w in WORDS if w.isascii())
_ASCII_NUMBER_BYTES: Final = frozenset(w.encode("ascii") for w in _ASCII_NUMBER_WORDS)
_SEPARATOR_SET: Final = frozenset(_SEPARATORS)
TOKEN_SCAN_MAX: Final = 20_000


def _letter(ch: str) -> bool:
    return "a" <= ch <= "z"


def _ascii_run_spans(prepared: Prepared) -> list[tuple[int, int]]:
    """The spans `_RUN_SPOKEN_ASCII.finditer(prepared.lowered)` gives, found token by token."""
    lowered = prepared.lowered
    size = len(lowered)
    tokens: list[tuple[int, int]] = []
    if prepared.has_digit:
        for m in _ASCII_DIGITS.finditer(lowered):
            tokens.append(m.span())
    for raw in _ASCII_NUMBER_BYTES.intersection(prepared.ascii_words):
        word = raw.decode("ascii")
        width = len(word)
        at = lowered.find(word)
        while at >= 0:
            after = at + width
            if (at == 0 or not _letter(lowered[at - 1])) and (
                after == size or not _letter(lowered[after])
            ):
                tokens.append((at, after))
                at = lowered.find(word, after)
            else:
                at = lowered.find(word, at + 1)
    if not tokens:
        return []
    tokens.sort()
    spans: list[tuple[int, int]] = []
    start, end = tokens[0]
    for i in range(1, len(tokens)):
        s, e = tokens[i]
        gap = s - end
        joined = 1 <= gap <= _MAX_GAP
        if joined:
            for k in range(end, s):
                if lowered[k] not in _SEPARATOR_SET:
                    joined = False
                    break
        if joined:
            end = e
        else:
            spans.append((start, end))
            start, end = s, e
    spans.append((start, end))
    return spans


_TOKEN: Final = rf"(?:\d+|(?<![A-Za-z])(?ai:{_WORD_TRIE})(?![A-Za-z]))"
_RUN_SPOKEN: Final = re.compile(rf"{_TOKEN}(?:{_GAP}{_TOKEN})*+")
_RUN_WRITTEN: Final = re.compile(rf"\d+(?:{_GAP}\d+)*+")
_RUN_WRITTEN_ASCII: Final = re.compile(rf"[0-9]+(?:{_GAP}[0-9]+)*+")
_ALL_WRITTEN: Final = re.compile(rf"[\d{re.escape(_SEPARATORS)}]+")


_NUMBER_WORD_GATE: Final = word_gate(_GATE_WORDS)


def _has_number_word(prepared: Prepared) -> bool:
    # "o" for zero only counts in a text that has another number word.
    if prepared.folded:
        return bool(prepared.gates & _NUMBER_WORD_GATE)
    return not _GATE_WORDS.isdisjoint(_LETTERS.findall(prepared.lowered))


# A run longer than this is not scanned window by window (no identifier is that long, and a
# 100k-digit blob must not cost 100k x 17 validations).
MAX_RUN_DIGITS: Final = 64


# The longest text a run of at most MAX_RUN_DIGITS pieces of at most MAX_RUN_DIGITS characters
# can cover: anything longer is dropped without being split into pieces.
_MAX_RUN_CHARS: Final = MAX_RUN_DIGITS * MAX_RUN_DIGITS + (MAX_RUN_DIGITS - 1) * _MAX_GAP


class Run:
    """A stretch of written and spoken digits (see the module docstring)."""

    __slots__ = (
        "bounds", "breaks", "compounds", "digits", "end", "ends", "plus", "spoken", "start",
        "starts",
    )  # fmt: skip

    def __init__(
        self,
        digits: str,
        starts: list[int] | None,
        ends: list[int] | None,
        bounds: list[int],
        spoken: bool,
        plus: bool,
        start: int,
        end: int,
        breaks: tuple[int, ...] = (),
        compounds: tuple[int, ...] = (),
    ) -> None:
        self.digits = digits
        # Original start / end offset of each digit. None for a written run until a finding
        # asks (`offsets`): most runs are never reported, so their offsets are never worked out.
        self.starts = starts
        self.ends = ends
        self.bounds = bounds  # digit indices where a token starts (plus len(digits))
        self.spoken = spoken
        self.plus = plus
        self.start = start
        self.end = end
        # Digit indices at which the run continues on the next line (two-line runs).
        self.breaks = breaks
        # Digit indices of a unit an English tens word took ("ninety one": the "1"). The same
        # words also say 90 then 1 ("ninety, one one zero six five"); `split_at` reads it so.
        self.compounds = compounds

    def split_at(self, unit: int) -> Run:
        """The run read with the tens word before digit `unit` alone: "ninety one" as 9 0 1."""
        starts, ends = self.starts, self.ends
        digits = self.digits[:unit] + "0" + self.digits[unit:]
        new_starts = None if starts is None else [*starts[:unit], starts[unit - 1], *starts[unit:]]
        new_ends = None if ends is None else [*ends[:unit], ends[unit - 1], *ends[unit:]]
        bounds = sorted({*(b if b < unit else b + 1 for b in self.bounds), unit + 1})
        breaks = tuple(b if b < unit else b + 1 for b in self.breaks)
        return Run(
            digits, new_starts, new_ends, bounds, self.spoken, self.plus, self.start, self.end,
            breaks,
        )  # fmt: skip

    def offsets(self, text: str) -> tuple[list[int], list[int]]:
        if self.starts is None or self.ends is None:
            starts: list[int] = []
            ends: list[int] = []
            for piece in _DIGITS.finditer(text, self.start, self.end):
                s, e = piece.span()
                starts.extend(range(s, e))
                ends.extend(range(s + 1, e + 1))
            self.starts, self.ends = starts, ends
        return self.starts, self.ends

    def span(self, text: str, i: int, j: int) -> tuple[int, int]:
        """Offsets in `text` of the digits i..j-1."""
        starts, ends = self.offsets(text)
        return starts[i], ends[j - 1]


def _build(text: str, pieces: list[re.Match[str]]) -> Run | None:
    digits: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    bounds: list[int] = []
    spoken = False
    compounds: list[int] = []
    pending_repeat = 1
    repeat_start = -1  # where "double" / "triple" was said: part of the digits it repeats
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
                    starts.append(repeat_start)
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
            repeat_start = s
            continue
        if word in TENS:
            out, e, k = _tens(word, pieces, k, e)
            if out[1] != "0" and word not in _SPANISH_TENS:
                compounds.append(len(digits) + 1)
        elif word in HUNDREDS:
            out, e, k = _after_hundred(pieces, k, e)
            out = HUNDREDS[word] + out
        elif word == "hundred":
            out, e, k = _after_hundred(pieces, k, e)
        elif word in THOUSAND:
            # "mil" said first is one thousand ("mil novecientos"); "dos mil" multiplies.
            lead = "1" if word == "mil" and not _multiplier(pieces, k - 2) else ""
            out, e, k = _after_thousand(pieces, k, e)
            out = lead + out
        else:
            out = UNITS.get(word) or TEENS.get(word, "")
        if not out:
            continue
        if word != "hundred" and (word not in THOUSAND or word == "mil" and out[0] == "1"):
            bounds.append(len(digits))
        if pending_repeat > 1 and len(out) == 1:
            out = out * pending_repeat
            s = repeat_start
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
    return Run(
        "".join(digits), starts, ends, bounds, spoken, plus, first, pieces[-1].end(), (),
        tuple(compounds),
    )  # fmt: skip


def _lower(pieces: list[re.Match[str]], k: int) -> str:
    return pieces[k].group().lower() if 0 <= k < len(pieces) else ""


def _multiplier(pieces: list[re.Match[str]], k: int) -> bool:
    word = _lower(pieces, k)
    return word[:1].isdigit() or word in UNITS or word in TEENS or word in TENS or word in HUNDREDS


def _tens(word: str, pieces: list[re.Match[str]], k: int, e: int) -> tuple[str, int, int]:
    """The two digits of the tens word just read and of the unit that may follow ("twenty
    two"; a Spanish tens word takes its unit only after "y": "cuarenta y uno"), with the end
    offset and the index of the next piece."""
    out = TENS[word] + "0"
    nxt = _lower(pieces, k)
    joined = False
    if nxt in _AND and _lower(pieces, k + 1) in UNITS:
        k += 1
        nxt = _lower(pieces, k)
        joined = True
    if nxt and (joined or word not in _SPANISH_TENS):
        unit = UNITS.get(nxt)
        if unit is not None and unit != "0":
            out = TENS[word] + unit
            e = pieces[k].end()
            k += 1
    return out, e, k


def _after_hundred(pieces: list[re.Match[str]], k: int, e: int) -> tuple[str, int, int]:
    """The last two digits of a hundred ("eight hundred twenty" 820, "ochocientos quince"
    815): a teen or a tens word (with its unit) that follows, else "00" (a unit after it stays
    a digit of its own: "eight hundred five five five" is 800 555, as a toll-free number is
    dictated)."""
    following = _lower(pieces, k)
    if following in TEENS:
        return TEENS[following], pieces[k].end(), k + 1
    if following in TENS:
        return _tens(following, pieces, k + 1, pieces[k].end())
    return "00", e, k


def _after_thousand(pieces: list[re.Match[str]], k: int, e: int) -> tuple[str, int, int]:
    """The last three digits of a thousand: "two thousand three" 2003, "two thousand twelve"
    2012, "dos mil veinticuatro" 2024, "mil novecientos ochenta y cuatro" 1984, "mil
    novecientos uno" 1901; "000" when nothing follows."""
    following = _lower(pieces, k)
    if following in HUNDREDS:
        # Inside a thousand a unit completes the hundred: "mil novecientos uno" is 1901.
        rest, e, after = _after_hundred(pieces, k + 1, pieces[k].end())
        unit = UNITS.get(_lower(pieces, after), "0")
        if rest == "00" and unit != "0":
            rest, e, after = "0" + unit, pieces[after].end(), after + 1
        return HUNDREDS[following] + rest, e, after
    if following in UNITS and UNITS[following] != "0":
        if _lower(pieces, k + 1) == "hundred":
            return "", e, k  # "two thousand one hundred": the unit and "hundred" give three
        return "00" + UNITS[following], pieces[k].end(), k + 1
    if following in TEENS:
        return "0" + TEENS[following], pieces[k].end(), k + 1
    if following in TENS:
        out, e, k = _tens(following, pieces, k + 1, pieces[k].end())
        return "0" + out, e, k
    return "000", e, k


def _spans(matches: Iterator[re.Match[str]]) -> Iterator[tuple[int, int]]:
    # A generator function, not a generator expression: mypyc builds the latter as a list,
    # which on a 10 MB line would hold every match at once.
    for m in matches:
        yield m.span()


def iter_runs(prepared: Prepared) -> Iterator[Run]:
    """Every number run in the text, in order, one at a time.

    One C-speed pattern finds each run whole; only runs are looked at in Python. A run of more
    than MAX_RUN_DIGITS pieces, or with a piece longer than that, is dropped (no identifier is
    that long) after reading at most that many pieces. A generator, not a list: a 10 MB line
    of "four uh" holds a million runs, and the callers (conversation.py) need only the runs
    of the chain being built, so memory stays bounded by one chain, not by the text.
    """
    text = prepared.text
    spoken = _has_number_word(prepared)
    spans: Iterable[tuple[int, int]]
    if spoken and prepared.ascii and len(text) <= TOKEN_SCAN_MAX:
        spans = _ascii_run_spans(prepared)
    elif spoken and prepared.ascii:
        spans = _spans(_RUN_SPOKEN_ASCII.finditer(prepared.lowered))
    elif spoken and prepared.folded:
        spans = _spans(_RUN_SPOKEN_FOLDED.finditer(prepared.lowered))
    elif spoken:
        spans = _spans(_RUN_SPOKEN.finditer(text))
    elif prepared.has_digit:
        written = _RUN_WRITTEN_ASCII if prepared.ascii else _RUN_WRITTEN
        spans = _spans(written.finditer(text))
    else:
        return
    last_end = -_NEAR
    for start, end in spans:
        if (
            end - start < 3
            and text[start].isdigit()
            and not (end - start == 2 and start - last_end < _NEAR)
            and not _own_line(text, start, end)
        ):
            # A lone short number ("3 items") can never be an identifier: skip the
            # bookkeeping, which matters on texts made of millions of them. Kept when it is
            # all its line says ("Customer: 02"): a piece of a number given across turns.
            continue
        if end - start > _MAX_RUN_CHARS:
            continue
        group = text[start:end]
        if not spoken or _ALL_WRITTEN.fullmatch(group):
            run = _written(text, start, end, group, prepared.ascii)
        else:
            pieces = list(islice(_PIECE.finditer(text, start, end), MAX_RUN_DIGITS + 1))
            if len(pieces) > MAX_RUN_DIGITS or any(
                p.end() - p.start() > MAX_RUN_DIGITS for p in pieces
            ):
                continue
            run = _build(text, pieces)
        if run is not None:
            yield run
            last_end = end


# A two-digit group this close after a kept run may be a piece of a number given in groups
# ("025 uh 42 uh 0896").
_NEAR: Final = 60


def _own_line(text: str, start: int, end: int) -> bool:
    """Whether digits at start..end are what their line ends with, after a label or "it's"."""
    after = text[end : end + 2].strip(" \t.,?!")
    if after and after[0] != "\n":
        return False
    return (
        text[max(0, start - 2) : start].strip() in (":", "", "s")
        and text.rfind("\n", 0, start) >= start - 40
    )


def _written(text: str, start: int, end: int, group: str, ascii: bool) -> Run | None:
    """A run of written digits only: digits and token bounds from one C-speed split."""
    parts = (_ASCII_DIGITS if ascii else _DIGITS).findall(group)
    if len(parts) > MAX_RUN_DIGITS:
        return None
    bounds = [0]
    total = 0
    for part in parts:
        if len(part) > MAX_RUN_DIGITS:
            return None
        total += len(part)
        bounds.append(total)
    plus = start > 0 and text[start - 1] == "+"
    return Run("".join(parts), None, None, bounds, False, plus, start, end)


def join(text: str, first: Run, second: Run) -> Run:
    """One run made of two (a number a speaker split over two lines)."""
    offset = len(first.digits)
    first_starts, first_ends = first.offsets(text)
    second_starts, second_ends = second.offsets(text)
    return Run(
        first.digits + second.digits,
        first_starts + second_starts,
        first_ends + second_ends,
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
