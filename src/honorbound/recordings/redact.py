"""Redaction of a call: transcript findings to time spans, spans to tone or silence.

1. `honorbound.detect` scans the transcript's joined text; each finding's characters map to the
   words they touch, the words to a time span widened by the padding (Private AI's defaults:
   0.5 s before, 0.2 s after), on the speaker's channel when the transcript says which one,
   on every channel otherwise.
2. DTMF tones found in the audio (`dtmf`) are silenced on every channel (the far end hears the
   keypad too).
3. Between a dialer's pause and resume markers nothing is kept: silence on every channel, and
   the words spoken then leave the transcript.
4. One streaming pass writes the copy: samples outside every span are the input's own, bit
   for bit; inside a span they are the tone (a sine at `tone_hz`, phase counted from the start
   of the file) or zero.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from honorbound import detect
from honorbound.recordings import audio, dtmf
from honorbound.recordings.audio import AudioInfo, Block
from honorbound.recordings.errors import MarkerError, RecordingError, TranscriptMismatch
from honorbound.recordings.timings import Transcript

# Entities redacted by default: every PII type the engine knows but bare dates and times
# (a callback time is not personal on its own; a date of birth is its own type).
DEFAULT_ENTITIES = frozenset(detect.ENTITIES) - {"DATE_TIME"}
END_TOLERANCE_S = 0.25  # ASR end times may run past the last sample by a frame or two
MAX_SPANS = 200_000


@dataclass(frozen=True)
class Options:
    pad_before: float = 0.5
    pad_after: float = 0.2
    sound: Literal["tone", "silence"] = "tone"
    tone_hz: float = 1000.0
    tone_level: float = 0.1  # peak amplitude, full scale 1.0 (-20 dBFS)
    dtmf: bool = True
    dtmf_pad: float = 0.05
    entities: frozenset[str] = DEFAULT_ENTITIES
    # Speaker label -> channel, for transcripts that name speakers but not channels.
    speaker_channels: dict[str, int] = field(default_factory=dict)
    # A run of at least this many spoken digit words is redacted whatever the detector says
    # (0: off). For the offline backend's transcripts, which hear digits too poorly for a
    # card number to pass its checksum (transcribe.py).
    digit_runs: int = 0

    def __post_init__(self) -> None:
        for name in ("pad_before", "pad_after", "dtmf_pad"):
            value = getattr(self, name)
            if not (0 <= value <= 10):
                raise RecordingError(f"{name} must be between 0 and 10 seconds")
        if self.sound not in ("tone", "silence"):
            raise RecordingError("sound must be `tone` or `silence`")
        if not (20 <= self.tone_hz <= 4000):
            raise RecordingError("tone_hz must be between 20 and 4000")
        if not (0 <= self.tone_level <= 1):
            raise RecordingError("tone_level must be between 0 and 1")
        if not (0 <= self.digit_runs <= 64):
            raise RecordingError("digit_runs must be between 0 and 64")
        unknown = set(self.entities) - set(detect.ENTITIES)
        if unknown:
            raise RecordingError(f"unknown entity types: {', '.join(sorted(unknown))}")


@dataclass(frozen=True)
class Span:
    start: float  # seconds
    end: float
    reason: str  # "pii:CREDIT_CARD", "dtmf", "paused"
    channels: tuple[int, ...] | None = None  # None: every channel

    @property
    def silent(self) -> bool:
        return self.reason in ("dtmf", "paused")


@dataclass
class Plan:
    """What redaction will do: the spans, and which transcript words are replaced or dropped."""

    spans: list[Span]
    replaced: dict[int, str]  # word index -> entity type
    dropped: set[int]  # words spoken while recording was paused
    findings: dict[str, int]  # entity type -> count


def pause_spans(markers: Iterable[dict[str, Any]], duration: float) -> list[Span]:
    """Paused intervals from dialer events `{"type": "pause"|"resume", "at": seconds}`, in
    order. A pause never resumed lasts to the end of the call."""
    out: list[Span] = []
    paused_at: float | None = None
    last = -1.0
    for i, m in enumerate(markers):
        kind = m.get("type", m.get("event")) if isinstance(m, dict) else None
        at = m.get("at") if isinstance(m, dict) else None
        if kind not in ("pause", "resume"):
            raise MarkerError(f"marker {i}: `type` must be `pause` or `resume`")
        if not isinstance(at, (int, float)) or isinstance(at, bool) or not math.isfinite(at):
            raise MarkerError(f"marker {i}: `at` must be a time in seconds")
        if at < last:
            raise MarkerError(f"marker {i}: markers must be in time order")
        if at < 0 or at > duration + END_TOLERANCE_S:
            raise MarkerError(f"marker {i}: at {at:.2f} s is outside the audio")
        last = float(at)
        if kind == "pause":
            if paused_at is not None:
                raise MarkerError(f"marker {i}: a pause while already paused")
            paused_at = float(at)
        else:
            if paused_at is None:
                raise MarkerError(f"marker {i}: a resume without a pause before it")
            out.append(Span(paused_at, float(at), "paused"))
            paused_at = None
    if paused_at is not None:
        out.append(Span(paused_at, duration, "paused"))
    return out


def check_transcript(transcript: Transcript, info: AudioInfo, audio_sha256: str) -> None:
    """Refuse a transcript that cannot be this audio's."""
    if transcript.sha256 and transcript.sha256.lower() != audio_sha256:
        raise TranscriptMismatch("the transcript names another audio file (its sha256 differs)")
    declared = transcript.duration
    if declared is not None and abs(declared - info.duration) > max(1.0, 0.01 * info.duration):
        raise TranscriptMismatch(
            f"the transcript is for audio of {declared:.1f} s, this audio "
            f"lasts {info.duration:.1f} s: is it the transcript of another file?"
        )
    for i, w in enumerate(transcript.words):
        if w.end is not None and w.end > info.duration + END_TOLERANCE_S:
            raise TranscriptMismatch(
                f"word {i} ends at {w.end:.2f} s, after the end of the audio "
                f"({info.duration:.2f} s): is it the transcript of another file?"
            )
        if w.channel is not None and w.channel >= info.channels:
            raise TranscriptMismatch(
                f"word {i} is on channel {w.channel}, the audio has {info.channels} "
                "(channels count from 0)"
            )


