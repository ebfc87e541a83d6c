"""The offline transcription backend (PocketSphinx's bundled US-English model, low accuracy)
on espeak-ng calls: the redacted audio, transcribed again, yields no digits.

The oracle for "where the card number is" is the synthesizer's own word placement
(tests/recordings/synth.py), not anything the backend or the redactor computed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from honorbound.recordings import audio, transcribe
from honorbound.recordings.errors import UnsupportedAudio
from honorbound.recordings.ingest import ingest
from honorbound.recordings.redact import DIGIT_WORDS
from honorbound.recordings.store import RecordingStore
from tests.recordings import synth

pytestmark = pytest.mark.skipif(
    not transcribe.available(), reason="needs PocketSphinx (pip install 'honorbound[asr]')"
)


def _digits(path: Path, tmp: Path, lo: float = 0.0, hi: float = 1e9) -> list[str]:
    info = audio.open_audio(path, tmp)
    return [
        w.text
        for w in transcribe.heard(info, channel=1)
        if w.text in DIGIT_WORDS and lo <= w.start <= hi
    ]


def test_the_redacted_audio_transcribed_again_yields_no_digits(
    tmp_path: Path, card_call: synth.Call
) -> None:
    card = [w for w in card_call.words if w.tag == "card"]
    wav = card_call.write(tmp_path / "c.wav")
    # The original: the backend hears the card's digits where the synthesizer put them.
    heard = _digits(wav, tmp_path, card[0].start - 0.3, card[-1].end + 0.3)
    assert len(heard) >= 6, heard
    for sound in ("tone", "silence"):
        from honorbound.recordings.redact import Options

        done = ingest(
            RecordingStore(tmp_path / f"store-{sound}"),
            wav,
            card_call.aws_json().encode(),
            Options(sound=sound),
        )
        assert _digits(done.path / "redacted.wav", tmp_path) == [], sound


def test_a_call_without_a_transcript_is_transcribed_offline_and_its_digits_redacted(
    tmp_path: Path, card_call: synth.Call
) -> None:
    wav = card_call.write(tmp_path / "c.wav")
    done = ingest(RecordingStore(tmp_path / "store"), wav, None, offline_asr=True)
    m = done.manifest
    assert "LOW ACCURACY" in m["transcript_source"] and m["transcript_shape"] == "aws"
    assert m["findings"].get("DIGITS", 0) >= 1
    # Every card word's samples, on the customer's channel, are no longer the original's.
    original, _ = sf.read(str(wav), dtype="int16", always_2d=True)
    redacted, _ = sf.read(str(done.path / "redacted.wav"), dtype="int16", always_2d=True)
    for w in (w for w in card_call.words if w.tag == "card"):
        a, b = int(w.start * synth.SR), int(w.end * synth.SR)
        same = np.mean(original[a:b, 1] == redacted[a:b, 1])
        assert same < 0.05, (w.start, same)
    assert _digits(done.path / "redacted.wav", tmp_path) == []


@pytest.mark.parametrize(("rate", "blocks"), [(8000, [1, 77, 4000, 11923]), (48000, [999, 47001])])
def test_resampling_to_16_khz_is_the_same_sine_at_the_same_time(
    rate: int, blocks: list[int]
) -> None:
    hz = 700.0  # the filter delay is not a whole number of its periods
    n = np.arange(sum(blocks))
    x = 0.5 * np.sin(2 * np.pi * hz * n / rate)
    r = transcribe.Resampler(rate)
    out, pos = [], 0
    for size in blocks:
        out.append(r.feed(x[pos : pos + size]))
        pos += size
    y = np.concatenate(out)[r.delay :]
    t = np.arange(len(y)) / transcribe.MODEL_RATE
    expected = 0.5 * np.sin(2 * np.pi * hz * t)
    inner = slice(200, len(y) - 200)  # away from the edges the filter starts and ends on
    assert np.max(np.abs(y[inner] - expected[inner])) < 0.01


def test_other_sample_rates_are_refused_with_a_sentence(tmp_path: Path) -> None:
    path = tmp_path / "cd.wav"
    sf.write(str(path), np.zeros((4410, 1)), 44100, subtype="PCM_16")
    info = audio.open_audio(path, tmp_path)
    with pytest.raises(UnsupportedAudio, match="8, 16, 32 or 48 kHz"):
        transcribe.heard(info)


def test_cli_transcribe_prints_a_labelled_transcript_and_refuses_bad_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from honorbound.cli import build_app

    monkeypatch.setenv("HONORBOUND_DATA_DIR", str(tmp_path / "data"))
    b = synth.Builder(seed=3)
    b.say(1, "my number is four one five two nine three")
    wav = b.build().write(tmp_path / "short.wav")
    runner = CliRunner()
    r = runner.invoke(build_app(), ["recordings", "transcribe", str(wav)])
    assert r.exit_code == 0, r.output
    doc = __import__("json").loads(r.output[r.output.index("{") :])
    assert doc["honorbound_asr"]["accuracy"] == "low"
    heard = [
        i["alternatives"][0]["content"]
        for ch in doc["results"]["channel_labels"]["channels"]
        for i in ch["items"]
    ]
    assert set(heard) & DIGIT_WORDS, heard  # low accuracy: some digits, not all
    r = runner.invoke(build_app(), ["recordings", "transcribe", str(wav), "--grammar", "x"])
    assert r.exit_code == 2 and "expected digits or general" in r.output
    cd = tmp_path / "cd.wav"
    sf.write(str(cd), np.zeros((4410, 1)), 44100, subtype="PCM_16")
    r = runner.invoke(build_app(), ["recordings", "transcribe", str(cd)])
    assert r.exit_code == 2 and "8, 16, 32 or 48 kHz" in r.output
    r = runner.invoke(
        build_app(),
        [
            "recordings",
            "ingest",
            "--call-id",
            "c-1",
            str(wav),
            "--offline-asr",
            "--transcript",
            str(wav),
        ],
    )
    assert r.exit_code == 2 and "not both" in r.output
