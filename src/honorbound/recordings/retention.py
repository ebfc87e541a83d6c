"""Stored recordings follow the notice's retention rule for call recordings.

The adopted declaration's `after_collection` rule for `user.contact_center.call_recording` (or
for the whole interaction, `user.contact_center.interaction_metadata`) is read through the
retention planner (`honorbound.retention.rules.plan`), the one reader of retention rules. The
store does not know a recording's subject type, so where rules differ by type the shortest
period applies. A recording ingested before `as_of - period` is deleted whole: redacted audio,
transcript, manifest and any sealed original (a local folder keeps no older versions).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

from honorbound.policy.schema import Declaration, duration_days
from honorbound.recordings.store import RecordingStore
from honorbound.retention.rules import cutoff, plan

PARTS = ("user.contact_center.call_recording", "user.contact_center.interaction_metadata")


@dataclass
class Swept:
    rule_id: str | None
    period: str | None
    cutoff: dt.datetime | None
    due: list[str] = field(default_factory=list)
    deleted: int = 0
    unreadable: int = 0

    def as_dict(self) -> dict[str, object]:
        return {
            "rule_id": self.rule_id,
            "period": self.period,
            "cutoff": self.cutoff.isoformat() if self.cutoff else None,
            "due": len(self.due),
            "deleted": self.deleted,
            "unreadable": self.unreadable,
        }


def recording_rule(declaration: Declaration) -> tuple[str, str] | None:
    """(rule id, period) of the shortest `after_collection` rule covering recordings."""
    steps = [
        s
        for s in plan(declaration, []).steps
        if s.trigger.value == "after_collection" and set(s.categories) & set(PARTS)
    ]
    if not steps:
        return None
    best = min(steps, key=lambda s: duration_days(s.period))
    return best.rule_id, best.period


def original_allowed(declaration: Declaration | None) -> str | None:
    """Why the adopted notice does not let an original (unredacted) recording be kept, or None
    when it does: the notice must list call recordings, with an `after_collection` rule, so
    what is kept is disclosed and deleted on schedule (`sweep`). The setting
    HONORBOUND_RECORDINGS_KEEP_ORIGINAL must be on as well; this is the notice's half."""
    if declaration is None:
        return "the organization has adopted no notice"
    if declaration.category(PARTS[0]) is None:
        return f"the adopted notice does not list {PARTS[0]}"
    if recording_rule(declaration) is None:
        return (
            "the adopted notice has no after_collection retention rule for "
            "user.contact_center.call_recording"
        )
    return None


def sweep(
    store: RecordingStore, declaration: Declaration, as_of: dt.datetime, *, dry_run: bool = False
) -> Swept:
    rule = recording_rule(declaration)
    if rule is None:
        return Swept(None, None, None)
    rule_id, period = rule
    limit = cutoff(as_of, period)
    result = Swept(rule_id, period, limit)
    if not store.root.exists():
        return result
    for folder in sorted(store.root.iterdir()):
        if folder.name.startswith(".") or folder.name == "inbox" or not folder.is_dir():
            continue
        try:
            manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
            at = dt.datetime.fromisoformat(manifest["ingested_at"])
        except (OSError, ValueError, KeyError, TypeError):
            result.unreadable += 1
            continue
        if at < limit:
            result.due.append(folder.name)
            if not dry_run and store.delete(folder.name):
                result.deleted += 1
    return result
