"""Redaction checked on the audio itself: a synthesized call (espeak-ng voices on two channels,
sox keypad tones, known word timings) goes in; the stored copy is read back and analysed.

The oracle is built from what the test placed, not from the code's plan: each run of tagged
words (card, security code, SSN, phone) widened by the padding, on the customer's channel;
each keypad tone on every channel. Inside: the 1 kHz tone (computed here) or zero. Outside:
the input's samples, bit for bit.
"""

from __future__ import annotations

import json
import math
import stat
import subprocess
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
import soundfile as sf

from honorbound.recordings.errors import RecordingError
from honorbound.recordings.ingest import Ingested, ingest
from honorbound.recordings.redact import Options
from honorbound.recordings.store import RecordingStore
from tests.recordings import synth

SR = synth.SR
DTMF_REACH = 0.1  # a keypad tone's silence may spill this far past the tone (frame + pad)
Mask = npt.NDArray[np.bool_]


def tagged_runs(call: synth.Call, before: float = 0.5, after: float = 0.2):
    runs: list[tuple[float, float, int, str]] = []
    prev = None
    for w in call.words:
        if w.tag and prev is not None and prev.tag == w.tag:
            s, _e, ch, tag = runs[-1]
            runs[-1] = (s, w.end + after, ch, tag)
        elif w.tag:
            runs.append((max(0.0, w.start - before), w.end + after, w.channel, w.tag))
        prev = w
    return [(s, min(e, call.duration), ch, tag) for s, e, ch, tag in runs]


def tone(n: npt.NDArray[np.int64], level: float = 0.1, hz: float = 1000.0):
    return np.round(level * 32767 * np.sin(2 * np.pi * hz * n / SR)).astype(np.int16)


def read16(path: Path) -> npt.NDArray[np.int16]:
    data, sr = sf.read(str(path), dtype="int16", always_2d=True)
    assert sr == SR
    return data


def masks(call: synth.Call, frames: int, channels_of_runs: bool = True):
    """(changed-allowed mask, PII-inside mask, DTMF-inside mask), each (frames, 2)."""
    allowed = np.zeros((frames, 2), bool)
    pii = np.zeros((frames, 2), bool)
    keys = np.zeros((frames, 2), bool)
    for s, e, ch, _tag in tagged_runs(call):
        cols = [ch] if channels_of_runs else [0, 1]
        a, b = math.floor(s * SR), math.ceil(e * SR)
        allowed[max(0, a - 1) : b + 1, cols] = True
        pii[a + 1 : b - 1, cols] = True
    for s, e, _key in call.tones:
        allowed[max(0, math.floor((s - DTMF_REACH) * SR)) : math.ceil((e + DTMF_REACH) * SR)] = True
        keys[math.floor(s * SR) : math.ceil(e * SR)] = True
    return allowed, pii & ~keys, keys


def stored(tmp_path: Path, call: synth.Call, transcript: str, **kw) -> tuple[Ingested, Path]:
    src = call.write(tmp_path / "call.wav")
    store = RecordingStore(tmp_path / "store")
    return ingest(store, src, transcript.encode(), **kw), src


def assert_redacted(call, src: Path, out: Path, sound: str = "tone", both: bool = False):
    before, after = read16(src), read16(out)
    assert before.shape == after.shape
    allowed, pii, keys = masks(call, len(before), channels_of_runs=not both)
    # Outside every span: the input, bit for bit.
    assert np.array_equal(after[~allowed], before[~allowed])
    # Keypad tones: silence on every channel.
    assert not after[keys].any()
    # Findings: the tone (or silence), computed here from the sample index.
    n = np.broadcast_to(np.arange(len(before))[:, None], before.shape)
    expected = tone(n[pii]) if sound == "tone" else 0
    assert np.array_equal(after[pii], np.broadcast_to(expected, after[pii].shape))
    return before, after


