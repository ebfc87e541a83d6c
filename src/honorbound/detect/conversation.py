"""Conversations: speaker turns, and numbers delivered across them.

People do not say a card number in one breath. They say a group, the agent says "okay" or
repeats it, they say the next group; they pause on "uh", correct themselves ("five five five
no sorry six"), and the agent reads the whole number back. Each piece alone is nothing; the
value is the pieces put together. This module puts them together:

- `speaker_at` reads the speaker label of a line ("Agent:", "Customer:", "speaker 1:",
  "spk_0:"); digits inside a label are never part of a value.
- `chains` walks the number runs of a text (digits.py) in order and links a run to the
  previous one when only light words lie between: fillers, acknowledgements, the agent's
  prompts ("okay, next four?"), a self-correction, or a digit homophone ("four one one for
  two": "to", "too", "for", "won", "ate" count as digits only between two digit runs). A run of
  another speaker joins as an *echo* when its digits repeat digits already given (a chunk said
  back, a read-back), else it ends the chain: other people do not deliver your number.
- `findings` classifies a chain as one value (numbers.py: Luhn, SSN rules, phone plan) and
  reports one finding per contiguous piece, echoes and corrected digits included, all with one
  `value_id`, so every piece is redacted and the words between are left alone.

Everything here reads only short stretches of text between runs, so its cost is a small part
of a scan.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Final

from honorbound.detect import context, numbers
from honorbound.detect.digits import MAX_RUN_DIGITS, Run
from honorbound.detect.findings import Finding
from honorbound.detect.resources import word_classes

# A speaker label at the start of a line: "Agent:", "Customer 2:", "speaker 1:", "spk_0:",
# "[Agent]", "AGENT -". Up to 30 characters, so "my card number is: ..." is not read as one.
LABEL: Final = re.compile(
    r"[ \t]*(?:\[([A-Za-z][\w .'\-]{0,30}?)\][ \t]*:?|([A-Za-z][\w .'\-]{0,30}?)[ \t]*:)"
)
_GAP_WORD: Final = re.compile(r"[^\W\d_]+(?:['’\-][^\W\d_]+)*|\d+|\n")
_MAX_GAP_CHARS: Final = 240
_MAX_GAP_WORDS: Final = 16
_MAX_GAP_LINES: Final = 6
_MAX_SEGMENTS: Final = 4 * MAX_RUN_DIGITS  # echoes add pieces but no digits

# Words that may stand between two pieces of one number (data/conversation_words.txt):
# fillers, acknowledgements, the agent's prompts, self-corrections; "marks" make the next run
# a replacement of the last one.
_CLASSES: Final = word_classes("conversation_words.txt")
_CORRECTION_MARKS: Final = _CLASSES["mark"]
_LIGHT: Final = _CLASSES["filler"] | _CLASSES["ack"] | _CLASSES["prompt"] | _CLASSES["correction"]
# Said between two digit runs, these are digits ("four one one for two").
HOMOPHONES: Final = {"to": "2", "too": "2", "for": "4", "fore": "4", "won": "1", "ate": "8"}

# How a run takes part in a chain.
FIRST: Final = 0
APPEND: Final = 1
CORRECT: Final = 2
HOMOPHONE: Final = 3
ECHO: Final = 4


def speaker_at(text: str, position: int) -> tuple[str | None, int]:
    """The speaker label of the line holding `position`, and where the line's content starts."""
    # Matched past `position`: a position inside the label ("SPEAKER_01:") gets a content
    # start after it, so the label's digits are never taken for a value; "my card is 4111
    # 1111 1111 1111: thanks" (more than three digits) is no label.
    return _label_at(text, text.rfind("\n", 0, position) + 1, position)


def speakers(text: str, runs: Iterable[Run]) -> Iterator[tuple[Run, str | None, int]]:
    """Each run with `speaker_at` of its start, in one pass: each line start is looked for
    once (a long line with many runs must not be searched back to its start for every one)."""
    line_start = 0
    scanned = 0
    first = True
    last: tuple[str | None, int] = (None, 0)
    for run in runs:
        newline = text.rfind("\n", scanned, run.start)
        scanned = run.start
        if newline != -1 or first:
            line_start = newline + 1 if newline != -1 else line_start
            last = _label_at(text, line_start, run.start)
            first = False
        elif last[1] > run.start:
            last = _label_at(text, line_start, run.start)
        yield run, last[0], last[1]


