"""The collection rules the vault enforces, taken from the organization's adopted declaration.

`CollectionRules` is the small, typed view of a `honorbound.policy.schema.Declaration` the vault
needs; `current_rules` builds it from the organization's current adopted version, the
jurisdiction rules data (which states require opt-in consent for sensitive data) and the vault's
own data file (`data/collection.yaml`: which category free text and detected values belong to).
Checks raise `CollectionRefused`, which names the rule and the request field it applies to.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

import yaml
from sqlalchemy.orm import Session

from honorbound.policy import store
from honorbound.policy.jurisdictions import JurisdictionRules
from honorbound.policy.schema import Consent as PurposeConsent
from honorbound.policy.schema import Declaration
from honorbound.policy.taxonomy import is_within, sensitive_hints


@dataclass(frozen=True)
class CollectionData:
    """The vault's data file: channel -> text category, finding kind -> category."""

    text_categories: Mapping[str, str]
    finding_categories: Mapping[str, str]
    never_kept: frozenset[str]
    not_redacted: frozenset[str] = frozenset()


@cache
def collection_data() -> CollectionData:
    text = resources.files("honorbound.vault").joinpath("data/collection.yaml")
    raw = yaml.safe_load(text.read_text(encoding="utf-8"))
    return CollectionData(
        {str(k): str(v) for k, v in raw["text_categories"].items()},
        {str(k).upper(): str(v) for k, v in raw["finding_categories"].items()},
        frozenset(str(k).upper() for k in raw["never_kept"]),
        frozenset(str(k).upper() for k in raw.get("not_redacted") or ()),
    )


@dataclass(frozen=True)
class CategoryRule:
    name: str
    sensitive: bool
    purposes: frozenset[str]
    includes: tuple[str, ...] = ()
    subjects: frozenset[str] | None = None  # None: every declared subject type


@dataclass(frozen=True)
class CollectionRules:
    policy_version_id: int | None
    categories: Mapping[str, CategoryRule]
    subject_types: frozenset[str]
    minimum_age: int | None
    # US states (two letters) whose law requires opt-in consent before processing sensitive data.
    opt_in_jurisdictions: frozenset[str] = field(default_factory=frozenset)
    # Purposes the declaration itself says need opt-in consent (`consent: opt_in`).
    opt_in_purposes: frozenset[str] = field(default_factory=frozenset)
    # Purpose id -> the subject types it is declared for (absent: all).
    purpose_subjects: Mapping[str, frozenset[str]] = field(default_factory=dict)
    # Category prefixes the law treats as sensitive whatever the declaration says.
    sensitive_prefixes: tuple[str, ...] = ()
    data: CollectionData = field(default_factory=collection_data)

    def category(self, key: str) -> CategoryRule | None:
        """The declared category covering `key`: exact, then `includes`, then nearest ancestor
        (the same resolution as `Declaration.category`)."""
        exact = self.categories.get(key)
        if exact is not None:
            return exact
        for rule in self.categories.values():
            if any(is_within(key, inc) for inc in rule.includes):
                return rule
        best: CategoryRule | None = None
        for rule in self.categories.values():
            if is_within(key, rule.name) and (best is None or len(rule.name) > len(best.name)):
                best = rule
        return best

    def is_sensitive(self, key: str, declared: CategoryRule) -> bool:
        return declared.sensitive or any(is_within(key, p) for p in self.sensitive_prefixes)

    def text_category(self, channel: str) -> str:
        return self.data.text_categories.get(channel, "user.contact_center.chat_log")

    def may_keep_original(self, channel: str, finding_kinds: Collection[str]) -> bool:
        """The unredacted text may be kept (encrypted) only when every kind of value found in
        it belongs to a category the declaration lists; security codes are cut out anyway."""
        if self.category(self.text_category(channel)) is None:
            return False
        for kind in finding_kinds:
            if kind.upper() in self.data.never_kept or kind.upper() in self.data.not_redacted:
                continue
            key = self.data.finding_categories.get(kind.upper())
            if key is None or self.category(key) is None:
                return False
        return True


