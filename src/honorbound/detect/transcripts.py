"""Speaker turns from the JSON that speech-to-text services write, and scanning them.

Shapes read (the fields each service documents; anything else is a clear `TranscriptError`):

- AWS Transcribe: `results.audio_segments` (speaker_label, transcript, start/end_time), or
  `results.items` with `speaker_label` (or `results.speaker_labels.segments`) grouped into
  turns; AWS Call Analytics: `Transcript` (ParticipantRole, Content, Begin/EndOffsetMillis).
- Google Speech-to-Text: `results[].alternatives[0]`, with diarized `words[].speakerTag` /
  `speakerLabel` grouped into turns, else one turn per result (`channelTag` as the speaker).
- Deepgram: `results.utterances` (speaker, transcript, start, end), else the words of
  `results.channels[0].alternatives[0]` grouped by `speaker`.
- Whisper (and WhisperX): `segments[]` (text, start, end, optional speaker).
- A plain list of turns: `[{"speaker"|"role"|"participant"|"channel": ..., "text"|"content"|
  "transcript"|"utterance": ...}]`.

`scan_turns` lays the turns out as "speaker: text" lines, scans them as one conversation (so
a card read across turns is assembled, conversation.py) and maps every finding back to its
turn: offsets are into that turn's own `text`.

`parse_words` reads the same services at the word level, for what needs each word's time (audio
redaction): AWS Transcribe `results.items` or `results.channel_labels.channels[].items`
(punctuation joined to the word before), Google `results[].alternatives[0].words` (`channelTag`
is 1-based), Deepgram `results.channels[i].alternatives[0].words` (channel i), Whisper
`segments[].words` or top-level `words` (WhisperX `speaker`), and plain `speaker: text` lines
without timings. It is strict: a time that is missing, negative or not a number is an error
naming the word, since a word placed wrongly is audio left unredacted.
"""

from __future__ import annotations

import bisect
import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from honorbound.detect.engine import scan
from honorbound.detect.findings import Finding


class TranscriptError(ValueError):
    """A document that is not one of the transcript shapes read here."""


@dataclass(frozen=True)
class Turn:
    speaker: str
    text: str
    start_time: float | None = None
    end_time: float | None = None


MAX_WORDS = 2_000_000  # a 4-hour call is about 100,000 words


@dataclass(frozen=True, slots=True)
class Word:
    """One word with its time in seconds (None in a transcript without timings), and where
    the transcript says so its speaker and audio channel (0-based)."""

    text: str
    start: float | None
    end: float | None
    speaker: str | None = None
    channel: int | None = None

    def __repr__(self) -> str:  # the text is personal data
        return f"Word(start={self.start!r}, end={self.end!r}, channel={self.channel!r})"


@dataclass(frozen=True)
class TimedTranscript:
    """The words of a transcript in time order, and what it says about its audio."""

    words: list[Word]
    shape: str  # one of WORD_SHAPES
    duration: float | None = None  # Deepgram's metadata.duration, Whisper's duration
    sha256: str | None = None  # Deepgram's metadata.sha256


@dataclass(frozen=True)
class TurnFinding:
    """A finding in one turn: `finding.start`/`end` are offsets into `turns[turn].text`."""

    turn: int
    finding: Finding


def _seconds(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, dict):  # Google's {"seconds": "1", "nanos": 100000000}
        return float(value.get("seconds", 0)) + float(value.get("nanos", 0)) / 1e9
    try:
        return float(str(value).rstrip("s"))
    except ValueError:
        return None


def _grouped(words: Iterable[tuple[str, str, float | None, float | None, bool]]) -> list[Turn]:
    """Consecutive words of one speaker as one turn. Each word: (speaker, text, start, end,
    punctuation joined to the word before)."""
    turns: list[Turn] = []
    speaker: str | None = None
    parts: list[str] = []
    start: float | None = None
    end: float | None = None
    for who, word, begin, finish, glued in words:
        if who != speaker and parts:
            turns.append(Turn(speaker or "speaker", "".join(parts).strip(), start, end))
            parts, start = [], None
        speaker = who
        parts.append(word if glued or not parts else " " + word)
        start = begin if start is None else start
        end = finish if finish is not None else end
    if parts:
        turns.append(Turn(speaker or "speaker", "".join(parts).strip(), start, end))
    return turns


def _aws(results: dict[str, Any]) -> list[Turn]:
    if results.get("audio_segments"):
        return [
            Turn(
                str(seg.get("speaker_label") or seg.get("channel_label") or "speaker"),
                str(seg.get("transcript", "")),
                _seconds(seg.get("start_time")),
                _seconds(seg.get("end_time")),
            )
            for seg in results["audio_segments"]
        ]
    items = results.get("items") or []
    if items:
        by_time: dict[str, str] = {}
        for seg in (results.get("speaker_labels") or {}).get("segments", []):
            for item in seg.get("items", []):
                by_time[str(item.get("start_time"))] = str(item.get("speaker_label"))
        words = []
        last = "speaker"
        for item in items:
            content = str((item.get("alternatives") or [{}])[0].get("content", ""))
            who = item.get("speaker_label") or by_time.get(str(item.get("start_time"))) or last
            last = str(who)
            words.append(
                (
                    last,
                    content,
                    _seconds(item.get("start_time")),
                    _seconds(item.get("end_time")),
                    item.get("type") == "punctuation",
                )
            )
        return _grouped(words)
    return [Turn("speaker", str(t.get("transcript", ""))) for t in results.get("transcripts", [])]


