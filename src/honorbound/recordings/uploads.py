"""A call uploaded as `multipart/form-data` (`POST /v1/recordings/upload`), read as it arrives.

The `audio` part is written to a file in blocks as the body comes in (never held whole in
memory); the other parts are small and kept in memory, each bounded: `transcript` (a file or a
field, the vendor's JSON) up to `transcript_limit` bytes, every other field up to 64 KB. The
whole body is bounded by `limit` (HONORBOUND_RECORDINGS_MAX_UPLOAD_BYTES): a declared
Content-Length over it is refused before a byte is read, and a body that grows past it is cut
off there (`TooLarge`, 413). Anything else wrong is `BadUpload` (4xx) naming the part.

Parts: `audio` (required, a file), `call_id` (required), `transcript`, `shape`, `markers`
(a JSON list), `speaker_channels` (a JSON object), `subject_id` (an integer), `caller`, and
for a subject's call `customer_channel` (an integer), `direction` and `started_at` (ISO 8601
with a zone).
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from honorbound.recordings.collect import Call
from honorbound.recordings.errors import RecordingError

FIELD_LIMIT = 64 * 1024
FIELDS = (
    "call_id",
    "shape",
    "markers",
    "speaker_channels",
    "subject_id",
    "caller",
    "customer_channel",
    "direction",
    "started_at",
)


class BadUpload(RecordingError):
    title = "Invalid upload"

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


class TooLarge(BadUpload):
    title = "Upload too large"

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"the upload is larger than HONORBOUND_RECORDINGS_MAX_UPLOAD_BYTES ({limit} bytes); "
            "split the call or raise the setting",
            413,
        )


@dataclass
class Form:
    fields: dict[str, str] = field(default_factory=dict)
    transcript: bytes | None = None
    audio_bytes: int = 0

    def call(self) -> Call:
        markers: Any = []
        channels: Any = {}
        try:
            if "markers" in self.fields:
                markers = json.loads(self.fields["markers"])
            if "speaker_channels" in self.fields:
                channels = json.loads(self.fields["speaker_channels"])
        except ValueError:
            raise BadUpload("`markers` and `speaker_channels` must be JSON") from None
        if not isinstance(markers, list) or not all(isinstance(m, dict) for m in markers):
            raise BadUpload('`markers` must be a JSON list of {"type", "at"} objects')
        if not isinstance(channels, dict) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in channels.values()
        ):
            raise BadUpload('`speaker_channels` must be a JSON object like {"spk_0": 0}')
        subject = self.fields.get("subject_id")
        if subject is not None and not subject.strip().isdigit():
            raise BadUpload("`subject_id` must be a vault subject id (an integer)")
        customer = self.fields.get("customer_channel")
        if customer is not None and not customer.strip().isdigit():
            raise BadUpload("`customer_channel` must be an audio channel number (0-31)")
        started: dt.datetime | None = None
        if self.fields.get("started_at"):
            try:
                started = dt.datetime.fromisoformat(self.fields["started_at"].strip())
            except ValueError:
                raise BadUpload(
                    "`started_at` must be an ISO 8601 time with a zone (2026-12-07T14:03:00Z)"
                ) from None
        return Call(
            call_id=self.fields.get("call_id"),
            transcript=self.transcript,
            shape=self.fields.get("shape") or None,
            markers=markers,
            speaker_channels=channels,
            subject_id=int(subject) if subject is not None else None,
            caller=self.fields.get("caller") or None,
            customer_channel=int(customer) if customer is not None else None,
            direction=self.fields.get("direction") or "inbound",
            started_at=started,
        )


def receive(
    content_type: str,
    content_length: str | None,
    chunks: Iterable[bytes],
    audio_path: Path,
    limit: int,
    transcript_limit: int,
) -> Form:
    """Parse the body from `chunks`, writing the `audio` part to `audio_path` (0600)."""
    kind, params = parse_options_header(content_type)
    if kind != b"multipart/form-data" or not params.get(b"boundary"):
        raise BadUpload("send the call as multipart/form-data (an `audio` file part)", 415)
    if content_length is not None and content_length.isdigit() and int(content_length) > limit:
        raise TooLarge(limit)
    form = Form()
    state: dict[str, Any] = {"name": None, "header": b"", "value": b"", "cd": None}
    current: dict[str, Any] = {"buffer": None, "size": 0}
    done = {"end": False}
    events: list[tuple[str, bytes]] = []
    fd = os.open(audio_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    audio: IO[bytes] = os.fdopen(fd, "wb")
    seen_audio = False

    def on_header_field(data: bytes, start: int, end: int) -> None:
        state["header"] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        state["value"] += data[start:end]

    def on_header_end() -> None:
        if state["header"].lower() == b"content-disposition":
            state["cd"] = state["value"]
        state["header"], state["value"] = b"", b""

    def on_headers_finished() -> None:
        events.append(("begin", state["cd"] or b""))
        state["cd"] = None

    def on_part_data(data: bytes, start: int, end: int) -> None:
        events.append(("data", data[start:end]))

    def on_part_end() -> None:
        events.append(("end", b""))

    def on_end() -> None:
        done["end"] = True

    parser = MultipartParser(
        params[b"boundary"],
        {
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_headers_finished": on_headers_finished,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
            "on_end": on_end,
        },
    )
    total = 0
    try:
        for chunk in chunks:
            total += len(chunk)
            if total > limit:
                raise TooLarge(limit)
            try:
                parser.write(chunk)
            except MultipartParseError:
                raise BadUpload("the multipart body is malformed", 400) from None
            for what, data in events:
                if what == "begin":
                    _, disposition = parse_options_header(data)
                    name = disposition.get(b"name", b"").decode("utf-8", "replace")
                    if name == "audio":
                        if seen_audio:
                            raise BadUpload("give one `audio` part")
                        seen_audio = True
                    elif name != "transcript" and name not in FIELDS:
                        raise BadUpload(
                            f"unknown part {name[:40]!r}; the parts are audio, transcript, "
                            + ", ".join(FIELDS)
                        )
                    elif name in form.fields or (name == "transcript" and current["buffer"]):
                        raise BadUpload(f"the part `{name}` is given twice")
                    state["name"] = name
                    current["buffer"] = bytearray() if name != "audio" else None
                elif what == "data":
                    if state["name"] == "audio":
                        audio.write(data)
                        form.audio_bytes += len(data)
                        continue
                    cap = transcript_limit if state["name"] == "transcript" else FIELD_LIMIT
                    if len(current["buffer"]) + len(data) > cap:
                        raise BadUpload(f"the part `{state['name']}` is larger than {cap} bytes")
                    current["buffer"] += data
                elif what == "end":
                    name = state["name"]
                    if name == "transcript":
                        form.transcript = bytes(current["buffer"])
                    elif name != "audio" and name is not None:
                        try:
                            form.fields[name] = bytes(current["buffer"]).decode("utf-8")
                        except UnicodeDecodeError:
                            raise BadUpload(f"the part `{name}` is not UTF-8 text") from None
                    state["name"], current["buffer"] = None, None
            events.clear()
        parser.finalize()
    finally:
        audio.close()
    if not done["end"]:
        raise BadUpload("the multipart body ends before its closing boundary", 400)
    if not seen_audio or form.audio_bytes == 0:
        raise BadUpload("the upload has no `audio` file part (or it is empty)")
    return form
