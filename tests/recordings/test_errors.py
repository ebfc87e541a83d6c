"""Bad input gets one clear sentence and stores nothing: corrupt audio, an unsupported codec,
timings outside the audio, the transcript of another file, bad markers."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest

from honorbound.recordings.errors import (
    CorruptAudio,
    MarkerError,
    RecordingError,
    TranscriptError,
    TranscriptMismatch,
    UnsupportedAudio,
)
from honorbound.recordings.ingest import ingest
from honorbound.recordings.redact import Options
from honorbound.recordings.store import RecordingStore
from tests.recordings import synth


def nothing_stored(root: Path) -> bool:
    if not root.exists():
        return True
    entries = [p for p in root.iterdir() if p.name != ".staging"]
    staging = list((root / ".staging").iterdir()) if (root / ".staging").exists() else []
    return not entries and not staging


def refused(tmp_path: Path, audio: Path, transcript: bytes | None, exc: type, match: str, **kw):
    store = tmp_path / "store"
    with pytest.raises(exc, match=match) as info:
        ingest(RecordingStore(store), audio, transcript, **kw)
    assert nothing_stored(store)
    return str(info.value)


@pytest.fixture
def wav(tmp_path: Path, call: synth.Call) -> Path:
    return call.write(tmp_path / "call.wav")


def test_corrupt_audio(tmp_path: Path, wav: Path, call: synth.Call) -> None:
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunkjunkjunkjunk" + bytes(100))
    refused(tmp_path, bad, None, CorruptAudio, "WAV file is corrupt")
    flac = tmp_path / "bad.flac"
    flac.write_bytes(b"fLaC" + bytes(range(256)) * 4)
    refused(tmp_path, flac, None, CorruptAudio, "FLAC file is corrupt")
    mp3 = tmp_path / "bad.mp3"
    mp3.write_bytes(b"ID3\x03\x00" + bytes(5000))
    refused(tmp_path, mp3, None, CorruptAudio, "MP3 file is corrupt")
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    refused(tmp_path, empty, None, CorruptAudio, "empty")


def test_unsupported_codecs(tmp_path: Path, wav: Path) -> None:
    text = tmp_path / "notes.wav"
    text.write_text("this is not audio at all, just some words in a file")
    refused(tmp_path, text, None, UnsupportedAudio, "WAV, FLAC, MP3 or Opus")
    aiff = tmp_path / "call.aiff"
    subprocess.run(["sox", str(wav), str(aiff)], check=True)
    refused(tmp_path, aiff, None, UnsupportedAudio, "no supported format")
    vorbis = tmp_path / "call.ogg"
    done = subprocess.run(["sox", str(wav), str(vorbis)], capture_output=True)
    if done.returncode == 0:
        refused(tmp_path, vorbis, None, UnsupportedAudio, "Vorbis")


def test_timings_outside_the_audio(tmp_path: Path, wav: Path, call: synth.Call) -> None:
    doc = json.loads(call.whisper_json())
    doc["segments"][0]["words"].append({"word": " late", "start": 900.0, "end": 900.4})
    msg = refused(tmp_path, wav, json.dumps(doc).encode(), TranscriptMismatch, "after the end")
    assert "late" not in msg  # never the transcript's words


def test_the_transcript_of_another_file(tmp_path: Path, wav: Path, call: synth.Call) -> None:
    other = hashlib.sha256(b"another call").hexdigest()
    refused(tmp_path, wav, call.deepgram_json(other).encode(), TranscriptMismatch, "sha256")
    doc = json.loads(call.deepgram_json())
    doc["metadata"]["duration"] = call.duration + 30
    refused(tmp_path, wav, json.dumps(doc).encode(), TranscriptMismatch, "another file")
    # A transcript with a third channel (index 2) for a stereo file.
    doc = json.loads(call.deepgram_json())
    doc["results"]["channels"] += [doc["results"]["channels"][0]] * 2
    refused(
        tmp_path, wav, json.dumps(doc).encode(), TranscriptMismatch, "channel 2, the audio has 2"
    )
    # The right sha256 is accepted.
    right = hashlib.sha256(wav.read_bytes()).hexdigest()
    ingest(RecordingStore(tmp_path / "ok"), wav, call.deepgram_json(right).encode())


@pytest.mark.parametrize(
    "text, match",
    [
        (b"\xff\xfe\x00garbage", "not UTF-8"),
        (b'{"results": ', "not valid JSON"),
        (b'{"hello": "world"}', "no known shape"),
        (b'{"results": {"channels": [{"alternatives": [{"words": [{"word": "a"}]}]}]}}', "start"),
        (b'{"words": [{"word": "a", "start": 2, "end": 1}]}', "ends before it starts"),
        (b'{"words": [{"word": "a", "start": "soon", "end": 1}]}', "not a time"),
        (b'{"words": [{"word": "a", "start": -1, "end": 1}]}', "not negative"),
        (b"no speaker here\n", "speaker: text"),
    ],
)
def test_malformed_transcripts(tmp_path: Path, wav: Path, text: bytes, match: str) -> None:
    refused(tmp_path, wav, text, TranscriptError, match)


@pytest.mark.parametrize(
    "markers, match",
    [
        ([{"type": "resume", "at": 1.0}], "without a pause"),
        ([{"type": "pause", "at": 1.0}, {"type": "pause", "at": 2.0}], "already paused"),
        ([{"type": "pause", "at": 5.0}, {"type": "resume", "at": 2.0}], "time order"),
        ([{"type": "pause", "at": 9999.0}], "outside the audio"),
        ([{"type": "stop", "at": 1.0}], "pause` or `resume"),
        ([{"type": "pause"}], "time in seconds"),
    ],
)
def test_bad_markers(tmp_path: Path, wav: Path, markers: list, match: str) -> None:
    refused(tmp_path, wav, None, MarkerError, match, markers=markers)


def test_bad_options_and_ids(tmp_path: Path, wav: Path) -> None:
    with pytest.raises(RecordingError, match="pad_before"):
        Options(pad_before=-1)
    with pytest.raises(RecordingError, match="unknown entity"):
        Options(entities=frozenset({"SHOE_SIZE"}))
    refused(tmp_path, wav, None, RecordingError, "not a recording id", recording_id="../x")


def test_a_failure_while_writing_leaves_nothing(tmp_path: Path, wav: Path, call, monkeypatch):
    from honorbound.recordings import ingest as ingest_module

    def boom(*_a, **_k):
        raise CorruptAudio("the audio file is corrupt: a block does not decode")

    monkeypatch.setattr(ingest_module, "_write_json", boom)  # after the audio was written
    refused(tmp_path, wav, call.aws_json().encode(), CorruptAudio, "block")
