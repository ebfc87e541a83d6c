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
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

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
    originals_due: list[str] = field(default_factory=list)
    originals_deleted: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "rule_id": self.rule_id,
            "period": self.period,
            "cutoff": self.cutoff.isoformat() if self.cutoff else None,
            "due": len(self.due),
            "deleted": self.deleted,
            "unreadable": self.unreadable,
            "originals_due": len(self.originals_due),
            "originals_deleted": len(self.originals_deleted),
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


@dataclass(frozen=True)
class OriginalsRule:
    """What the adopted notice says about keeping the unredacted original of a call: the call
    recording category's `originals: {keep: true, period}`, and the categories of what a call
    may hold (`finding_categories` of the vault's data file), each of which must be listed and
    must not say `originals: {keep: false}`. The shortest period of those that give one wins."""

    declaration: Declaration
    period: str
    finding_categories: Mapping[str, str]
    never_kept: frozenset[str]

    def decide(self, finding_kinds: Collection[str]) -> tuple[str | None, str | None]:
        """(period the original is kept for, None), or (None, why it is not kept)."""
        period = self.period
        for kind in sorted({k.upper() for k in finding_kinds}):
            if kind in self.never_kept:
                continue  # cut out of the original's decision elsewhere (PCI DSS 3.3.1.2)
            key = self.finding_categories.get(kind)
            category = self.declaration.category(key) if key is not None else None
            if category is None:
                return None, f"the call holds a {kind} finding, a category the notice does not list"
            if category.originals is None:
                continue
            if not category.originals.keep:
                return None, f"the notice says originals holding {category.key} are not kept"
            if category.originals.period is not None and duration_days(
                category.originals.period
            ) < duration_days(period):
                period = category.originals.period
        return period, None


def originals_rule(declaration: Declaration | None) -> OriginalsRule | str:
    """The notice's rule for keeping originals, or why it does not let one be kept. The
    setting HONORBOUND_RECORDINGS_KEEP_ORIGINAL must be on as well; this is the notice's
    half."""
    from honorbound.vault.rules import collection_data

    if declaration is None:
        return "the organization has adopted no notice"
    category = declaration.category(PARTS[0])
    if category is None:
        return f"the adopted notice does not list {PARTS[0]}"
    if category.originals is None or not category.originals.keep:
        return f"the adopted notice does not say originals of {category.key} are kept"
    assert category.originals.period is not None  # required with keep: true (schema)
    data = collection_data()
    return OriginalsRule(
        declaration, category.originals.period, data.finding_categories, data.never_kept
    )


def _manifests(store: RecordingStore, result: Swept) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for rid in store.recording_ids():
        try:
            manifest = store.manifest(rid)
            dt.datetime.fromisoformat(manifest["ingested_at"])
        except (OSError, ValueError, KeyError, TypeError):
            result.unreadable += 1
            continue
        out.append((rid, manifest))
    return out


def sweep(
    store: RecordingStore, declaration: Declaration, as_of: dt.datetime, *, dry_run: bool = False
) -> Swept:
    """Delete recordings past the notice's rule for call recordings, and kept originals past
    the period they were kept for (`original_period` in the manifest, from the notice's
    `originals` when the call was ingested)."""
    rule = recording_rule(declaration)
    rule_id, period = rule if rule is not None else (None, None)
    limit = cutoff(as_of, period) if period is not None else None
    result = Swept(rule_id, period, limit)
    for rid, manifest in _manifests(store, result):
        at = dt.datetime.fromisoformat(manifest["ingested_at"])
        if limit is not None and at < limit:
            result.due.append(rid)
            if not dry_run and store.delete(rid):
                result.deleted += 1
            continue
        kept_for = manifest.get("original_period")
        if (
            manifest.get("original_kept")
            and isinstance(kept_for, str)
            and at < cutoff(as_of, kept_for)
        ):
            result.originals_due.append(rid)
            if not dry_run:
                store.delete_original(rid, as_of)
                result.originals_deleted.append(rid)
    return result


def record_sweep(
    session: Any, keys: Any, organization_id: int, actor: Any, result: Swept, as_of: dt.datetime
) -> None:
    """The sweep's audit entry (`recordings.swept`, counts only), and when originals were
    deleted a signed disposal certificate (`recordings.originals_disposed`) like the retention
    sweep's: counts, the period, the time, a hash of the recording ids, no personal data."""
    import hashlib

    from honorbound.audit import append
    from honorbound.retention.certificates import document, sign

    append(session, organization_id, actor, "recordings.swept", "recordings", "",
           result.as_dict())  # fmt: skip
    if not result.originals_deleted:
        return
    ids = "\n".join(sorted(result.originals_deleted)).encode()
    certificate, signature = sign(
        keys,
        organization_id,
        {
            "organization_id": organization_id,
            "scope": "recording_originals",
            "action": "delete_originals",
            "as_of": as_of.astimezone(dt.UTC).isoformat(),
            "disposed_at": dt.datetime.now(dt.UTC).isoformat(),
            "objects_deleted": len(result.originals_deleted),
            "categories": [PARTS[0]],
            "recording_ids_sha256": hashlib.sha256(ids).hexdigest(),
        },
    )
    append(session, organization_id, actor, "recordings.originals_disposed", "recordings", "",
           document(certificate, signature))  # fmt: skip