class CollectionRefused(Exception):
    """The declaration does not allow this collection. `rule` is a stable machine name."""

    def __init__(self, rule: str, field: str, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.rule = rule
        self.field = field
        self.message = message
        self.status = status


def no_policy() -> CollectionRefused:
    return CollectionRefused(
        "no_policy",
        "body",
        "no privacy notice adopted for this organization; adopt a declaration before "
        "collecting data",
        409,
    )


def age_on(birth_date: dt.date, day: dt.date) -> int:
    years = day.year - birth_date.year
    if (day.month, day.day) < (birth_date.month, birth_date.day):
        years -= 1
    return years


def check_subject_type(rules: CollectionRules, subject_type: str, field_name: str) -> None:
    if rules.subject_types and subject_type not in rules.subject_types:
        raise CollectionRefused(
            "subject_type_not_declared",
            field_name,
            f"subject type '{subject_type}' is not declared in the organization's privacy "
            f"notice (version {rules.policy_version_id}); declared: "
            f"{', '.join(sorted(rules.subject_types))}",
        )


def is_below_minimum_age(rules: CollectionRules, age: int | None) -> bool:
    return rules.minimum_age is not None and age is not None and age < rules.minimum_age


def check_record(
    rules: CollectionRules,
    category: str,
    purposes: Sequence[str],
    jurisdiction: str | None,
    consent_opt_in: bool | None,
    subject_type: str | None = None,
) -> CategoryRule:
    declared = rules.category(category)
    if declared is None:
        raise CollectionRefused(
            "category_not_declared",
            "body.category",
            f"category '{category}' is not listed in the organization's privacy notice "
            f"(version {rules.policy_version_id})",
        )
    subjects = declared.subjects
    if subject_type is not None and subjects is not None and subject_type not in subjects:
        raise CollectionRefused(
            "category_not_declared_for_subject_type",
            "body.category",
            f"category '{category}' is declared only for subject types "
            f"{', '.join(sorted(subjects))}, not '{subject_type}'",
        )
    for index, purpose in enumerate(purposes):
        if purpose not in declared.purposes:
            raise CollectionRefused(
                "purpose_not_declared",
                f"body.purposes[{index}]",
                f"purpose '{purpose}' is not declared for category '{category}' "
                f"(declared: {', '.join(sorted(declared.purposes)) or 'none'})",
            )
        allowed = rules.purpose_subjects.get(purpose)
        if subject_type is not None and allowed is not None and subject_type not in allowed:
            raise CollectionRefused(
                "purpose_not_declared_for_subject_type",
                f"body.purposes[{index}]",
                f"purpose '{purpose}' is declared only for subject types "
                f"{', '.join(sorted(allowed))}, not '{subject_type}'",
            )
        if purpose in rules.opt_in_purposes and not consent_opt_in:
            raise CollectionRefused(
                "purpose_requires_opt_in",
                "body.consent",
                f"the privacy notice says purpose '{purpose}' needs opt-in consent; "
                "send consent.opt_in=true with its evidence",
            )
    if (
        rules.is_sensitive(category, declared)
        and jurisdiction in rules.opt_in_jurisdictions
        and not consent_opt_in
    ):
        raise CollectionRefused(
            "sensitive_requires_opt_in",
            "body.consent",
            f"category '{category}' is sensitive and the subject's jurisdiction ({jurisdiction}) "
            "requires opt-in consent first; send consent.opt_in=true with its evidence",
        )
    return declared


def check_text(rules: CollectionRules, channel: str, field_name: str = "body.text") -> str:
    """Free text of a channel is data of its text category: that category must be declared."""
    key = rules.text_category(channel)
    if rules.category(key) is None:
        raise CollectionRefused(
            "category_not_declared",
            field_name,
            f"{channel} text is category '{key}', which the organization's privacy notice "
            f"(version {rules.policy_version_id}) does not list; send the interaction without "
            "text or declare the category",
        )
    return key


def from_declaration(
    version_id: int | None, declaration: Declaration, opt_in_jurisdictions: frozenset[str]
) -> CollectionRules:
    """The vault's view of a declaration."""
    categories: dict[str, CategoryRule] = {}
    for cat in declaration.categories:
        purposes = frozenset(
            p.id for p in declaration.purposes if cat.key in declaration.category_keys(p.categories)
        )
        subjects = (
            None if cat.subjects == "all" else frozenset(declaration.subject_ids(cat.subjects))
        )
        categories[cat.key] = CategoryRule(
            cat.key, cat.sensitive, purposes, tuple(cat.includes), subjects
        )
    purpose_subjects = {
        p.id: frozenset(declaration.subject_ids(p.subjects))
        for p in declaration.purposes
        if p.subjects != "all"
    }
    return CollectionRules(
        policy_version_id=version_id,
        categories=categories,
        subject_types=frozenset(s.id for s in declaration.subjects),
        minimum_age=declaration.minimum_age,
        opt_in_jurisdictions=opt_in_jurisdictions,
        opt_in_purposes=frozenset(
            p.id for p in declaration.purposes if p.consent == PurposeConsent.opt_in
        ),
        purpose_subjects=purpose_subjects,
        sensitive_prefixes=tuple(h.prefix for h in sensitive_hints()),
    )


def opt_in_jurisdictions(laws: JurisdictionRules) -> frozenset[str]:
    """States whose rules data says sensitive data needs opt-in consent. `strict` states
    (sensitive data only when strictly necessary) are counted too: the vault cannot judge
    necessity, so it asks for consent at least."""
    return frozenset(
        code for code, state in laws.states.items() if state.sensitive in ("opt_in", "strict")
    )


def current_rules(
    session: Session, organization_id: int, laws: JurisdictionRules
) -> CollectionRules | None:
    """The rules of the organization's current declaration; None when none is adopted.
    `laws` is the runtime's jurisdiction rules object (`Runtime.rules`)."""
    adopted = store.current(session, organization_id)
    if adopted is None:
        return None
    return from_declaration(adopted.version_id, adopted.declaration, opt_in_jurisdictions(laws))
