"""Word timings from the transcript shapes contact centers already have.

Only what redaction needs is read: each word's text, start and end (seconds), and where known
its speaker and audio channel (0-based). Supported shapes, recognized by their keys:

* AWS Transcribe (`results.items`, or `results.channel_labels.channels[].items` with channel
  identification); punctuation items are attached to the word before them.
* Google Speech-to-Text (`results[].alternatives[0].words`, times as `"1.300s"` or
  `{seconds, nanos}`, v1 `startTime` or v2 `startOffset`; `channelTag` is 1-based).
* Deepgram (`results.channels[i].alternatives[0].words`, channel = index i).
* Whisper with word timestamps (`segments[].words`, or a top-level `words` list as the hosted
  API's verbose JSON gives); WhisperX's `speaker` is read when present.
* Plain `speaker: text` lines, without timings: enough to redact the transcript, not the audio.

Conversation turns (who said what when, for the conversation-aware detector) are parsed in
`honorbound.detect`; this module stays at the word level.
"""

from __future__ import annotations

import bisect
import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from honorbound.recordings.errors import TranscriptError

MAX_WORDS = 2_000_000  # a 4-hour call is about 100,000 words


@dataclass(frozen=True, slots=True)
class Word:
    text: str
    start: float | None
    end: float | None
    speaker: str | None = None
    channel: int | None = None

    def __repr__(self) -> str:  # the text is personal data
        return f"Word(start={self.start!r}, end={self.end!r}, channel={self.channel!r})"


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


def _seconds(value: Any, where: str) -> float:
    if isinstance(value, dict):  # protobuf Duration as JSON
        out = float(value.get("seconds", 0) or 0) + float(value.get("nanos", 0) or 0) / 1e9
    elif isinstance(value, str):
        text = value.strip()
        text = text[:-1] if text.endswith("s") else text
        try:
            out = float(text)
        except ValueError:
            raise TranscriptError(f"{where}: {value!r} is not a time in seconds") from None
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        out = float(value)
    else:
        raise TranscriptError(f"{where}: a time in seconds is missing")
    if not math.isfinite(out) or out < 0:
        raise TranscriptError(f"{where}: times must be finite and not negative")
    return out


def _word(text: Any, start: Any, end: Any, where: str, **kw: Any) -> Word:
    if not isinstance(text, str):
        raise TranscriptError(f"{where}: the word is not a string")
    s, e = _seconds(start, f"{where}.start"), _seconds(end, f"{where}.end")
    if e < s:
        raise TranscriptError(f"{where}: the word ends before it starts")
    return Word(text.strip(), s, e, **kw)


def _aws(doc: dict[str, Any]) -> Transcript:
    results = doc["results"]
    if not isinstance(results, dict):
        raise TranscriptError("AWS Transcribe JSON: `results` is not an object")
    channels = (results.get("channel_labels") or {}).get("channels")
    groups: list[tuple[int | None, list[Any]]]
    if channels:
        groups = []
        for ci, ch in enumerate(channels):
            label = str(ch.get("channel_label", f"ch_{ci}"))
            number = int(label[3:]) if re.fullmatch(r"ch_\d+", label) else ci
            groups.append((number, ch.get("items") or []))
    else:
        groups = [(None, results.get("items") or [])]
    words: list[Word] = []
    for channel, items in groups:
        if not isinstance(items, list):
            raise TranscriptError("AWS Transcribe JSON: `items` is not a list")
        for i, item in enumerate(items):
            where = f"results.items[{i}]"
            if not isinstance(item, dict):
                raise TranscriptError(f"{where}: not an object")
            alts = item.get("alternatives") or [{}]
            content = alts[0].get("content", "")
            if item.get("type") == "punctuation":
                if words and words[-1].channel == channel:
                    last = words[-1]
                    words[-1] = Word(
                        last.text + str(content), last.start, last.end, last.speaker, channel
                    )
                continue
            words.append(
                _word(
                    content,
                    item.get("start_time"),
                    item.get("end_time"),
                    where,
                    speaker=item.get("speaker_label"),
                    channel=channel,
                )
            )
    words.sort(key=lambda w: (w.start or 0.0, w.channel or 0))
    return Transcript(words, "aws")


def _google(doc: dict[str, Any]) -> Transcript:
    words: list[Word] = []
    for ri, result in enumerate(doc["results"]):
        if not isinstance(result, dict):
            raise TranscriptError(f"results[{ri}]: not an object")
        alts = result.get("alternatives") or []
        if not alts:
            continue
        tag = result.get("channelTag")
        channel = int(tag) - 1 if isinstance(tag, int) and tag >= 1 else None
        for wi, w in enumerate(alts[0].get("words") or []):
            where = f"results[{ri}].alternatives[0].words[{wi}]"
            speaker = w.get("speakerLabel") or w.get("speakerTag")
            words.append(
                _word(
                    w.get("word"),
                    w.get("startTime", w.get("startOffset", 0)),
                    w.get("endTime", w.get("endOffset")),
                    where,
                    speaker=None if speaker in (None, 0, "") else str(speaker),
                    channel=channel,
                )
            )
    words.sort(key=lambda w: (w.start or 0.0, w.channel or 0))
    return Transcript(words, "google")