def _google(results: list[Any]) -> list[Turn]:
    tagged = [
        r
        for r in results
        if any(
            "speakerTag" in w or "speakerLabel" in w
            for w in (r.get("alternatives") or [{}])[0].get("words", [])
        )
    ]
    if tagged:
        # Diarization puts every word, with its speaker, in the last result.
        words = (tagged[-1].get("alternatives") or [{}])[0].get("words", [])
        return _grouped(
            (
                f"speaker {w.get('speakerLabel') or w.get('speakerTag')}",
                str(w.get("word", "")),
                _seconds(w.get("startTime") or w.get("startOffset")),
                _seconds(w.get("endTime") or w.get("endOffset")),
                False,
            )
            for w in words
        )
    turns = []
    for r in results:
        alternative = (r.get("alternatives") or [{}])[0]
        channel = r.get("channelTag")
        turns.append(
            Turn(
                f"channel {channel}" if channel is not None else "speaker",
                str(alternative.get("transcript", "")).strip(),
                None,
                _seconds(r.get("resultEndTime") or r.get("resultEndOffset")),
            )
        )
    return turns


def _deepgram(results: dict[str, Any]) -> list[Turn]:
    if results.get("utterances"):
        return [
            Turn(
                f"speaker {u.get('speaker', 0)}",
                str(u.get("transcript", "")),
                _seconds(u.get("start")),
                _seconds(u.get("end")),
            )
            for u in results["utterances"]
        ]
    channels = results.get("channels") or [{}]
    alternative = (channels[0].get("alternatives") or [{}])[0]
    words = alternative.get("words") or []
    if not words:
        return [Turn("speaker", str(alternative.get("transcript", "")))]
    return _grouped(
        (
            f"speaker {w.get('speaker', 0)}",
            str(w.get("punctuated_word") or w.get("word", "")),
            _seconds(w.get("start")),
            _seconds(w.get("end")),
            False,
        )
        for w in words
    )


_SPEAKER_KEYS = ("speaker", "role", "participant", "speaker_label", "channel", "ParticipantRole")
_TEXT_KEYS = ("text", "content", "transcript", "utterance", "Content")


def _plain(turns: Sequence[Any]) -> list[Turn]:
    out = []
    for k, turn in enumerate(turns):
        if not isinstance(turn, dict):
            raise TranscriptError(f"turn {k}: expected an object with a speaker and a text")
        text = next((turn[key] for key in _TEXT_KEYS if isinstance(turn.get(key), str)), None)
        if text is None:
            raise TranscriptError(f"turn {k}: no text (one of {', '.join(_TEXT_KEYS)})")
        speaker = next((turn[key] for key in _SPEAKER_KEYS if turn.get(key) is not None), "")
        start = turn.get("start", turn.get("start_time", turn.get("BeginOffsetMillis")))
        end = turn.get("end", turn.get("end_time", turn.get("EndOffsetMillis")))
        if "BeginOffsetMillis" in turn:
            start = None if start is None else float(start) / 1000
            end = None if end is None else float(end) / 1000
        out.append(Turn(str(speaker) or "speaker", text, _seconds(start), _seconds(end)))
    return out


def parse(document: str | bytes | dict[str, Any] | list[Any]) -> list[Turn]:
    """The speaker turns of a transcript document (see the module docstring)."""
    try:
        return _parse(document)
    except (AttributeError, TypeError, KeyError, IndexError, ValueError) as exc:
        if isinstance(exc, TranscriptError):
            raise
        # A known shape with a field of the wrong kind ("items": [1, 2]).
        raise TranscriptError(
            "a field of the transcript does not have the documented structure "
            f"({type(exc).__name__})"
        ) from None


def _parse(document: str | bytes | dict[str, Any] | list[Any]) -> list[Turn]:
    data: Any = document
    if isinstance(document, (str, bytes)):
        try:
            data = json.loads(document)
        except json.JSONDecodeError as exc:
            raise TranscriptError(f"not JSON: {exc.msg} at position {exc.pos}") from None
        except UnicodeDecodeError:
            raise TranscriptError("not JSON: the document is not UTF-8") from None
    if isinstance(data, list):
        return _plain(data)
    if not isinstance(data, dict):
        raise TranscriptError("expected a JSON object or a list of turns")
    results = data.get("results")
    if isinstance(data.get("Transcript"), list):
        return _plain(data["Transcript"])
    if isinstance(results, dict) and ("transcripts" in results or "items" in results):
        return _aws(results)
    if isinstance(results, dict) and ("channels" in results or "utterances" in results):
        return _deepgram(results)
    if isinstance(results, list):
        return _google(results)
    if isinstance(data.get("segments"), list):
        return _plain(data["segments"])
    if isinstance(data.get("turns"), list):
        return _plain(data["turns"])
    raise TranscriptError(
        "not a transcript shape read here (AWS Transcribe, Google Speech-to-Text, Deepgram, "
        "Whisper, or a list of {speaker, text} turns)"
    )