def test_findings_become_tone_on_the_speakers_channel_and_keypad_tones_silence(
    tmp_path: Path, call: synth.Call
) -> None:
    done, src = stored(tmp_path, call, call.aws_json())
    assert done.manifest["findings"] == {"CREDIT_CARD": 1, "CVV": 1, "US_SSN": 1, "PHONE_NUMBER": 1}
    assert done.manifest["dtmf_tones_removed"] == len(call.tones) == 16
    _before, after = assert_redacted(call, src, done.path / "redacted.wav")
    # By spectrum too: in each span, the energy on the customer's channel is the 1 kHz tone.
    for s, e, ch, _tag in tagged_runs(call):
        seg = after[math.floor(s * SR) + 1 : math.ceil(e * SR) - 1, ch].astype(float)
        spec = np.abs(np.fft.rfft(seg)) ** 2
        freqs = np.fft.rfftfreq(len(seg), 1 / SR)
        assert spec[np.abs(freqs - 1000) < 20].sum() / spec.sum() > 0.99
    # The agent's channel across the customer's card number is untouched.
    words = json.loads((done.path / "transcript.json").read_text())["words"]
    texts = [w["text"] for w in words]
    for kind in ("[CREDIT_CARD]", "[CVV]", "[US_SSN]", "[PHONE_NUMBER]"):
        assert texts.count(kind) == 1
    assert not set(texts) & set(synth.DIGIT_WORDS)
    assert "goodbye" in texts


def test_files_are_private_and_the_original_is_not_kept(tmp_path: Path, call: synth.Call):
    done, _src = stored(tmp_path, call, call.aws_json())
    assert sorted(p.name for p in done.path.iterdir()) == [
        "manifest.json",
        "redacted.wav",
        "transcript.json",
    ]
    assert stat.S_IMODE(done.path.stat().st_mode) == 0o700
    for p in done.path.iterdir():
        assert stat.S_IMODE(p.stat().st_mode) == 0o600
    assert done.uri.startswith("file://") and done.manifest["original_kept"] is False


def test_without_channels_both_channels_are_redacted_and_silence_is_silence(
    tmp_path: Path, call: synth.Call
) -> None:
    done, src = stored(tmp_path, call, call.whisper_json(), options=Options(sound="silence"))
    assert done.manifest["transcript_shape"] == "whisper"
    assert_redacted(call, src, done.path / "redacted.wav", sound="silence", both=True)


def test_every_shape_of_the_same_transcript_gives_the_same_audio(
    tmp_path: Path, call: synth.Call
) -> None:
    hashes = set()
    speakers = Options(speaker_channels={"spk_0": 0, "spk_1": 1})
    for i, (text, options) in enumerate(
        [(call.aws_json(), None), (call.deepgram_json(), None), (call.aws_json(True), speakers)]
    ):
        (tmp_path / str(i)).mkdir()
        done, _ = stored(tmp_path / str(i), call, text, options=options)
        hashes.add(done.manifest["redacted_sha256"])
    assert len(hashes) == 1


def test_padding_is_configurable(tmp_path: Path, call: synth.Call) -> None:
    done, src = stored(tmp_path, call, call.aws_json(), options=Options(pad_before=0, pad_after=0))
    before, after = read16(src), read16(done.path / "redacted.wav")
    s, e, ch, _ = tagged_runs(call, 0, 0)[0]
    # 0.3 s before the card number is the customer's own audio now, not tone.
    k = math.floor((s - 0.3) * SR)
    assert np.array_equal(after[k : k + 400, ch], before[k : k + 400, ch])
    assert np.array_equal(
        after[math.floor(s * SR) + 1 : math.floor(s * SR) + 401, ch],
        tone(np.arange(math.floor(s * SR) + 1, math.floor(s * SR) + 401)),
    )


def test_nothing_between_pause_and_resume_is_kept(tmp_path: Path, call: synth.Call) -> None:
    ssn = [w for w in call.words if w.tag == "ssn"]
    pause, resume = ssn[0].start - 1.0, ssn[-1].end + 0.3
    markers = [{"type": "pause", "at": pause}, {"type": "resume", "at": resume}]
    done, src = stored(tmp_path, call, call.aws_json(), markers=markers)
    after = read16(done.path / "redacted.wav")
    assert not after[math.ceil(pause * SR) : math.floor(resume * SR)].any()
    words = json.loads((done.path / "transcript.json").read_text())["words"]
    assert all(not (pause < w["start"] < resume) for w in words)
    assert "[US_SSN]" not in [w["text"] for w in words]
    assert done.manifest["paused_seconds"] == pytest.approx(resume - pause, abs=1e-3)