def plan(
    transcript: Transcript, info: AudioInfo, options: Options, paused: Sequence[Span] = ()
) -> Plan:
    replaced: dict[int, str] = {}
    spans: list[Span] = list(paused)
    counts: dict[str, int] = {}
    findings = [f for f in detect.scan(transcript.text) if f.type in options.entities]
    if findings and not transcript.timed:
        raise RecordingError(
            "the transcript has no word timings, so the audio cannot be redacted; give a "
            "transcript with word timings (AWS, Google, Deepgram or Whisper JSON)"
        )
    for f in findings:
        idx = transcript.words_in(f.start, f.end)
        if not idx:
            continue
        counts[f.type] = counts.get(f.type, 0) + 1
        words = [transcript.words[i] for i in idx]
        for i in idx:
            replaced.setdefault(i, f.type)
        chans: set[int] = set()
        unknown = False
        for w in words:
            ch = w.channel
            if ch is None and w.speaker is not None:
                ch = options.speaker_channels.get(w.speaker)
            if ch is None:
                unknown = True
            else:
                chans.add(ch)
        if any(c >= info.channels for c in chans):
            raise TranscriptMismatch("a speaker is mapped to a channel the audio lacks")
        start = min(w.start or 0.0 for w in words) - options.pad_before
        end = max(w.end or 0.0 for w in words) + options.pad_after
        spans.append(
            Span(
                max(0.0, start),
                min(info.duration, end),
                f"pii:{f.type}",
                None if unknown or info.channels == 1 else tuple(sorted(chans)),
            )
        )
    if options.digit_runs:
        for run in digit_runs(transcript, options.digit_runs):
            words = [transcript.words[i] for i in run]
            counts["DIGITS"] = counts.get("DIGITS", 0) + 1
            for i in run:
                replaced.setdefault(i, "DIGITS")
            heard_on = [w.channel for w in words]
            spans.append(
                Span(
                    max(0.0, min(w.start or 0.0 for w in words) - options.pad_before),
                    min(info.duration, max(w.end or 0.0 for w in words) + options.pad_after),
                    "pii:DIGITS",
                    None
                    if info.channels == 1 or any(c is None for c in heard_on)
                    else tuple(sorted({c for c in heard_on if c is not None})),
                )
            )
    dropped = {
        i
        for i, w in enumerate(transcript.words)
        if w.start is not None
        and any(p.start < (w.end or w.start) and w.start < p.end for p in paused)
    }
    return Plan(spans, replaced, dropped, counts)