_LABEL_SAFE = re.compile(r"[^\w .'\-]")


def _label(speaker: str) -> str:
    name = _LABEL_SAFE.sub(" ", speaker).strip()[:30] or "speaker"
    return name if name[0].isalpha() else f"speaker {name}"[:30]


def scan_turns(
    turns: Sequence[Turn], *, entities: Iterable[str] | None = None
) -> list[TurnFinding]:
    """Every finding in `turns`, scanned as one conversation, with offsets into each turn's
    text. A finding never spans two turns (pieces of one value carry one `value_id`)."""
    lines: list[str] = []
    starts: list[int] = []
    size = 0
    for turn in turns:
        head = f"{_label(turn.speaker)}: "
        # A newline inside a turn would start a new (unlabelled) line: keep offsets, use a space.
        body = turn.text.replace("\n", " ").replace("\r", " ")
        starts.append(size + len(head))
        lines.append(head + body)
        size += len(head) + len(body) + 1
    text = "\n".join(lines)
    out: list[TurnFinding] = []
    for finding in scan(text, entities=entities):
        k = bisect.bisect_right(starts, finding.start) - 1
        if k < 0:
            continue  # inside the first label: not the conversation's words
        base = starts[k]
        limit = len(turns[k].text)
        start, end = finding.start - base, min(finding.end - base, limit)
        if start < 0 or start >= end:
            continue
        out.append(
            TurnFinding(
                k,
                Finding(
                    finding.type,
                    start,
                    end,
                    finding.score,
                    turns[k].text[start:end],
                    finding.value_id,
                ),
            )
        )
    return out


# Word level (parse_words).


def _strict_seconds(value: Any, where: str) -> float:
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
    s, e = _strict_seconds(start, f"{where}.start"), _strict_seconds(end, f"{where}.end")
    if e < s:
        raise TranscriptError(f"{where}: the word ends before it starts")
    return Word(text.strip(), s, e, **kw)


def _words_aws(doc: dict[str, Any]) -> TimedTranscript:
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
    return TimedTranscript(words, "aws")


def _words_google(doc: dict[str, Any]) -> TimedTranscript:
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
    return TimedTranscript(words, "google")


def _words_deepgram(doc: dict[str, Any]) -> TimedTranscript:
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
    return TimedTranscript(
        words,
        "deepgram",
        duration=float(duration) if isinstance(duration, (int, float)) else None,
        sha256=meta.get("sha256") if isinstance(meta.get("sha256"), str) else None,
    )


def _words_whisper(doc: dict[str, Any]) -> TimedTranscript:
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
    return TimedTranscript(
        [w for w in words if w.text],
        "whisper",
        duration=float(duration) if isinstance(duration, (int, float)) else None,
    )


_PLAIN_LINE = re.compile(r"^\s*([^:\n]{1,60}):\s*(.*)$")


def _words_plain(text: str) -> TimedTranscript:
    words: list[Word] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        m = _PLAIN_LINE.match(line)
        if m is None:
            raise TranscriptError(
                f"line {number}: expected `speaker: text` (a transcript without timings)"
            )
        speaker = m.group(1).strip()
        words.extend(Word(t, None, None, speaker) for t in m.group(2).split())
    return TimedTranscript(words, "plain")


WORD_SHAPES = ("aws", "google", "deepgram", "whisper", "plain")


def word_shape(doc: Any) -> str:
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


def parse_words(data: bytes | str, shape: str | None = None) -> TimedTranscript:
    """Every word of a transcript with its timing, speaker and channel (see `TimedTranscript`);
    `shape` one of WORD_SHAPES, or None to recognize it by its keys."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError:
            raise TranscriptError("the transcript is not UTF-8 text") from None
    if shape is not None and shape not in WORD_SHAPES:
        raise TranscriptError(
            f"unknown transcript shape {shape!r}; one of {', '.join(WORD_SHAPES)}"
        )
    if shape == "plain" or (shape is None and not data.lstrip().startswith(("{", "["))):
        out = _words_plain(data)
    else:
        try:
            doc = json.loads(data)
        except json.JSONDecodeError as exc:
            raise TranscriptError(f"the transcript is not valid JSON (line {exc.lineno})") from None
        shape = shape or word_shape(doc)
        parser = {
            "aws": _words_aws,
            "google": _words_google,
            "deepgram": _words_deepgram,
            "whisper": _words_whisper,
        }
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