def test_flac_in_is_flac_out_and_exact(tmp_path: Path, call: synth.Call) -> None:
    src = call.write(tmp_path / "call.flac")
    done = ingest(RecordingStore(tmp_path / "store"), src, call.aws_json().encode())
    assert done.manifest["redacted_file"] == "redacted.flac"
    assert_redacted(call, src, done.path / "redacted.flac")


@pytest.mark.parametrize("codec, suffix", [("libmp3lame", "mp3"), ("libopus", "opus")])
def test_mp3_and_opus_are_decoded_by_ffmpeg(
    tmp_path: Path, call: synth.Call, codec: str, suffix: str
) -> None:
    wav = call.write(tmp_path / "call.wav")
    src = tmp_path / f"call.{suffix}"
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-i",
            str(wav),
            "-c:a",
            codec,
            "-ar",
            "48000" if suffix == "opus" else "8000",
            str(src),
        ],
        check=True,
    )
    done = ingest(RecordingStore(tmp_path / "store"), src, call.aws_json().encode())
    assert done.manifest["input_format"] == suffix
    out, sr = sf.read(str(done.path / "redacted.flac"), dtype="int16", always_2d=True)
    s, e, ch, _ = tagged_runs(call)[0]
    seg = out[math.floor(s * sr) + 1 : math.ceil(e * sr) - 1, ch]
    n = np.arange(math.floor(s * sr) + 1, math.ceil(e * sr) - 1)
    assert np.array_equal(seg, np.round(0.1 * 32767 * np.sin(2 * np.pi * 1000 * n / sr)))
    # A decoded copy from ffmpeg (the oracle) equals the output outside the spans.
    ref = tmp_path / "ref.wav"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(src), "-c:a", "pcm_s16le", str(ref)], check=True
    )
    dec, _ = sf.read(str(ref), dtype="int16", always_2d=True)
    k = math.floor(tagged_runs(call)[0][0] * sr) - 2
    assert np.array_equal(out[:k], dec[:k])


def test_keeping_the_original_seals_it(tmp_path: Path, card_call: synth.Call) -> None:
    import io
    import os

    from honorbound.crypto.aead import DecryptionError
    from honorbound.recordings.ingest import OriginalKey
    from honorbound.recordings.store import open_sealed_file

    key = os.urandom(32)
    done, src = stored(
        tmp_path, card_call, card_call.aws_json(), original_key=OriginalKey(key, b"org1:k1")
    )
    assert done.manifest["original_kept"] is True
    sealed = done.path / "original.sealed"
    raw = sealed.read_bytes()
    assert stat.S_IMODE(sealed.stat().st_mode) == 0o600
    assert src.read_bytes()[1000:1064] not in raw
    buf = io.BytesIO()
    open_sealed_file(sealed, buf, key, b"org1:k1")
    assert buf.getvalue() == src.read_bytes()
    with pytest.raises(DecryptionError):
        open_sealed_file(sealed, io.BytesIO(), key, b"org1:k2")
    with pytest.raises(DecryptionError):
        open_sealed_file(sealed, io.BytesIO(), os.urandom(32), b"org1:k1")
    cut = tmp_path / "cut.sealed"
    cut.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(DecryptionError):
        open_sealed_file(cut, io.BytesIO(), key, b"org1:k1")


def test_a_transcript_without_timings_cannot_redact_audio(tmp_path: Path, call: synth.Call):
    plain = "agent: please read me your card number\ncustomer: " + " ".join(
        w.text for w in call.words if w.tag == "card"
    )
    with pytest.raises(RecordingError, match="no word timings"):
        stored(tmp_path, call, plain)
    assert not [p for p in (tmp_path / "store").iterdir() if p.name != ".staging"]


def test_no_original_is_kept_of_a_call_with_a_card_code_or_keypad_entry(
    tmp_path: Path, call: synth.Call
) -> None:
    """PCI DSS 3.3.1.2: no card verification code after authorization, even encrypted."""
    import os

    from honorbound.recordings.ingest import OriginalKey

    done, _ = stored(tmp_path, call, call.aws_json(), original_key=OriginalKey(os.urandom(32), b""))
    assert done.manifest["original_kept"] is False
    assert "3.3.1.2" in done.manifest["original_not_kept"]
    assert not (done.path / "original.sealed").exists()
