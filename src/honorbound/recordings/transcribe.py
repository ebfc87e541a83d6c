"""Offline transcription for calls without a transcript: LOW ACCURACY, for finding spoken digits.

The backend is PocketSphinx (`pip install honorbound[asr]`) with the US-English acoustic model
that ships inside its PyPI package: nothing is downloaded at run time. That model is wideband
(16 kHz), so telephone audio (8 kHz) is resampled to 16 kHz first (a windowed-sinc filter, in
blocks); the missing upper band costs accuracy, and the model was never trained on phone
lines. What it is good for:

* `grammar="digits"` (the default): the recognizer may only hear the digit words, "oh", and a
  few cue and filler words (`DIGIT_GRAMMAR`). Speech that is not a number comes out as
  fillers; a number read aloud comes out as digit words, often with some wrong or missing.
  It answers "were digits said here, and when", which is what redaction needs.
* `grammar="general"`: the bundled general language model, every word. On synthesized and
  phone speech it mishears most words; it is offered for completeness, not for redaction.

Tested on espeak-ng calls (tests/recordings/test_offline_asr.py): the digits grammar hears a
card number's digit words in the original and none in the redacted copy. It runs at about
real time on one core. Use a real ASR service's transcript (AWS, Google, Deepgram, Whisper)
whenever you have one.

The output is an AWS Transcribe-shaped document (channel identification, word items with
times) labelled `"honorbound_asr": {"engine": "pocketsphinx", "accuracy": "low"}`, so it is
read by the same parser as a vendor's transcript.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from honorbound.recordings import audio
from honorbound.recordings.audio import AudioInfo
from honorbound.recordings.errors import RecordingError, UnsupportedAudio

MODEL_RATE = 16000
FRAMES_PER_SECOND = 100  # PocketSphinx's frame rate (10 ms)
DIGIT_WORDS = ("zero", "oh", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
CUE_WORDS = ("card", "number", "code", "security", "social", "phone", "is", "my", "it", "the")
DIGIT_GRAMMAR = (
    f"#JSGF V1.0;\ngrammar digits;\npublic <call> = ( {' | '.join(DIGIT_WORDS + CUE_WORDS)} )* ;\n"
)
LABEL = {"engine": "pocketsphinx", "model": "en-us (bundled, 16 kHz)", "accuracy": "low"}
Grammar = Literal["digits", "general"]
SOURCE = "offline: pocketsphinx en-us, digits grammar (LOW ACCURACY)"


class AsrUnavailable(RecordingError):
    title = "Offline transcription is not installed"


def _pocketsphinx() -> Any:
    try:
        return importlib.import_module("pocketsphinx")
    except ImportError:
        raise AsrUnavailable(
            "offline transcription needs PocketSphinx: pip install 'honorbound[asr]'"
        ) from None


def available() -> bool:
    try:
        _pocketsphinx()
    except AsrUnavailable:
        return False
    return True


class Resampler:
    """Streaming integer-ratio resampling to 16 kHz: 8 kHz is upsampled by 2 (zeros stuffed,
    then a Hamming-windowed sinc low-pass at the old Nyquist), 32 and 48 kHz are low-passed
    and decimated. Other rates are refused with a sentence (resample them to 8 or 16 kHz)."""

    def __init__(self, samplerate: int) -> None:
        self.up, self.down = 1, 1
        if samplerate == MODEL_RATE:
            pass
        elif MODEL_RATE % samplerate == 0:
            self.up, self.down = MODEL_RATE // samplerate, 1
        elif samplerate % MODEL_RATE == 0:
            self.up, self.down = 1, samplerate // MODEL_RATE
        else:
            raise UnsupportedAudio(
                f"offline transcription reads 8, 16, 32 or 48 kHz audio, not {samplerate} Hz"
            )
        factor = max(self.up, self.down)
        half = 32 * factor
        n = np.arange(-half, half + 1, dtype=np.float64)
        cutoff = 0.5 / factor  # of the upsampled rate
        taps = 2 * cutoff * np.sinc(2 * cutoff * n) * np.hamming(len(n))
        self.taps = taps * self.up  # zero stuffing divides the level by `up`
        self.history = np.zeros(len(n) - 1)
        self.phase = 0  # samples to skip before the next kept one (decimation)
        # The filter's group delay, in output samples; none when passing through.
        self.delay = 0 if factor == 1 else half // self.down

    def feed(self, x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        if self.up == 1 and self.down == 1:
            return x
        if self.up > 1:
            stuffed = np.zeros(len(x) * self.up)
            stuffed[:: self.up] = x
            x = stuffed
        buf = np.concatenate([self.history, x])
        y = np.convolve(buf, self.taps, mode="valid")
        self.history = buf[len(buf) - len(self.history) :]
        if self.down > 1:
            y = y[self.phase :: self.down]
            self.phase = (self.phase - len(buf) + len(self.history)) % self.down
        return y


@dataclass(frozen=True)
class HeardWord:
    text: str
    start: float
    end: float
    channel: int


def _decoder(ps: Any, grammar: Grammar) -> Any:
    if grammar == "digits":
        decoder = ps.Decoder(loglevel="FATAL", samprate=MODEL_RATE, lm=None)
        decoder.add_jsgf_string("digits", DIGIT_GRAMMAR)
        decoder.activate_search("digits")
        return decoder
    if grammar == "general":
        return ps.Decoder(loglevel="FATAL", samprate=MODEL_RATE)
    raise RecordingError("grammar must be `digits` or `general`")


def _channel_pcm(info: AudioInfo, channel: int) -> Iterator[bytes]:
    """The channel as 16 kHz 16-bit PCM, block by block."""
    resampler = Resampler(info.samplerate)
    scale = 1.0 / info.full_scale
    skip = resampler.delay  # the filter's delay: output sample k is input time k / 16 kHz
    for _first, block in audio.blocks(info):
        y = resampler.feed(block[:, channel].astype(np.float64) * scale)
        if skip:
            cut = min(skip, len(y))
            y, skip = y[cut:], skip - cut
        yield np.clip(np.round(y * 32767.0), -32768, 32767).astype("<i2").tobytes()
    tail = resampler.feed(np.zeros(len(resampler.taps) // resampler.up + 1))  # flush it
    yield np.clip(np.round(tail * 32767.0), -32768, 32767).astype("<i2").tobytes()


def _words(decoder: Any, offset: float, channel: int) -> list[HeardWord]:
    out = []
    for seg in decoder.seg():
        word = str(seg.word).split("(")[0]  # "the(2)": a pronunciation variant
        if word.startswith("<") or word.startswith("[") or word == "":
            continue  # <s>, </s>, <sil>, [NOISE]
        start = offset + seg.start_frame / FRAMES_PER_SECOND
        end = offset + (seg.end_frame + 1) / FRAMES_PER_SECOND
        out.append(HeardWord(word, round(start, 2), round(end, 2), channel))
    return out


def heard(info: AudioInfo, *, grammar: Grammar = "digits", channel: int = 0) -> list[HeardWord]:
    """The words PocketSphinx hears on one channel, with times in seconds from the start.

    The audio is cut into utterances by PocketSphinx's voice-activity endpointer, so memory
    stays bounded for a long call (one utterance is decoded at a time)."""
    if not 0 <= channel < info.channels:
        raise RecordingError(f"channel {channel}: the audio has {info.channels} (from 0)")
    ps = _pocketsphinx()
    decoder = _decoder(ps, grammar)
    endpointer = ps.Endpointer(sample_rate=MODEL_RATE)
    size = endpointer.frame_bytes
    words: list[HeardWord] = []
    pending = b""
    in_speech = False
    utt_start = 0.0
    for pcm in _channel_pcm(info, channel):
        pending += pcm
        usable = len(pending) - len(pending) % size
        for i in range(0, usable, size):
            speech = endpointer.process(pending[i : i + size])
            if speech is None:
                continue
            if not in_speech:
                utt_start = float(endpointer.speech_start)
                decoder.start_utt()
                in_speech = True
            decoder.process_raw(speech, full_utt=False)
            if not endpointer.in_speech:
                decoder.end_utt()
                words.extend(_words(decoder, utt_start, channel))
                in_speech = False
        pending = pending[usable:]
    if in_speech:
        rest = endpointer.end_stream(pending)
        if rest:
            decoder.process_raw(rest, full_utt=False)
        decoder.end_utt()
        words.extend(_words(decoder, utt_start, channel))
    return words


def transcript(words: list[HeardWord], channels: int) -> dict[str, Any]:
    """An AWS Transcribe-shaped document of `words` (channel identification), labelled as the
    low-accuracy offline backend's."""
    groups = []
    for ch in range(channels):
        items = [
            {
                "start_time": f"{w.start:.2f}",
                "end_time": f"{w.end:.2f}",
                "type": "pronunciation",
                "alternatives": [{"content": w.text, "confidence": "0.0"}],
            }
            for w in words
            if w.channel == ch
        ]
        groups.append({"channel_label": f"ch_{ch}", "items": items})
    return {
        "honorbound_asr": dict(LABEL),
        "results": {
            "channel_labels": {"channels": groups, "number_of_channels": channels},
            "items": [],
        },
    }


def transcribe(info: AudioInfo, *, grammar: Grammar = "digits") -> dict[str, Any]:
    """Every channel of `info` transcribed offline (low accuracy: see the module docstring)."""
    words: list[HeardWord] = []
    for ch in range(info.channels):
        words.extend(heard(info, grammar=grammar, channel=ch))
    words.sort(key=lambda w: (w.start, w.channel))
    if any(not math.isfinite(w.end) or w.end < w.start for w in words):
        raise RecordingError("offline transcription gave a word with bad times")
    return transcript(words, info.channels)
