"""Word timings laid out for the detector, so each finding maps back to the words it touches.

The transcript is read by `honorbound.detect.transcripts.parse_words`, the one reader of the
vendors' shapes (AWS Transcribe, Google Speech-to-Text, Deepgram, Whisper word timestamps,
plain `speaker: text` lines without timings); this module lays its words out as one text,
one line per turn, and keeps each word's character offsets in it.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

from honorbound.detect import transcripts as vendor
from honorbound.detect.transcripts import MAX_WORDS, WORD_SHAPES, Word
from honorbound.recordings.errors import TranscriptError

__all__ = ["MAX_WORDS", "SHAPES", "Transcript", "Word", "parse"]

SHAPES = WORD_SHAPES


@dataclass
class Transcript:
    words: list[Word]
    shape: str
    # What the transcript says about its audio, when it says anything (checked on ingest).
    duration: float | None = None
    sha256: str | None = None
    offsets: list[tuple[int, int]] = field(default_factory=list)
    text: str = ""

    def __post_init__(self) -> None:
        self.words = _keep_turns_whole(self.words)
        parts: list[str] = []
        pos = 0
        offsets = []
        previous: tuple[str | None, int | None] = (None, None)
        for i, w in enumerate(self.words):
            # A change of speaker (or channel) starts a new line: a turn of its own, so one
            # party's "uh huh" is not read into the other's card number.
            turn = (w.speaker, w.channel)
            sep = "" if i == 0 else ("\n" if turn != previous else " ")
            pos += len(sep)
            parts.append(sep + w.text)
            offsets.append((pos, pos + len(w.text)))
            pos += len(w.text)
            previous = turn
        self.offsets = offsets
        self.text = "".join(parts)

    @property
    def timed(self) -> bool:
        return bool(self.words) and all(w.start is not None for w in self.words)

    def words_in(self, start: int, end: int) -> range:
        """Indices of the words overlapping characters [start, end) of `text`."""
        lo = bisect.bisect_right(self.offsets, start, key=lambda o: o[1])
        hi = lo
        while hi < len(self.offsets) and self.offsets[hi][0] < end:
            hi += 1
        return range(lo, hi)


INTERJECTION_WORDS = 2


def _keep_turns_whole(words: list[Word]) -> list[Word]:
    """Words in time order, except that a short interjection of another party ("okay", "uh
    huh", up to INTERJECTION_WORDS words) inside a turn is moved after that turn: a card
    number read with the agent's "okay" in the middle is then still one number to the
    detector. Longer replies start a turn of their own."""
    if len({(w.speaker, w.channel) for w in words}) < 2:
        return words
    out: list[Word] = []
    i, n = 0, len(words)
    while i < n:
        party = (words[i].speaker, words[i].channel)
        run, pending = [words[i]], []
        j = i + 1
        while j < n:
            if (words[j].speaker, words[j].channel) == party:
                run.append(words[j])
                j += 1
                continue
            k = j
            while k < n and (words[k].speaker, words[k].channel) != party:
                k += 1
            if k - j > INTERJECTION_WORDS or k == n:
                break
            pending.extend(words[j:k])
            j = k
        out.extend(run)
        out.extend(pending)
        i = j
    return out


def parse(data: bytes | str, shape: str | None = None) -> Transcript:
    """A transcript from its bytes; `shape` one of SHAPES, or None to recognize it."""
    try:
        parsed = vendor.parse_words(data, shape)
    except vendor.TranscriptError as exc:
        raise TranscriptError(str(exc)) from None
    return Transcript(parsed.words, parsed.shape, parsed.duration, parsed.sha256)