DIGIT_WORDS = frozenset(
    ["zero", "oh", "o", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    + [str(d) for d in range(10)]
)
RUN_GAP_S = 2.0  # a pause longer than this between two digit words ends a run
# Words just before and after a run, without a pause, join it: a digit the offline grammar
# misheard comes out as a filler ("card", "code"), and it must not stay in the audio.
EDGE_WORDS = 3
EDGE_GAP_S = 0.5


def digit_runs(transcript: Transcript, minimum: int) -> list[list[int]]:
    """The word indices of each run of at least `minimum` digit words of one party (speaker
    and channel), each digit word at most RUN_GAP_S after the one before, with the party's
    other words between them (the offline grammar's fillers: "it", "the") and up to
    EDGE_WORDS words said right before and after it."""
    out: list[list[int]] = []
    by_party: dict[tuple[str | None, int | None], list[int]] = {}
    for i, w in enumerate(transcript.words):
        by_party.setdefault((w.speaker, w.channel), []).append(i)
    for party in by_party.values():
        found: list[tuple[int, int]] = []  # (first, last) positions in `party`
        first = last = -1
        digits = 0
        for pos, i in enumerate(party):
            w = transcript.words[i]
            if w.text.strip(".,?!").lower() not in DIGIT_WORDS:
                continue
            if digits and (w.start or 0.0) - (transcript.words[party[last]].end or 0.0) > RUN_GAP_S:
                if digits >= minimum:
                    found.append((first, last))
                digits = 0
            if digits == 0:
                first = pos
            last, digits = pos, digits + 1
        if digits >= minimum:
            found.append((first, last))
        out.extend(_with_edges(transcript, party, lo, hi) for lo, hi in found)
    return sorted(out)


def _with_edges(transcript: Transcript, party: list[int], lo: int, hi: int) -> list[int]:
    words = transcript.words
    for _ in range(EDGE_WORDS):
        if (
            lo == 0
            or (words[party[lo]].start or 0.0) - (words[party[lo - 1]].end or 0.0) > EDGE_GAP_S
        ):
            break
        lo -= 1
    for _ in range(EDGE_WORDS):
        if (
            hi == len(party) - 1
            or (words[party[hi + 1]].start or 0.0) - (words[party[hi]].end or 0.0) > EDGE_GAP_S
        ):
            break
        hi += 1
    return party[lo : hi + 1]


def find_dtmf(info: AudioInfo, options: Options) -> list[Span]:
    det = dtmf.Detector(info.samplerate, info.channels)
    scale = 1.0 / info.full_scale
    for _start, block in audio.blocks(info):
        det.feed(block.astype(np.float64) * scale)
    pad = options.dtmf_pad
    return [
        Span(
            max(0.0, t.start / info.samplerate - pad),
            min(info.duration, t.end / info.samplerate + pad),
            "dtmf",
        )
        for t in det.tones
    ]


def _apply(block: Block, first: int, spans: list[Span], info: AudioInfo, options: Options) -> None:
    sr = info.samplerate
    last = first + len(block)
    for span in spans:
        s0 = max(first, math.floor(span.start * sr))
        s1 = min(last, math.ceil(span.end * sr))
        if s1 <= s0:
            continue
        cols = list(span.channels) if span.channels is not None else slice(None)
        if span.silent or options.sound == "silence":
            block[s0 - first : s1 - first, cols] = 0.0
        else:
            n = np.arange(s0, s1, dtype=np.float64)
            tone = options.tone_level * np.sin(2 * np.pi * options.tone_hz * n / sr)
            if block.dtype.kind in "iu":
                tone = np.round(tone * info.full_scale)
            block[s0 - first : s1 - first, cols] = tone.astype(block.dtype)[:, None]


def write_redacted(info: AudioInfo, spans: list[Span], out: Path, options: Options) -> None:
    if len(spans) > MAX_SPANS:
        raise RecordingError(f"more than {MAX_SPANS} spans to redact in one recording")
    sr = info.samplerate
    # Tones first, silences last: where a pause or a keypad tone overlaps a finding, silence.
    ordered = sorted(spans, key=lambda s: (s.silent, s.start))
    starts = np.array([math.floor(s.start * sr) for s in ordered], dtype=np.int64)
    ends = np.array([math.ceil(s.end * sr) for s in ordered], dtype=np.int64)
    with audio.writer(out, info) as fh:
        for first, block in audio.blocks(info):
            hit = np.flatnonzero((starts < first + len(block)) & (ends > first))
            if len(hit):
                _apply(block, first, [ordered[i] for i in hit.tolist()], info, options)
            fh.write(block)


def redacted_transcript(transcript: Transcript, p: Plan) -> dict[str, Any]:
    """The transcript as stored: each run of words of one finding becomes one `[TYPE]` word
    spanning their time; words spoken while paused are gone."""
    words: list[dict[str, Any]] = []
    prev_type: str | None = None
    for i, w in enumerate(transcript.words):
        if i in p.dropped:
            prev_type = None
            continue
        kind = p.replaced.get(i)
        if kind is not None and kind == prev_type and words:
            words[-1]["end"] = w.end
            continue
        words.append(
            {
                "text": f"[{kind}]" if kind else w.text,
                "start": w.start,
                "end": w.end,
                "speaker": w.speaker,
                "channel": w.channel,
            }
        )
        prev_type = kind
    words.sort(key=lambda w: (w["start"] is None, w["start"] or 0.0))  # time order again
    return {"shape": transcript.shape, "words": words}