def _label_at(text: str, line_start: int, position: int) -> tuple[str | None, int]:
    label = LABEL.match(text, line_start)
    if label:
        name = label.group(1) if label.group(1) is not None else label.group(2)
        if label.end() > position and sum(ch.isdigit() for ch in name) > 3:
            return None, line_start
        return name.strip().lower(), label.end()
    return None, line_start


class Segment:
    """One run's part in a chain: its role, and for a homophone the digit and its span."""

    __slots__ = ("digits", "end", "repeat", "role", "run", "start")

    def __init__(
        self,
        role: int,
        run: Run | None,
        digits: str,
        start: int,
        end: int,
        repeat: bool = False,
    ) -> None:
        self.role = role
        self.run = run
        self.digits = digits
        self.start = start
        self.end = end
        # The same digits again right after, where no label says who speaks: a piece, or the
        # other party echoing it (`findings` reads it both ways).
        self.repeat = repeat


def _gap(text: str, lowered: str, start: int, end: int) -> tuple[bool, bool, str, str] | None:
    """Whether the text between two runs lets them be one number: None when it does not,
    else (a self-correction was said, the gap crosses a line, the homophone digit or "", the
    last word)."""
    if end - start > _MAX_GAP_CHARS:
        return None
    gap = text[start:end]
    if "/" in gap or ":" in gap.split("\n", 1)[0] or "$" in gap or "%" in gap:
        return None  # "04/29", "10:30", "$12": one value of another kind
    correction = False
    lines = 0
    words = 0
    homophone = ""
    last = ""
    cursor = start
    for match in _GAP_WORD.finditer(lowered, start, end):
        token = match.group()
        if token == "\n":
            lines += 1
            if lines > _MAX_GAP_LINES:
                return None
            # The next line's speaker label is not a word of the conversation.
            label = LABEL.match(text, match.end(), end)
            cursor = label.end() if label else match.end()
            continue
        if match.start() < cursor:
            continue
        words += 1
        last = token
        if words > _MAX_GAP_WORDS or token[0].isdigit():
            return None
        if token in HOMOPHONES:
            homophone = HOMOPHONES[token]
            continue
        if token not in _LIGHT:
            return None
        if token in _CORRECTION_MARKS or (token == "no" and words > 0):
            correction = True
    if homophone and (words != 1 or lines):
        # A homophone counts only alone between two runs of one line: "one one for two".
        return None
    return correction, lines > 0, homophone, last


# After these a lone number word is a word, not a digit: "that's the one", "the next four".
_NOT_BEFORE_DIGIT: Final = frozenset(["the", "a", "that", "this", "next", "last", "first"])


def chains(
    text: str, lowered: str, said: Iterable[tuple[Run, str | None, int]]
) -> Iterator[list[Segment]]:
    """The runs of `text` grouped into chains (see the module docstring), in order; `said` is
    `speakers(text, runs)`. A run that takes part in no chain comes as a chain of one; the
    digits of a speaker label come not at all. A generator: only the chain being built is
    held, so a text of a million runs costs the memory of one chain."""
    current: list[Segment] = []
    speaker: str | None = None
    given = ""  # the digits of the chain so far
    last_end = 0
    # A stretch longer than any identifier ("four uh four uh ..." for pages) is no value: like
    # a run of more than MAX_RUN_DIGITS, it is dropped whole, up to the next break; its runs
    # come one by one.
    overflow = False
    for run, who, content in said:
        if run.start < content:
            continue  # a digit of a speaker label ("speaker 2:")
        gap = _gap(text, lowered, last_end, run.start) if current or overflow else None
        if overflow:
            if gap is not None:
                last_end = run.end
                yield [Segment(FIRST, run, run.digits, run.start, run.end)]
                continue
            overflow = False
        if current and gap is not None and len(current) > _MAX_SEGMENTS:
            yield from _spill(current)
            yield [Segment(FIRST, run, run.digits, run.start, run.end)]
            current, given, overflow, last_end = [], "", True, run.end
            continue
        if current and gap is not None:
            correction, _crossed, homophone, last = gap
            same = who == speaker or speaker is None or who is None
            if last in _NOT_BEFORE_DIGIT and len(run.bounds) == 2 and len(run.digits) == 1:
                last_end = run.end  # "that's the one": a word, not a piece
                yield [Segment(FIRST, run, run.digits, run.start, run.end)]
                continue
            if not same:
                if run.digits in given:
                    current.append(Segment(ECHO, run, run.digits, run.start, run.end))
                    last_end = run.end
                    continue
                if len(run.bounds) == 2 and run.spoken and len(run.digits) == 1:
                    # "okay, next four?": a number word in the agent's prompt, not a piece.
                    last_end = run.end
                    yield [Segment(FIRST, run, run.digits, run.start, run.end)]
                    continue
            elif len(given) + len(run.digits) > MAX_RUN_DIGITS:
                yield from _spill(current)
                yield [Segment(FIRST, run, run.digits, run.start, run.end)]
                current, given, overflow, last_end = [], "", True, run.end
                continue
            else:
                if homophone:
                    at = _homophone_span(lowered, last_end, run.start)
                    current.append(Segment(HOMOPHONE, None, homophone, at[0], at[1]))
                    given += homophone
                role = CORRECT if correction else APPEND
                repeat = (
                    who is None
                    and speaker is None
                    and len(run.digits) >= 2
                    and current[-1].digits == run.digits
                )
                current.append(Segment(role, run, run.digits, run.start, run.end, repeat))
                given += run.digits
                last_end = run.end
                continue
        if current:
            yield current
        current = [Segment(FIRST, run, run.digits, run.start, run.end)]
        speaker = who
        given = run.digits
        last_end = run.end
    if current:
        yield current


