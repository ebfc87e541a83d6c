"""Calls synthesized with espeak-ng and sox, with every word's time known.

espeak-ng gives no word timings, so each word is synthesized alone (resampled to 8 kHz by sox)
and the call is laid out word by word: the word's interval is exactly where its samples went.
Agent on channel 0, customer on channel 1, faint line noise on both (so "unchanged" means
something), DTMF tones made by sox (`synth 0.1 sine 697 sine 1209`).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np
import numpy.typing as npt
import soundfile as sf

SR = 8000
VOICES = {0: "en-us", 1: "en-us+f3"}  # agent, customer
DIGIT_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
KEYPAD = {
    "1": (697, 1209),
    "2": (697, 1336),
    "3": (697, 1477),
    "A": (697, 1633),
    "4": (770, 1209),
    "5": (770, 1336),
    "6": (770, 1477),
    "B": (770, 1633),
    "7": (852, 1209),
    "8": (852, 1336),
    "9": (852, 1477),
    "C": (852, 1633),
    "*": (941, 1209),
    "0": (941, 1336),
    "#": (941, 1477),
    "D": (941, 1633),
}
CACHE = Path(__file__).resolve().parents[2] / "test-output" / "espeak-cache"


def tools_missing() -> str | None:
    missing = [t for t in ("espeak-ng", "sox") if shutil.which(t) is None]
    return f"needs {', '.join(missing)} (apt-get install espeak-ng sox)" if missing else None


@cache
def word_audio(word: str, voice: str) -> npt.NDArray[np.float64]:
    """One word, 8 kHz mono float, leading/trailing silence trimmed."""
    CACHE.mkdir(parents=True, exist_ok=True)
    safe = "".join(c if c.isalnum() else "_" for c in f"{voice}-{word}")
    out = CACHE / f"{safe}.wav"
    if not out.exists():
        # Parallel test processes share the cache: each writes its own files, then renames.
        tag = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        raw, tmp = CACHE / f"{safe}.{tag}.raw.wav", CACHE / f"{safe}.{tag}.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-s", "190", "-w", str(raw), word], check=True)
        subprocess.run(
            ["sox", str(raw), "-r", str(SR), "-c", "1", "-b", "16", str(tmp)], check=True
        )
        raw.unlink()
        os.replace(tmp, out)
    data, sr = sf.read(str(out), dtype="float64")
    assert sr == SR
    loud = np.flatnonzero(np.abs(data) > 0.01)
    return data[loud[0] : loud[-1] + 1] if len(loud) else data


def sox_dtmf(key: str, seconds: float = 0.1) -> npt.NDArray[np.float64]:
    """A keypad tone made by sox, 8 kHz mono float."""
    low, high = KEYPAD[key]
    CACHE.mkdir(parents=True, exist_ok=True)
    out = CACHE / f"dtmf-{ord(key)}-{seconds}.wav"
    if not out.exists():
        tmp = CACHE / f"dtmf-{ord(key)}-{seconds}.{os.getpid()}-{uuid.uuid4().hex[:8]}.wav"
        subprocess.run(
            [
                "sox",
                "-n",
                "-r",
                str(SR),
                "-b",
                "16",
                "-c",
                "1",
                str(tmp),
                "synth",
                str(seconds),
                "sine",
                str(low),
                "sine",
                str(high),
                "vol",
                "0.35",
            ],
            check=True,
        )
        os.replace(tmp, out)
    data, _ = sf.read(str(out), dtype="float64")
    return data


@dataclass
class TimedWord:
    text: str
    start: float
    end: float
    channel: int
    tag: str = ""  # what the test expects: "card", "ssn", "phone", "" for plain words


@dataclass
class Call:
    samples: npt.NDArray[np.float64]  # (frames, 2)
    words: list[TimedWord] = field(default_factory=list)
    tones: list[tuple[float, float, str]] = field(default_factory=list)  # (start, end, key)

    @property
    def duration(self) -> float:
        return len(self.samples) / SR

    def write(self, path: Path, subtype: str = "PCM_16") -> Path:
        sf.write(str(path), self.samples, SR, subtype=subtype)
        return path

    def aws_json(self, speakers: bool = False) -> str:
        """AWS Transcribe output: channel identification, or (`speakers`) speaker labels."""
        if speakers:
            items = [
                {
                    "start_time": str(w.start),
                    "end_time": str(w.end),
                    "alternatives": [{"confidence": "0.99", "content": w.text}],
                    "type": "pronunciation",
                    "speaker_label": f"spk_{w.channel}",
                }
                for w in self.words
            ]
            return json.dumps({"results": {"transcripts": [], "items": items}})
        channels = []
        for ch in (0, 1):
            items = [
                {
                    "start_time": str(w.start),
                    "end_time": str(w.end),
                    "alternatives": [{"confidence": "0.99", "content": w.text}],
                    "type": "pronunciation",
                }
                for w in self.words
                if w.channel == ch
            ]
            channels.append({"channel_label": f"ch_{ch}", "items": items})
        return json.dumps(
            {
                "jobName": "call",
                "results": {
                    "transcripts": [{"transcript": " ".join(w.text for w in self.words)}],
                    "channel_labels": {"channels": channels, "number_of_channels": 2},
                    "items": [],
                },
                "status": "COMPLETED",
            }
        )

    def deepgram_json(self, sha256: str | None = None) -> str:
        chans = []
        for ch in (0, 1):
            words = [
                {"word": w.text, "start": w.start, "end": w.end, "confidence": 0.99}
                for w in self.words
                if w.channel == ch
            ]
            chans.append({"alternatives": [{"transcript": "", "words": words}]})
        meta = {"duration": self.duration, "channels": 2}
        if sha256:
            meta["sha256"] = sha256
        return json.dumps({"metadata": meta, "results": {"channels": chans}})

    def whisper_json(self) -> str:
        words = [{"word": " " + w.text, "start": w.start, "end": w.end} for w in self.words]
        return json.dumps({"text": "", "segments": [{"start": 0, "end": 0, "words": words}]})


class Builder:
    def __init__(self, seed: int = 7, noise: float = 0.002) -> None:
        self.rng = np.random.default_rng(seed)
        self.noise = noise
        self.parts: list[tuple[int, int, npt.NDArray[np.float64]]] = []  # (start, channel, x)
        self.pos = int(0.3 * SR)
        self.call = Call(np.zeros((0, 2)))

    def say(self, channel: int, text: str, tag: str = "") -> None:
        for word in text.split():
            x = word_audio(word, VOICES[channel]) * 0.6
            start = self.pos
            self.parts.append((start, channel, x))
            self.call.words.append(TimedWord(word, start / SR, (start + len(x)) / SR, channel, tag))
            self.pos += len(x) + int(0.06 * SR)
        self.pos += int(0.5 * SR)

    def digits(self, channel: int, digits: str, tag: str) -> None:
        self.say(channel, " ".join(DIGIT_WORDS[int(d)] for d in digits if d.isdigit()), tag)

    def keypad(self, keys: str, channel: int = 1, seconds: float = 0.1, gap: float = 0.1) -> None:
        for key in keys:
            x = sox_dtmf(key, seconds)
            self.parts.append((self.pos, channel, x))
            self.call.tones.append((self.pos / SR, (self.pos + len(x)) / SR, key))
            self.pos += len(x) + int(gap * SR)
        self.pos += int(0.5 * SR)

    def build(self) -> Call:
        total = self.pos + int(0.3 * SR)
        samples = self.rng.normal(0, self.noise, (total, 2))
        for start, ch, x in self.parts:
            samples[start : start + len(x), ch] += x
        self.call.samples = np.clip(samples, -0.99, 0.99)
        return self.call
