"""What can go wrong with a recording, one base class for all of it.

    RecordingError                 bad input: the API answers 422, the CLI exits 2
    ├── UnsupportedAudio           a codec or container this build cannot read
    ├── CorruptAudio               the file claims a format but its bytes do not decode
    ├── TranscriptError            a transcript in no known shape, or malformed
    │   └── TranscriptMismatch     timings outside the audio, or the transcript of another file
    └── MarkerError                pause/resume markers that do not pair up

Messages name what was wrong and never quote the transcript (it is personal data).
"""

from __future__ import annotations

from honorbound.errors import HonorboundError


class RecordingError(HonorboundError, ValueError):
    """Bad recording input; the message is one sentence saying what to do."""

    status = 422

    title = "Invalid recording"


class UnsupportedAudio(RecordingError):
    title = "Unsupported audio format"


class CorruptAudio(RecordingError):
    title = "Corrupt audio"


class TranscriptError(RecordingError):
    title = "Invalid transcript"


class TranscriptMismatch(TranscriptError):
    title = "Transcript does not match the audio"


class MarkerError(RecordingError):
    title = "Invalid pause/resume markers"