def _spill(dropped: list[Segment]) -> Iterator[list[Segment]]:
    """The runs of a chain dropped for its length, each a chain of one."""
    for segment in dropped:
        if segment.run is not None:
            yield [segment]


def _homophone_span(lowered: str, start: int, end: int) -> tuple[int, int]:
    for match in _GAP_WORD.finditer(lowered, start, end):
        if match.group() in HOMOPHONES:
            return match.span()
    return start, end


class _Assembly:
    """The digits of a chain read one way: which digit came from where."""

    __slots__ = ("bounds", "breaks", "corrected", "digits", "ends", "owner", "starts", "truncated")

    def __init__(self) -> None:
        self.digits: list[str] = []
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.owner: list[int] = []  # segment index of each digit
        self.bounds: list[int] = []
        self.breaks: list[int] = []
        self.truncated: set[int] = set()  # segments that lost digits to a correction
        self.corrected = False

    def add(self, index: int, segment: Segment, text: str, cut: int) -> None:
        """Append a segment's digits, after dropping the last `cut` digits (a correction)."""
        if cut and self.owner:
            last = self.owner[-1]
            cut = min(cut, sum(1 for o in self.owner if o == last))
            for k in range(len(self.digits) - cut, len(self.digits)):
                self.truncated.add(self.owner[k])
            del self.digits[-cut:]
            del self.starts[-cut:]
            del self.ends[-cut:]
            del self.owner[-cut:]
            self.bounds = [b for b in self.bounds if b < len(self.digits)]
            self.corrected = True
        offset = len(self.digits)
        if offset:
            self.breaks.append(offset)
        if segment.run is None:
            self.bounds.append(offset)
            self.digits.append(segment.digits)
            self.starts.append(segment.start)
            self.ends.append(segment.end)
            self.owner.append(index)
            return
        run = segment.run
        starts, ends = run.offsets(text)
        self.bounds.extend(b + offset for b in run.bounds[:-1])
        self.digits.extend(run.digits)
        self.starts.extend(starts)
        self.ends.extend(ends)
        self.owner.extend([index] * len(run.digits))

    def run(self, chain: list[Segment], plus: bool) -> Run:
        return Run(
            "".join(self.digits),
            list(self.starts),
            list(self.ends),
            [*self.bounds, len(self.digits)],
            True,
            plus,
            chain[0].start,
            chain[-1].end,
            tuple(self.breaks),
        )


def _assemble(chain: list[Segment], text: str, reading: int) -> _Assembly:
    """The chain's digits with corrections read one way. A correction replaces what was just
    said: `reading` 0 keeps everything, 1 drops the last digit ("five five five no sorry six
    ..."), 2 drops as many digits as the correction holds ("five five five, sorry, five five
    six")."""
    built = _Assembly()
    for index, segment in enumerate(chain):
        if segment.role == ECHO:
            continue
        cut = 0
        if segment.role == CORRECT:
            cut = 1 if reading == 1 else len(segment.digits) if reading == 2 else 0
        built.add(index, segment, text, cut)
    return built


