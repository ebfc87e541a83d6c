"""DTMF detection: the Goertzel power against the textbook recursion, recall 1.0 on generated
tones with line noise (streamed in small blocks), no tones found in synthesized speech."""

from __future__ import annotations

import math

import numpy as np
import pytest

from honorbound.recordings import dtmf
from tests.recordings import synth

SR = 8000


def goertzel_power(x: list[float], freq: float, sr: int) -> float:
    """The Goertzel recursion, sample by sample (the oracle)."""
    w = 2 * math.pi * freq / sr
    coeff = 2 * math.cos(w)
    s1 = s2 = 0.0
    for v in x:
        s1, s2 = v + coeff * s1 - s2, s1
    # |X(f)|^2 for a non-integer bin: the final phase correction does not change the power.
    return s1 * s1 + s2 * s2 - coeff * s1 * s2


def test_power_shares_match_the_goertzel_recursion() -> None:
    rng = np.random.default_rng(1)
    det = dtmf.Detector(SR, 1)
    frames = rng.normal(0, 0.2, (3, det.n))
    t = np.arange(det.n) / SR
    frames[1] += 0.4 * np.sin(2 * np.pi * 770 * t) + 0.3 * np.sin(2 * np.pi * 1477 * t)
    shares = det.power_shares(frames)
    for i in range(3):
        energy = float(np.sum(frames[i] ** 2))
        for j, f in enumerate(dtmf.ROWS + dtmf.COLS):
            expected = 2 * goertzel_power(frames[i].tolist(), f, SR) / (det.n * energy)
            assert shares[i, j] == pytest.approx(expected, rel=1e-6, abs=1e-9)


def _tone(key: str, seconds: float, level: float, twist_db: float, rng: np.random.Generator):
    low, high = synth.KEYPAD[key]
    t = np.arange(int(seconds * SR)) / SR
    phase = rng.uniform(0, 2 * np.pi, 2)
    hi_level = level * 10 ** (twist_db / 20)
    return level * np.sin(2 * np.pi * low * t + phase[0]) + hi_level * np.sin(
        2 * np.pi * high * t + phase[1]
    )


@pytest.mark.parametrize("block", [997, 1 << 14])
def test_recall_is_one_on_generated_tones_with_line_noise(block: int) -> None:
    rng = np.random.default_rng(block)
    keys = list(synth.KEYPAD) * 6
    rng.shuffle(keys)
    pieces, truth, pos = [], [], 0
    for key in keys:
        gap = int(rng.uniform(0.05, 0.4) * SR)
        pieces.append(np.zeros(gap))
        pos += gap
        # ITU-T Q.24: at least 40 ms; levels from -26 to -6 dBFS; up to 4 dB of twist.
        x = _tone(key, rng.uniform(0.045, 0.25), rng.uniform(0.05, 0.35), rng.uniform(-4, 4), rng)
        pieces.append(x)
        truth.append((pos, pos + len(x), key))
        pos += len(x)
    signal = np.concatenate(pieces + [np.zeros(SR // 2)])
    noise = rng.normal(0, 0.01, len(signal))  # line noise about -40 dBFS
    stereo = np.stack([signal + noise, rng.normal(0, 0.01, len(signal))], axis=1)
    det = dtmf.Detector(SR, 2)
    for start in range(0, len(stereo), block):
        det.feed(stereo[start : start + block])
    found = det.tones
    hits = 0
    for s, e, key in truth:
        match = [t for t in found if t.start < e and s < t.end]
        assert len(match) == 1, f"tone at {s / SR:.2f}s found {len(match)} times"
        assert match[0].key == key
        hits += 1
    assert hits == len(truth) and len(found) == len(truth)  # recall 1.0, no extra tones


def test_no_tones_in_synthesized_speech() -> None:
    if (reason := synth.tools_missing()) is not None:
        pytest.skip(reason)
    b = synth.Builder(noise=0.003)
    b.say(0, "thank you for calling the billing line how may I help you today")
    b.say(1, "hello I would like to pay my bill with a card please")
    b.digits(1, "4111111111111111", "card")
    b.say(1, "one two three four five six seven eight nine zero oh")
    call = b.build()
    assert dtmf.detect(call.samples, SR) == []
