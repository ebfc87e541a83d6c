"""What changed between two declarations, and which changes are material.

A change is material when it lets the organization do more with personal data than the old
notice told people: a new category, a new purpose for a category, a new recipient (or a
recipient that receives more), a new sale or sharing for targeted advertising, new profiling,
longer retention, or fewer rights. Material changes are announced to the people affected
(`vault/notices.py`); data collected before keeps its version (`store.purpose_allowed`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from typing import Any

from honorbound.i18n import N_
from honorbound.policy.schema import (
    PERIODLESS_TRIGGERS,
    Consent,
    Declaration,
    RetentionRule,
    Trigger,
    duration_days,
)


class ChangeKind(StrEnum):
    # material
    new_category = "new_category"
    new_purpose = "new_purpose"
    new_profiling = "new_profiling"
    new_recipient = "new_recipient"
    recipient_receives_more = "recipient_receives_more"
    recipient_new_purpose = "recipient_new_purpose"
    new_sale = "new_sale"
    new_sharing = "new_sharing"
    longer_retention = "longer_retention"
    fewer_rights = "fewer_rights"
    # not material
    removed_category = "removed_category"
    removed_purpose = "removed_purpose"
    removed_recipient = "removed_recipient"
    shorter_retention = "shorter_retention"
    more_rights = "more_rights"
    ended_sale = "ended_sale"
    ended_sharing = "ended_sharing"
    wording = "wording"


MATERIAL_KINDS = frozenset(
    {
        ChangeKind.new_category,
        ChangeKind.new_purpose,
        ChangeKind.new_profiling,
        ChangeKind.new_recipient,
        ChangeKind.recipient_receives_more,
        ChangeKind.recipient_new_purpose,
        ChangeKind.new_sale,
        ChangeKind.new_sharing,
        ChangeKind.longer_retention,
        ChangeKind.fewer_rights,
    }
)


@dataclass(frozen=True)
class Change:
    kind: ChangeKind
    message: str
    # Subject types the change concerns (who must be told about a material change).
    subjects: list[str] = field(default_factory=list)

    @property
    def material(self) -> bool:
        return self.kind in MATERIAL_KINDS

    def as_dict(self) -> dict[str, Any]:
        # The message as plain text: a marked message (i18n.N_) is stored as the English it reads.
        data = asdict(replace(self, message=str(self.message)))
        data["kind"] = self.kind.value
        data["material"] = self.material
        return data

    def __str__(self) -> str:
        return f"[{'material' if self.material else 'minor'}] {self.message}"


def diff(old: Declaration, new: Declaration) -> list[Change]:
    """Every change from `old` to `new`, material ones first, each once."""
    changes: list[Change] = []
    changes += _categories(old, new)
    changes += _purposes(old, new)
    changes += _recipients(old, new)
    changes += _sale_and_sharing(old, new)
    changes += _retention(old, new)
    changes += _rights(old, new)
    changes += _wording(old, new)
    changed = sorted(
        lang
        for lang in set(old.translations) | set(new.translations)
        if old.translations.get(lang) != new.translations.get(lang)
    )
    if changed:
        changes.append(
            Change(
                ChangeKind.wording,
                N_("translations changed: {languages}", languages=", ".join(changed)),
            )
        )
    if not changes and old.model_dump() != new.model_dump():
        changes.append(Change(ChangeKind.wording, N_("wording or settings changed")))
    return sorted(changes, key=lambda c: not c.material)


def diff_dicts(old: Declaration, new: Declaration) -> list[dict[str, Any]]:
    """`diff` as JSON-ready dicts (what a stored version keeps in `changes`)."""
    return [c.as_dict() for c in diff(old, new)]


def _all_subjects(d: Declaration) -> list[str]:
    return [s.id for s in d.subjects]


def _categories(old: Declaration, new: Declaration) -> list[Change]:
    before = {c.key for c in old.categories}
    after = {c.key for c in new.categories}
    out = [
        Change(
            ChangeKind.new_category,
            N_("new category '{key}' is collected", key=key),
            new.subjects_for(key),
        )
        for key in sorted(after - before)
    ]
    out += [
        Change(ChangeKind.removed_category, N_("category '{key}' is no longer collected", key=key))
        for key in sorted(before - after)
    ]
    return out


def _uses(d: Declaration, key: str) -> dict[str, bool]:
    """Data uses declared for a category, with whether any of them profiles."""
    uses: dict[str, bool] = {}
    for purpose in d.purposes_for(key):
        uses[purpose.use] = uses.get(purpose.use, False) or purpose.profiling
    return uses


def _purposes(old: Declaration, new: Declaration) -> list[Change]:
    out: list[Change] = []
    before_keys = {c.key for c in old.categories}
    for cat in new.categories:
        if cat.key not in before_keys:
            # A new category with its purposes is one change, not one per purpose.
            continue
        before, after = _uses(old, cat.key), _uses(new, cat.key)
        subjects = new.subjects_for(cat.key)
        for use in sorted(set(after) - set(before)):
            out.append(
                Change(
                    ChangeKind.new_purpose,
                    N_("category '{key}' is now used for '{use}'", key=cat.key, use=use),
                    subjects,
                )
            )
        for use in sorted(set(after) & set(before)):
            if after[use] and not before[use]:
                out.append(
                    Change(
                        ChangeKind.new_profiling,
                        N_(
                            "category '{key}' is now used for profiling ('{use}')",
                            key=cat.key,
                            use=use,
                        ),
                        subjects,
                    )
                )
        for use in sorted(set(before) - set(after)):
            out.append(
                Change(
                    ChangeKind.removed_purpose,
                    N_("category '{key}' is no longer used for '{use}'", key=cat.key, use=use),
                )
            )
    return out


def _recipients(old: Declaration, new: Declaration) -> list[Change]:
    out: list[Change] = []
    before = {r.id: r for r in old.recipients}
    after = {r.id: r for r in new.recipients}
    for rid, rec in after.items():
        keys = set(new.category_keys(rec.categories))
        subjects = sorted({s for k in keys for s in new.subjects_for(k)})
        if rid not in before:
            out.append(
                Change(
                    ChangeKind.new_recipient,
                    N_(
                        "new recipient '{name}' ({type}) receives {categories}",
                        name=rec.name,
                        type=rec.type.value,
                        categories=", ".join(sorted(keys)),
                    ),
                    subjects,
                )
            )
            continue
        gained = [p for p in rec.purposes if p not in before[rid].purposes]
        if gained:
            # A processor now also used for marketing: a new use of the data it receives.
            names = [(new.purpose(p).name if new.purpose(p) else p) for p in gained]  # type: ignore[union-attr]
            out.append(
                Change(
                    ChangeKind.recipient_new_purpose,
                    N_(
                        "recipient '{name}' now also receives data for {purposes}",
                        name=rec.name,
                        purposes=", ".join(names),
                    ),
                    subjects,
                )
            )
        more = keys - set(old.category_keys(before[rid].categories))
        if more:
            out.append(
                Change(
                    ChangeKind.recipient_receives_more,
                    N_(
                        "recipient '{name}' now also receives {categories}",
                        name=rec.name,
                        categories=", ".join(sorted(more)),
                    ),
                    sorted({s for k in more for s in new.subjects_for(k)}),
                )
            )
    out += [
        Change(
            ChangeKind.removed_recipient,
            N_("recipient '{name}' no longer receives data", name=before[rid].name),
        )
        for rid in sorted(set(before) - set(after))
    ]
    return out


def _sale_and_sharing(old: Declaration, new: Declaration) -> list[Change]:
    out: list[Change] = []
    for attr, new_kind, end_kind, now_text, ended_text in (
        (
            "sale",
            ChangeKind.new_sale,
            ChangeKind.ended_sale,
            N_("category '{key}' is now sold"),
            N_("category '{key}' is no longer sold"),
        ),
        (
            "sharing",
            ChangeKind.new_sharing,
            ChangeKind.ended_sharing,
            N_("category '{key}' is now shared for targeted ads"),
            N_("category '{key}' is no longer shared for targeted ads"),
        ),
    ):
        for cat in new.categories:
            was = _flag(old, cat.key, attr) if old.category(cat.key) is not None else False
            now = _flag(new, cat.key, attr)
            if now and not was:
                out.append(Change(new_kind, N_(now_text, key=cat.key), new.subjects_for(cat.key)))
        for cat in old.categories:
            if _flag(old, cat.key, attr) and not _flag(new, cat.key, attr):
                out.append(Change(end_kind, N_(ended_text, key=cat.key)))
    # The notice's own statement, even with no recipient marked yet.
    for attr, new_kind, text in (
        (
            "sells_personal_data",
            ChangeKind.new_sale,
            N_("the notice now says personal data is sold"),
        ),
        (
            "shares_for_targeted_advertising",
            ChangeKind.new_sharing,
            N_("the notice now says personal data is shared for targeted advertising"),
        ),
    ):
        if getattr(new.commitments, attr) and not getattr(old.commitments, attr):
            out.append(Change(new_kind, text, _all_subjects(new)))
    return out


def _flag(d: Declaration, key: str, attr: str) -> bool:
    return any(getattr(r, attr) for r in d.recipients_for(key))


def _limits(rules: list[RetentionRule]) -> dict[Trigger, float]:
    """Per trigger, the period in days (infinite for periodless triggers)."""
    limits: dict[Trigger, float] = {}
    for rule in rules:
        for trig in rule.triggers:
            days = (
                float("inf")
                if trig.trigger in PERIODLESS_TRIGGERS or trig.period is None
                else duration_days(trig.period)
            )
            limits[trig.trigger] = min(limits.get(trig.trigger, float("inf")), days)
    return limits


def _retention(old: Declaration, new: Declaration) -> list[Change]:
    """Compare per category x subject type and per trigger.

    Triggers end retention "whichever comes first", so a longer period for the same trigger, a
    dropped trigger, or a new open-ended trigger ("while necessary") can only keep data longer.
    """
    out: list[Change] = []
    for cat in new.categories:
        if old.category(cat.key) is None or old.category(cat.key).key != cat.key:  # type: ignore[union-attr]
            continue
        for subject in new.subject_ids(cat.subjects):
            before = _limits(old.retention_rules_for(cat.key, subject))
            after = _limits(new.retention_rules_for(cat.key, subject))
            if not before or not after:
                continue
            longer = [t.value for t in before if t not in after or after[t] > before[t]] + [
                t.value for t in after if t == Trigger.while_necessary and t not in before
            ]
            shorter = [t.value for t in after if t in before and after[t] < before[t]]
            if longer:
                out.append(
                    Change(
                        ChangeKind.longer_retention,
                        N_(
                            "category '{key}' of subject type '{subject}' may be kept longer "
                            "({triggers})",
                            key=cat.key,
                            subject=subject,
                            triggers=", ".join(sorted(longer)),
                        ),
                        [subject],
                    )
                )
            elif shorter or set(after) - set(before):
                text = N_(
                    "category '{key}' of subject type '{subject}' is kept for less time",
                    key=cat.key,
                    subject=subject,
                )
                out.append(Change(ChangeKind.shorter_retention, text))
    return out


def _offered(d: Declaration) -> dict[str, tuple[set[str], set[str]]]:
    """Per jurisdiction named in the declaration: (rights, methods)."""
    out: dict[str, tuple[set[str], set[str]]] = {}
    for offer in d.rights:
        for juris in offer.jurisdictions:
            rights, methods = out.setdefault(juris, (set(), set()))
            rights.update(r.value for r in offer.rights)
            methods.update(m.value for m in offer.methods)
    return out


def _rights(old: Declaration, new: Declaration) -> list[Change]:
    out: list[Change] = []
    before, after = _offered(old), _offered(new)
    for juris in sorted(set(before) | set(after)):
        rights_before, methods_before = before.get(juris, (set(), set()))
        # A jurisdiction dropped from one offer may still be covered by an offer for `all`/`US`.
        rights_after = {r.value for o in new.rights_for(juris) for r in o.rights}
        methods_after = {m.value for o in new.rights_for(juris) for m in o.methods}
        lost = rights_before - rights_after
        lost_methods = methods_before - methods_after
        if lost:
            out.append(
                Change(
                    ChangeKind.fewer_rights,
                    N_(
                        "rights no longer offered in {place}: {rights}",
                        place=juris,
                        rights=", ".join(sorted(lost)),
                    ),
                    _all_subjects(new),
                )
            )
        if lost_methods:
            out.append(
                Change(
                    ChangeKind.fewer_rights,
                    N_(
                        "rights in {place} can no longer be exercised by {methods}",
                        place=juris,
                        methods=", ".join(sorted(lost_methods)),
                    ),
                    _all_subjects(new),
                )
            )
        gained = set(after.get(juris, (set(), set()))[0]) - rights_before
        if gained and juris in before:
            out.append(
                Change(
                    ChangeKind.more_rights,
                    N_(
                        "rights added in {place}: {rights}",
                        place=juris,
                        rights=", ".join(sorted(gained)),
                    ),
                )
            )
    out += _consent(old, new)
    return out


def _consent(old: Declaration, new: Declaration) -> list[Change]:
    """Consent that was asked before and is not any more takes a choice away from people."""
    out: list[Change] = []
    for purpose in new.purposes:
        before = old.purpose(purpose.id)
        if (
            before is not None
            and before.consent != Consent.none
            and purpose.consent == Consent.none
        ):
            out.append(
                Change(
                    ChangeKind.fewer_rights,
                    N_(
                        "purpose '{name}' no longer asks for consent (was {consent})",
                        name=purpose.name,
                        consent=before.consent.value,
                    ),
                    new.subject_ids(purpose.subjects),
                )
            )
    for rec in new.recipients:
        before_rec = old.recipient(rec.id)
        if before_rec is not None and before_rec.consent_required and not rec.consent_required:
            out.append(
                Change(
                    ChangeKind.fewer_rights,
                    N_("recipient '{name}' now receives data without your consent", name=rec.name),
                    sorted(
                        {s for k in new.category_keys(rec.categories) for s in new.subjects_for(k)}
                    ),
                )
            )
    return out


_WORDING_FIELDS = (
    "organization",
    "contact",
    "effective_date",
    "title",
    "introduction",
    "subjects",
    "children",
    "call_monitoring",
    "cookies",
    "security",
    "breach",
    "changes",
    "sections",
    "applicability",
)


def _wording(old: Declaration, new: Declaration) -> list[Change]:
    """Sections whose text or settings changed without a material effect listed above."""
    out: list[Change] = []
    for name in _WORDING_FIELDS:
        if getattr(old, name) != getattr(new, name):
            out.append(Change(ChangeKind.wording, N_("'{name}' changed", name=name)))
    for name, label in (
        ("categories", N_("category '{ident}' details changed")),
        ("purposes", N_("purpose '{ident}' details changed")),
        ("recipients", N_("recipient '{ident}' details changed")),
    ):
        for item in getattr(new, name):
            ident = getattr(item, "key", None) or item.id
            before = next(
                (o for o in getattr(old, name) if (getattr(o, "key", None) or o.id) == ident), None
            )
            if before is not None and before != item:
                out.append(Change(ChangeKind.wording, N_(label, ident=ident)))
    return out
