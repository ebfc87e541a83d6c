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
"""

from __future__ import annotations

import bisect
import json
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
