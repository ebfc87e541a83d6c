"""Ingest of one call: audio + transcript in, redacted audio + redacted transcript stored.

Everything is checked before anything is stored: the audio decodes, the transcript is in a
known shape and fits the audio, the markers pair up. The redacted copy is written in the
store's staging directory and moved into place whole (`RecordingStore.commit`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from honorbound.recordings import audio, redact, timings
from honorbound.recordings.errors import RecordingError
from honorbound.recordings.retention import OriginalsRule
from honorbound.recordings.store import RecordingStore, seal_file

# With the offline backend's transcript, 4 digit words heard in a row are redacted: it hears
# too few of a card number's digits right for the detector's checksums (transcribe.py).
OFFLINE_DIGIT_RUN = 4
# Sensitive authentication data a transcript finding can reveal (PCI DSS 3.3.1).
SAD_TYPES = frozenset({"CVV"})


@dataclass(frozen=True)
class OriginalKey:
    """The person's data key and the associated data that binds the sealed original to them."""

    key: bytes
    associated: bytes


@dataclass(frozen=True)
class Ingested:
    recording_id: str
    path: Path | None  # the local folder; None on an object store
    uri: str
    manifest: dict[str, Any]


def original_key_for(
    session: Any, vault_keys: Any, organization_id: int, subject_id: int
) -> OriginalKey:
    """The key that seals a kept original: the person's own data key, bound to them."""
    from sqlalchemy import select

    from honorbound.vault.models import Subject
    from honorbound.vault.sealing import associated_data

    key_id = session.scalar(
        select(Subject.key_id).where(
            Subject.id == subject_id, Subject.organization_id == organization_id
        )
    )
    if key_id is None:
        raise RecordingError(f"no vault subject {subject_id} in this organization")
    try:
        key = vault_keys.data_key(organization_id, key_id)
    except LookupError:
        raise RecordingError(f"vault subject {subject_id} has been erased") from None
    return OriginalKey(key, associated_data(organization_id, key_id, "recording:original"))


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _write_json(path: Path, doc: Any) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(doc, fh, ensure_ascii=False, separators=(",", ":"))


def ingest(
    store: RecordingStore,
    audio_path: Path,
    transcript: bytes | None,
    options: redact.Options | None = None,
    *,
    shape: str | None = None,
    markers: Sequence[dict[str, Any]] = (),
    original_key: OriginalKey | None = None,
    recording_id: str | None = None,
    now: dt.datetime | None = None,
    subject_id: int | None = None,
    offline_asr: bool = False,
    original_refused: str | None = None,
    original_rule: OriginalsRule | None = None,
    call_id: str | None = None,
    caller_index: str | None = None,
) -> Ingested:
    """Redact and store one recording (the collection gate, `collect.collect`, calls this
    after its own checks). `original_key` given: the original is kept too, sealed with it,
    unless the call holds a card code or keypad entry, or `original_rule` (the notice's
    `originals`) refuses what the call holds; kept for the rule's period. `offline_asr` with no
    transcript: transcribe the call with the bundled low-accuracy backend first."""
    options = options or redact.Options()
    rid = recording_id or uuid.uuid4().hex
    store.check_id(rid)
    if store.exists(rid):
        raise RecordingError(f"recording {rid} is stored already")
    with store.staging() as work:
        info = audio.open_audio(audio_path, work)
        digest = sha256_file(audio_path)
        source = "given" if transcript is not None else None
        if transcript is None and offline_asr:
            from honorbound.recordings import transcribe

            transcript = json.dumps(transcribe.transcribe(info)).encode()
            shape, source = "aws", transcribe.SOURCE
            options = dataclasses.replace(
                options, digit_runs=options.digit_runs or OFFLINE_DIGIT_RUN
            )
        parsed = timings.parse(transcript, shape) if transcript is not None else None
        paused = redact.pause_spans(markers, info.duration)
        if parsed is not None:
            redact.check_transcript(parsed, info, digest)
            plan = redact.plan(parsed, info, options, paused)
        else:
            plan = redact.Plan(list(paused), {}, set(), {})
        dtmf_spans = redact.find_dtmf(info, options) if options.dtmf else []
        spans = plan.spans + dtmf_spans
        suffix, _fmt, _sub = audio.output_format(info)
        keep = {"manifest.json", "redacted" + suffix}
        redact.write_redacted(info, spans, work / ("redacted" + suffix), options)
        if parsed is not None:
            _write_json(work / "transcript.json", redact.redacted_transcript(parsed, plan))
            keep.add("transcript.json")
        # PCI DSS 3.3.1.2: a card verification code is not kept after authorization in any
        # form, encrypted included. A call where one was said, or keyed (a keypad entry may be
        # the code), keeps no original whatever the setting.
        holds_sad = bool(SAD_TYPES & set(plan.findings)) or bool(dtmf_spans)
        kept_for, notice_refused = (
            original_rule.decide(plan.findings) if original_rule is not None else (None, None)
        )
        kept = original_key is not None and not holds_sad and notice_refused is None
        if original_key is not None and kept:
            seal_file(
                audio_path, work / "original.sealed", original_key.key, original_key.associated
            )
            keep.add("original.sealed")
        manifest: dict[str, Any] = {
            "recording_id": rid,
            "call_id": call_id,
            # The caller's number as the vault's blind index (a keyed hash): a caller not yet
            # identified is matched to the person holding that phone later (collect.py).
            "caller_index": caller_index,
            # The vault subject (an id, no personal data): erasing them deletes the recording.
            "subject_id": subject_id,
            "ingested_at": (now or dt.datetime.now(dt.UTC)).isoformat(timespec="seconds"),
            "input_format": info.format,
            "samplerate": info.samplerate,
            "channels": info.channels,
            "duration_s": round(info.duration, 3),
            "original_sha256": digest,
            "redacted_file": "redacted" + suffix,
            "redacted_sha256": sha256_file(work / ("redacted" + suffix)),
            "transcript_shape": parsed.shape if parsed is not None else None,
            "transcript_source": source,
            "transcript_words": len(parsed.words) if parsed is not None else 0,
            "findings": plan.findings,
            "spans_redacted": sum(1 for s in spans if s.reason.startswith("pii:")),
            "seconds_redacted": round(
                sum(s.end - s.start for s in spans if s.reason.startswith("pii:")), 3
            ),
            "dtmf_tones_removed": len(dtmf_spans),
            "paused_seconds": round(sum(s.end - s.start for s in paused), 3),
            "pad_before_s": options.pad_before,
            "pad_after_s": options.pad_after,
            "sound": options.sound,
            "original_kept": kept,
            # How long the kept original stays (the notice's `originals.period`): the sweep
            # deletes it when that ends (retention.sweep).
            "original_period": kept_for if kept else None,
        }
        if original_refused is not None and original_key is None:
            manifest["original_not_kept"] = original_refused
        if original_key is not None and not kept:
            manifest["original_not_kept"] = (
                "PCI DSS 3.3.1.2: the call holds a card code or keypad entry"
                if holds_sad
                else notice_refused
            )
        _write_json(work / "manifest.json", manifest)
        final = store.commit(work, rid, keep)
    return Ingested(rid, final, store.uri(rid), manifest)