def findings(
    out: list[Finding], text: str, chain: list[Segment], index: context.Index
) -> list[bool]:
    """Append the findings of `chain` read as values that cross its pieces; returns, per
    segment, whether a finding covers it (the caller scans the others on their own). Nothing is
    appended, and all False returned, when no value crosses two pieces.

    With a self-correction, each reading of it is classified, and the one that leaves the
    fewest digits unexplained wins (a card that passes Luhn only read one way)."""
    plus = chain[0].run is not None and chain[0].run.plus
    has_correction = any(segment.role == CORRECT for segment in chain)
    ways = [chain]
    if any(segment.repeat for segment in chain):
        # Unlabelled lines saying the same group twice: also read the second as an echo.
        ways.append(
            [Segment(ECHO, s.run, s.digits, s.start, s.end) if s.repeat else s for s in chain]
        )
        # And in pairs, when a group is itself repeated: "one two three" four times is the
        # area code and the exchange, each said and echoed (every second repeat an echo).
        paired: list[Segment] = []
        for segment in chain:
            after_echo = bool(paired) and paired[-1].role == ECHO
            if segment.repeat and not after_echo:
                segment = Segment(ECHO, segment.run, segment.digits, segment.start, segment.end)
            paired.append(segment)
        if [s.role for s in paired] != [s.role for s in ways[-1]]:
            ways.append(paired)
    best: (
        tuple[tuple[int, int], _Assembly, list[tuple[int, int, str, float]], list[Segment]] | None
    ) = None
    for way in ways:
        for reading in (1, 2, 0) if has_correction else (0,):
            built = _assemble(way, text, reading)
            run = built.run(way, plus)
            hits = numbers.classify_run(text, run, index)
            crossing = any(
                built.corrected
                or any(i < b < j for b in built.breaks)
                or any(_echoes(segment, built, i, j) for segment in way)
                for i, j, _, _ in hits
            )
            if not crossing:
                continue
            # The reading that leaves the fewest digits unexplained, then the one that
            # explains them with the fewest values: "4425 4425 7652 7652 31225 31225" is one
            # card said with each group twice, not a card and a phone number that happen to
            # pass their checks.
            left = (len(built.digits) - sum(j - i for i, j, _, _ in hits), len(hits))
            if best is None or left < best[0]:
                best = (left, built, hits, way)
    if best is None:
        return [False] * len(chain)
    return _emit(out, text, best[3], best[1], best[2])


def _echoes(segment: Segment, built: _Assembly, i: int, j: int) -> bool:
    """A read-back of (part of) the value found at digits i..j."""
    return (
        segment.role == ECHO
        and len(segment.digits) >= 3
        and segment.digits in "".join(built.digits[i:j])
    )


def _emit(
    out: list[Finding],
    text: str,
    chain: list[Segment],
    built: _Assembly,
    hits: list[tuple[int, int, str, float]],
) -> list[bool]:
    covered = [False] * len(chain)
    for i, j, kind, score in hits:
        value = "".join(built.digits[i:j])
        first_segment = built.owner[i]
        last_segment = built.owner[j - 1]
        # Pieces said and then corrected away, right before the value's first digit.
        while (
            first_segment > 0
            and chain[first_segment - 1].role != ECHO
            and not any(o == first_segment - 1 for o in built.owner)
        ):
            first_segment -= 1
        pieces: list[tuple[int, int]] = []
        for k in range(first_segment, last_segment + 1):
            segment = chain[k]
            if segment.role == ECHO:
                if segment.digits in value:
                    pieces.append((segment.start, segment.end))
                    covered[k] = True
                continue
            mine = [d for d in range(i, j) if built.owner[d] == k]
            if not mine:
                # Corrected away entirely: still what the caller said, still redacted.
                pieces.append((segment.start, segment.end))
                covered[k] = True
                continue
            start, end = built.starts[mine[0]], built.ends[mine[-1]]
            if k in built.truncated or (k != first_segment and k != last_segment):
                start, end = min(start, segment.start), max(end, segment.end)
            if (
                k == first_segment
                and start > 0
                and text[start - 1] == "("
                and ")" in text[start:end]
            ):
                start -= 1  # "(212) 555-0100"
            pieces.append((start, end))
            covered[k] = True
        # An echo right after the last piece (the agent repeating the final group).
        k = last_segment + 1
        while k < len(chain) and chain[k].role == ECHO:
            if chain[k].digits in value:
                pieces.append((chain[k].start, chain[k].end))
                covered[k] = True
            k += 1
        pieces.sort()
        value_id = pieces[0][0] if len(pieces) > 1 else None
        for start, end in pieces:
            out.append(Finding(kind, start, end, score + 0.01, text[start:end], value_id))
    return covered
