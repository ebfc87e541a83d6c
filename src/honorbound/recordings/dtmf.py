"""DTMF (keypad) tones found in call audio, so card numbers keyed in are silenced.

Each channel is cut into frames of 25.6 ms (205 samples at 8 kHz, the classic Goertzel frame)
every half frame. For each frame the Goertzel power of the eight DTMF frequencies is computed
(the single-bin DFT the Goertzel recursion evaluates, done as one matrix product per block) and
set against the frame's energy. A frame holds a tone when its strongest row and column
frequencies carry most of its energy (speech and noise spread theirs), each a fair share of
it (the twist ITU-T Q.24 allows), and it is loud enough not to be line noise. The digits are
card data: they are counted, never kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

ROWS = (697.0, 770.0, 852.0, 941.0)
COLS = (1209.0, 1336.0, 1477.0, 1633.0)
KEYS = ("123A", "456B", "789C", "*0#D")
FRAME_SECONDS = 0.0256
MIN_TOTAL_SHARE = 0.75  # row + column power over frame energy (1.0 for a clean tone)
MIN_EACH_SHARE = 0.12  # each of row and column: about 8 dB of twist
MIN_MEAN_SQUARE = 1e-5  # about -50 dBFS: quieter frames are line noise


@dataclass
class Tone:
    start: int  # first sample
    end: int  # one past the last sample
    key: str = field(repr=False)  # card data: for the caller's count only, never stored


class Detector:
    """Feed blocks of (frames, channels) samples in order; `tones` grows as they are found."""

    def __init__(self, samplerate: int, channels: int) -> None:
        self.sr = samplerate
        self.n = max(16, round(FRAME_SECONDS * samplerate))
        self.hop = self.n // 2
        t = np.arange(self.n) / samplerate
        freqs = np.array(ROWS + COLS)
        self._cos = np.cos(2 * np.pi * np.outer(t, freqs))
        self._sin = np.sin(2 * np.pi * np.outer(t, freqs))
        self._tail = np.zeros((0, channels))
        self._tail_start = 0  # absolute sample index of _tail[0]
        self.tones: list[Tone] = []
        self._open: Tone | None = None

    def power_shares(self, frames: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """(n_frames, 8) share of each frame's energy at the DTMF frequencies."""
        c = frames @ self._cos
        s = frames @ self._sin
        energy = np.einsum("ij,ij->i", frames, frames)
        with np.errstate(divide="ignore", invalid="ignore"):
            shares = 2.0 * (c * c + s * s) / (self.n * energy[:, None])
        shares[energy / self.n < MIN_MEAN_SQUARE] = 0.0
        out: npt.NDArray[np.float64] = np.nan_to_num(shares)
        return out

    def _keys(self, shares: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
        """Key index 0..15 per frame, or -1."""
        row = shares[:, :4].argmax(axis=1)
        col = shares[:, 4:].argmax(axis=1)
        r = shares[np.arange(len(shares)), row]
        c = shares[np.arange(len(shares)), 4 + col]
        ok = (r + c >= MIN_TOTAL_SHARE) & (r >= MIN_EACH_SHARE) & (c >= MIN_EACH_SHARE)
        return np.where(ok, row * 4 + col, -1).astype(np.int64)

    def feed(self, samples: npt.NDArray[np.float64]) -> None:
        buf = np.concatenate([self._tail, samples]) if len(self._tail) else samples
        count = (len(buf) - self.n) // self.hop + 1 if len(buf) >= self.n else 0
        if count > 0:
            per_channel = []
            for ch in range(buf.shape[1]):
                view = np.lib.stride_tricks.sliding_window_view(buf[:, ch], self.n)
                frames = view[: count * self.hop : self.hop]
                per_channel.append(self._keys(self.power_shares(frames)))
            # A frame holds a tone when any channel hears one (the strongest channel's key).
            keys = per_channel[0]
            for other in per_channel[1:]:
                keys = np.where(keys >= 0, keys, other)
            self._collect(keys)
        consumed = count * self.hop
        self._tail = buf[consumed:].copy()
        self._tail_start += consumed

    def _collect(self, keys: npt.NDArray[np.int64]) -> None:
        hits = np.flatnonzero(keys >= 0)
        for i in hits.tolist():
            start = self._tail_start + i * self.hop
            key = KEYS[int(keys[i]) // 4][int(keys[i]) % 4]
            cur = self._open
            if cur is not None and cur.key == key and start <= cur.end:
                cur.end = start + self.n
                continue
            cur = Tone(start, start + self.n, key)
            self.tones.append(cur)
            self._open = cur


def detect(samples: npt.NDArray[np.float64], samplerate: int) -> list[Tone]:
    """Every DTMF tone of a whole signal (frames, channels) held in memory."""
    d = Detector(samplerate, samples.shape[1])
    d.feed(samples)
    return d.tones