def _deepgram(doc: dict[str, Any]) -> Transcript:
    words: list[Word] = []
    channels = doc["results"]["channels"]
    for ci, ch in enumerate(channels):
        alts = ch.get("alternatives") or []
        if not alts:
            continue
        for wi, w in enumerate(alts[0].get("words") or []):
            where = f"results.channels[{ci}].alternatives[0].words[{wi}]"
            speaker = w.get("speaker")
            words.append(
                _word(
                    w.get("punctuated_word", w.get("word")),
                    w.get("start"),
                    w.get("end"),
                    where,
                    speaker=None if speaker is None else str(speaker),
                    channel=ci if len(channels) > 1 else None,
                )
            )
    words.sort(key=lambda w: (w.start or 0.0, w.channel or 0))
    meta = doc.get("metadata") or {}
    duration = meta.get("duration")
    return Transcript(
        words,
        "deepgram",
        duration=float(duration) if isinstance(duration, (int, float)) else None,
        sha256=meta.get("sha256") if isinstance(meta.get("sha256"), str) else None,
    )


def _whisper(doc: dict[str, Any]) -> Transcript:
    raw: Iterable[tuple[str, dict[str, Any]]]
    if isinstance(doc.get("segments"), list) and any("words" in s for s in doc["segments"]):
        raw = (
            (f"segments[{si}].words[{wi}]", w)
            for si, s in enumerate(doc["segments"])
            for wi, w in enumerate(s.get("words") or [])
        )
    else:
        raw = ((f"words[{wi}]", w) for wi, w in enumerate(doc["words"]))
    words = [
        _word(
            w.get("word"),
            w.get("start"),
            w.get("end"),
            where,
            speaker=str(w["speaker"]) if w.get("speaker") is not None else None,
        )
        for where, w in raw
        if isinstance(w, dict)
    ]
    duration = doc.get("duration")
    return Transcript(
        [w for w in words if w.text],
        "whisper",
        duration=float(duration) if isinstance(duration, (int, float)) else None,
    )


_PLAIN = re.compile(r"^\s*([^:\n]{1,60}):\s*(.*)$")


def _plain(text: str) -> Transcript:
    words: list[Word] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        m = _PLAIN.match(line)
        if m is None:
            raise TranscriptError(
                f"line {number}: expected `speaker: text` (a transcript without timings)"
            )
        speaker = m.group(1).strip()
        words.extend(Word(t, None, None, speaker) for t in m.group(2).split())
    return Transcript(words, "plain")


SHAPES = ("aws", "google", "deepgram", "whisper", "plain")


def detect_shape(doc: Any) -> str:
    if isinstance(doc, dict):
        results = doc.get("results")
        if isinstance(results, dict) and ("items" in results or "channel_labels" in results):
            return "aws"
        if isinstance(results, dict) and "channels" in results:
            return "deepgram"
        if isinstance(results, list):
            return "google"
        if "segments" in doc or isinstance(doc.get("words"), list):
            return "whisper"
    raise TranscriptError(
        "the transcript is JSON in no known shape; expected AWS Transcribe, Google "
        "Speech-to-Text, Deepgram or Whisper (word timestamps)"
    )


def parse(data: bytes | str, shape: str | None = None) -> Transcript:
    """A transcript from its bytes; `shape` one of SHAPES, or None to recognize it."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError:
            raise TranscriptError("the transcript is not UTF-8 text") from None
    if shape is not None and shape not in SHAPES:
        raise TranscriptError(f"unknown transcript shape {shape!r}; one of {', '.join(SHAPES)}")
    if shape == "plain" or (shape is None and not data.lstrip().startswith(("{", "["))):
        out = _plain(data)
    else:
        try:
            doc = json.loads(data)
        except json.JSONDecodeError as exc:
            raise TranscriptError(f"the transcript is not valid JSON (line {exc.lineno})") from None
        shape = shape or detect_shape(doc)
        parser = {"aws": _aws, "google": _google, "deepgram": _deepgram, "whisper": _whisper}
        try:
            out = parser[shape](doc)
        except TranscriptError:
            raise
        except (KeyError, TypeError, AttributeError, IndexError, ValueError):
            raise TranscriptError(
                f"the transcript does not have the structure of the {shape} shape"
            ) from None
    if len(out.words) > MAX_WORDS:
        raise TranscriptError(f"the transcript has more than {MAX_WORDS} words")
    return out
