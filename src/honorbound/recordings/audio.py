"""Reading and writing call audio in blocks, so memory stays bounded for a 4-hour call.

WAV and FLAC are read with soundfile (libsndfile). MP3 and Opus are decoded by an `ffmpeg`
subprocess into a temporary 16-bit WAV file beside the output (on disk, not in memory), which is
then read the same way. Other containers are refused by their first bytes, before any decoder
sees them.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import soundfile as sf

from honorbound.recordings.errors import CorruptAudio, UnsupportedAudio

Samples = npt.NDArray[np.float64]
Block = npt.NDArray[np.generic]

# Samples are read and written in the file's own integer width, never through floats:
# libsndfile scales int -> float by 1/0x8000 but float -> int by 0x7FFF, so a float round trip
# would change the samples outside the redacted spans.
_DTYPES = {"PCM_24": "int32", "PCM_32": "int32", "FLOAT": "float32", "DOUBLE": "float64"}
_SCALE = {"int16": 32767.0, "int32": 2147483647.0, "float32": 1.0, "float64": 1.0}
# Subtypes written back as they came; lossy ones (GSM 6.10, ADPCM) become 16-bit PCM, so what
# is outside the redacted spans stays the decoded input exactly.
_KEPT = {"PCM_S8", "PCM_U8", "PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE", "ULAW", "ALAW"}

BLOCK_FRAMES = 1 << 18  # 32 s at 8 kHz: a few MB per block
DECODE_TIMEOUT_S = 3600
FORMATS = ("wav", "flac", "mp3", "opus")


@dataclass(frozen=True)
class AudioInfo:
    path: Path  # the file samples are read from (a decoded copy for MP3 and Opus)
    format: str  # wav, flac, mp3, opus: what the input was
    samplerate: int
    channels: int
    frames: int
    subtype: str  # soundfile subtype of `path`, e.g. PCM_16

    @property
    def duration(self) -> float:
        return self.frames / self.samplerate

    @property
    def dtype(self) -> str:
        return _DTYPES.get(self.subtype, "int16")

    @property
    def full_scale(self) -> float:
        """The sample value of amplitude 1.0 in `dtype`."""
        return _SCALE[self.dtype]


def sniff(path: Path) -> str:
    """The container of `path` from its first bytes: one of FORMATS."""
    try:
        with path.open("rb") as fh:
            head = fh.read(64)
    except OSError as exc:
        raise CorruptAudio(f"the audio file cannot be read ({exc.strerror})") from None
    if len(head) < 12:
        raise CorruptAudio("the audio file is empty or too short to be audio")
    if head[:4] in (b"RIFF", b"RF64") and head[8:12] == b"WAVE":
        return "wav"
    if head[:4] == b"fLaC":
        return "flac"
    if head[:3] == b"ID3" or (head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "mp3"
    if head[:4] == b"OggS":
        if b"OpusHead" in head:
            return "opus"
        raise UnsupportedAudio("Ogg audio other than Opus (e.g. Vorbis) is not supported")
    raise UnsupportedAudio("the audio is in no supported format; give WAV, FLAC, MP3 or Opus (Ogg)")


def _info(path: Path, fmt: str) -> AudioInfo:
    try:
        i = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError, TypeError):
        raise CorruptAudio(
            f"the {fmt.upper()} file is corrupt: its header does not decode"
        ) from None
    if i.frames <= 0 or i.samplerate <= 0 or i.channels <= 0:
        raise CorruptAudio(f"the {fmt.upper()} file holds no audio frames")
    if i.channels > 8:
        raise UnsupportedAudio(f"the audio has {i.channels} channels; at most 8 are supported")
    return AudioInfo(path, fmt, int(i.samplerate), int(i.channels), int(i.frames), str(i.subtype))


def _decode(path: Path, fmt: str, workdir: Path) -> Path:
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise UnsupportedAudio(f"{fmt.upper()} audio needs ffmpeg, which is not installed")
    out = workdir / "decoded.wav"
    # -map 0:a:0 only the first audio stream; -vn no cover art; 16-bit PCM keeps it exact.
    cmd = [ffmpeg, "-nostdin", "-v", "error", "-y", "-i", str(path), "-map", "0:a:0", "-vn"]
    cmd += ["-c:a", "pcm_s16le", "-f", "wav", str(out)]
    try:
        done = subprocess.run(cmd, capture_output=True, timeout=DECODE_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        raise CorruptAudio(f"decoding the {fmt.upper()} file took too long") from None
    if done.returncode != 0 or not out.exists() or out.stat().st_size <= 44:
        raise CorruptAudio(f"the {fmt.upper()} file is corrupt: ffmpeg could not decode it")
    os.chmod(out, 0o600)
    return out


def open_audio(path: Path, workdir: Path) -> AudioInfo:
    """What `path` holds, decoded into `workdir` first when it is MP3 or Opus."""
    fmt = sniff(path)
    readable = _decode(path, fmt, workdir) if fmt in ("mp3", "opus") else path
    return _info(readable, fmt)


def blocks(info: AudioInfo, frames: int = BLOCK_FRAMES) -> Iterator[tuple[int, Block]]:
    """(first frame, samples of shape (n, channels) in `info.dtype`) for the whole file, block
    by block."""
    try:
        with sf.SoundFile(str(info.path)) as fh:
            start = 0
            while True:
                data = fh.read(frames, dtype=info.dtype, always_2d=True)
                if len(data) == 0:
                    break
                yield start, data
                start += len(data)
    except (sf.LibsndfileError, RuntimeError):
        raise CorruptAudio("the audio file is corrupt: a block does not decode") from None


def output_format(info: AudioInfo) -> tuple[str, str, str]:
    """(file suffix, soundfile format, subtype) of the redacted copy: the input's own container
    for WAV and FLAC (sample-exact outside the redacted spans), FLAC for decoded MP3 and Opus."""
    if info.format == "wav":
        return ".wav", "WAV", info.subtype if info.subtype in _KEPT else "PCM_16"
    if info.format == "flac":
        return ".flac", "FLAC", info.subtype if info.subtype in _KEPT else "PCM_16"
    return ".flac", "FLAC", "PCM_16"


@contextlib.contextmanager
def writer(path: Path, info: AudioInfo) -> Iterator[sf.SoundFile]:
    _suffix, fmt, subtype = output_format(info)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)
    with sf.SoundFile(
        str(path),
        "w",
        samplerate=info.samplerate,
        channels=info.channels,
        format=fmt,
        subtype=subtype,
    ) as fh:
        yield fh
