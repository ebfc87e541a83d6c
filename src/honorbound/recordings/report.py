"""The PCI DSS report of the recording store: what was scanned and removed, and the incidents.

For every stored recording, from its manifest: seconds of audio, spans redacted by type, DTMF
tones removed, seconds paused, whether an original is kept. Then each recording is checked
again, so card data that reached the store (a detector that missed it then and finds it now,
a recording stored by an older version) is an incident to handle per PCI DSS 12.10.7, not
silence:

* the stored transcript is scanned again for card numbers and card codes;
* with `audio=True`, the stored audio is searched again for keypad tones;
* a kept original of a call with a card code is a breach of 3.3.1.2 (no card verification
  code after authorization, encrypted or not).

The requirements quoted come from the rules data (`pci_dss` in us-rules.yaml). Nothing here
prints a finding's text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from honorbound import detect
from honorbound.policy.jurisdictions import JurisdictionRules
from honorbound.recordings import audio, dtmf
from honorbound.recordings.errors import RecordingError
from honorbound.recordings.store import RecordingStore

CARD_TYPES = frozenset({"CREDIT_CARD", "CVV"})


@dataclass
class Incident:
    recording_id: str
    requirement: str  # "12.10.7" or "3.3.1.2"
    what: str  # one sentence, no card data
    incident_id: int | None = None  # the breach incident opened for it (incidents.py)

    def as_dict(self) -> dict[str, str | int | None]:
        return {
            "recording_id": self.recording_id,
            "requirement": self.requirement,
            "what": self.what,
            "incident_id": self.incident_id,
        }


@dataclass
class PciReport:
    recordings: int = 0
    audio_seconds: float = 0.0
    spans_redacted: int = 0
    findings: dict[str, int] = field(default_factory=dict)
    dtmf_tones_removed: int = 0
    paused_seconds: float = 0.0
    originals_kept: int = 0
    unreadable: int = 0
    incidents: list[Incident] = field(default_factory=list)
    requirements: list[dict[str, str]] = field(default_factory=list)
    standard: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "standard": self.standard,
            "recordings_scanned": self.recordings,
            "audio_hours": round(self.audio_seconds / 3600, 3),
            "spans_redacted": self.spans_redacted,
            "findings": dict(sorted(self.findings.items())),
            "dtmf_tones_removed": self.dtmf_tones_removed,
            "paused_seconds": round(self.paused_seconds, 3),
            "originals_kept": self.originals_kept,
            "unreadable": self.unreadable,
            "incidents": [i.as_dict() for i in self.incidents],
            "requirements": self.requirements,
        }


def _transcript_text(doc: dict[str, Any]) -> str:
    return " ".join(str(w.get("text", "")) for w in doc.get("words", []) if isinstance(w, dict))


def build(
    store: RecordingStore, rules: JurisdictionRules, *, audio_check: bool = False
) -> PciReport:
    pci = rules.pci_dss
    report = PciReport(
        standard=f"PCI DSS {pci.version}",
        requirements=[
            {"id": r.id, "rule": r.rule}
            for r in pci.requirements
            if r.id in ("3.3.1", "3.3.1.2", "3.3.2", "12.10.7")
        ],
    )
    for rid in store.recording_ids():
        try:
            manifest = store.manifest(rid)
        except (OSError, ValueError):
            report.unreadable += 1
            continue
        report.recordings += 1
        report.audio_seconds += float(manifest.get("duration_s", 0))
        report.spans_redacted += int(manifest.get("spans_redacted", 0))
        for kind, n in (manifest.get("findings") or {}).items():
            report.findings[kind] = report.findings.get(kind, 0) + int(n)
        report.dtmf_tones_removed += int(manifest.get("dtmf_tones_removed", 0))
        report.paused_seconds += float(manifest.get("paused_seconds", 0))
        kept = store.has(rid, "original.sealed")
        report.originals_kept += kept
        if kept and (manifest.get("findings") or {}).get("CVV"):
            report.incidents.append(
                Incident(rid, "3.3.1.2", "an original holding a card code is kept (sealed)")
            )
        if store.has(rid, "transcript.json"):
            try:
                doc = store.read_json(rid, "transcript.json")
            except (OSError, ValueError):
                report.unreadable += 1
                continue
            found = sorted(
                {f.type for f in detect.scan(_transcript_text(doc), entities=CARD_TYPES)}
            )
            if found:
                report.incidents.append(
                    Incident(
                        rid, "12.10.7", f"card data in the stored transcript: {', '.join(found)}"
                    )
                )
        if audio_check:
            tones = _stored_tones(store, rid, str(manifest.get("redacted_file", "")))
            if tones is None:
                report.unreadable += 1
            elif tones:
                report.incidents.append(
                    Incident(rid, "12.10.7", f"{tones} keypad tones in the stored audio")
                )
    return report


def _stored_tones(store: RecordingStore, recording_id: str, name: str) -> int | None:
    import tempfile
    from pathlib import Path

    try:
        with tempfile.TemporaryDirectory() as tmp:
            if not name or "/" in name:
                return None
            path = store.download(recording_id, name, Path(tmp) / ("stored-" + name))
            info = audio.open_audio(path, Path(tmp))
            det = dtmf.Detector(info.samplerate, info.channels)
            scale = 1.0 / info.full_scale
            for _first, block in audio.blocks(info):
                det.feed(block.astype("float64") * scale)
            return len(det.tones)
    except (RecordingError, OSError):
        return None
