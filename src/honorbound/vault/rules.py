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
from typing import Any

import yaml
from sqlalchemy.orm import Session

from honorbound.errors import HonorboundError
from honorbound.policy import store
from honorbound.policy.jurisdictions import JurisdictionRules
from honorbound.policy.schema import Consent as PurposeConsent
from honorbound.policy.schema import Declaration
from honorbound.policy.taxonomy import is_within, sensitive_hints

SOURCE_KINDS = ("directly", "third_parties", "automatically")


@dataclass(frozen=True)
class CollectionData:
    """The vault's data file: channel -> text category, finding kind -> category, the recording
    category, record source words -> the kind of source a declaration names, clock skew."""

    text_categories: Mapping[str, str]
    finding_categories: Mapping[str, str]
    never_kept: frozenset[str]
    not_redacted: frozenset[str] = frozenset()
    recording_category: str = "user.contact_center.call_recording"
    # Source word -> "directly" / "third_parties" / "automatically". Empty: any source.
    record_sources: Mapping[str, str] = field(default_factory=dict)
    interaction_source: str = "directly"
    clock_skew: dt.timedelta = dt.timedelta(minutes=5)
    birth_date_category: str = "user.demographic.date_of_birth"

    @property
    def birth_date_kinds(self) -> frozenset[str]:
        """Finding kinds that are a date of birth (DATE_OF_BIRTH, DOB)."""
        return frozenset(
            kind
            for kind, key in self.finding_categories.items()
            if is_within(key, self.birth_date_category)
        )


@cache
def collection_data() -> CollectionData:
    text = resources.files("honorbound.vault").joinpath("data/collection.yaml")
    raw = yaml.safe_load(text.read_text(encoding="utf-8"))
    sources: dict[str, str] = {kind: kind for kind in SOURCE_KINDS}
    for kind, words in (raw.get("record_sources") or {}).items():
        if kind not in SOURCE_KINDS:
            raise ValueError(f"collection.yaml: record_sources: unknown kind {kind!r}")
        sources.update({str(word): str(kind) for word in words})
    return CollectionData(
        {str(k): str(v) for k, v in raw["text_categories"].items()},
        {str(k).upper(): str(v) for k, v in raw["finding_categories"].items()},
        frozenset(str(k).upper() for k in raw["never_kept"]),
        frozenset(str(k).upper() for k in raw.get("not_redacted") or ()),
        str(raw["recording_category"]),
        sources,
        str(raw.get("interaction_source") or "directly"),
        dt.timedelta(seconds=int(raw["clock_skew_seconds"])),
        str(raw["birth_date_category"]),
    )


@dataclass(frozen=True)
class CategoryRule:
    name: str
    sensitive: bool
    purposes: frozenset[str]
    includes: tuple[str, ...] = ()
    subjects: frozenset[str] | None = None  # None: every declared subject type
    # The kinds of source the notice names for the category (`sources`); None: any.
    sources: frozenset[str] | None = None


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
    # States with a row in the jurisdiction rules data; a subject in another state, or in none
    # (unknown), is held to the unknown-state rule below. None: every code given is known.
    known_states: frozenset[str] | None = None
    # Whether the unknown-state rule (the strictest of the states the notice covers,
    # `Declaration.unknown_state_scope`) asks opt-in consent for sensitive data. Unknown is
    # never the most lenient state.
    unknown_state_opt_in: bool = True

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
        return declared.sensitive or self.law_sensitive(key) is not None

    def law_sensitive(self, key: str) -> str | None:
        """The most specific category prefix the law treats as sensitive that holds `key`."""
        found = [p for p in self.sensitive_prefixes if is_within(key, p)]
        return max(found, key=len) if found else None

    def sensitive_needs_opt_in(self, jurisdiction: str | None) -> bool:
        """Sensitive data of a subject in `jurisdiction` needs opt-in consent first: their
        state's rule when it is known, else the unknown-state rule (the strictest the notice
        covers)."""
        code = (jurisdiction or "").upper()
        known = bool(code) and (self.known_states is None or code in self.known_states)
        return code in self.opt_in_jurisdictions if known else self.unknown_state_opt_in

    def is_birth_date(self, key: str) -> bool:
        return is_within(key, self.data.birth_date_category)

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


class CollectionRefused(HonorboundError):
    """The declaration does not allow this collection. `rule` is a stable machine name."""

    status = 422

    def __init__(self, rule: str, field: str, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.rule = rule
        self.field = field
        self.message = message
        self.status = status
        self.title = (
            "Collection refused by the privacy notice" if status == 422 else "No privacy notice"
        )

    def detail(self) -> str:
        return self.message

    def errors(self) -> list[dict[str, str]]:
        return [{"field": self.field, "message": self.message}]

    def extra(self) -> dict[str, Any]:
        return {"rule": self.rule}


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


@dataclass(frozen=True)
class ConsentNeed:
    """Opt-in consent a record needs before it is stored. `purpose` and `scope` name it in the
    consent ledger's vocabulary (`sensitive_data_use` scoped to the sensitive category, or
    `declared_purpose` scoped to the purpose id); `refusal` is what is raised without it."""

    purpose: str
    scope: str
    refusal: CollectionRefused


# The consent ledger's purposes the vault asks about (consent.models.Purpose values; written
# out so the rules module needs nothing of the consent package).
SENSITIVE_DATA_USE = "sensitive_data_use"
DECLARED_PURPOSE = "declared_purpose"


@dataclass(frozen=True)
class Checked:
    declared: CategoryRule
    needs: tuple[ConsentNeed, ...]


def check_source(
    rules: CollectionRules, category: str, declared: CategoryRule, source: str, field_name: str
) -> None:
    """The record's source must be a known word whose kind the notice names for the category
    (Pactera: "only what you knowingly provide" = directly)."""
    vocabulary = rules.data.record_sources
    if not vocabulary:
        return
    kind = vocabulary.get(source.strip().lower())
    if kind is None:
        raise CollectionRefused(
            "source_unknown",
            field_name,
            f"source '{source}' is not a known kind of source; use one of: "
            f"{', '.join(sorted(vocabulary))}",
        )
    if declared.sources is not None and kind not in declared.sources:
        raise CollectionRefused(
            "source_not_declared",
            field_name,
            f"source '{source}' is data collected {kind.replace('_', ' ')}; the privacy notice "
            f"(version {rules.policy_version_id}) says category '{declared.name}' comes only "
            f"{', '.join(sorted(k.replace('_', ' ') for k in declared.sources))}",
        )


def check_collection(
    rules: CollectionRules,
    category: str,
    purposes: Sequence[str],
    jurisdiction: str | None,
    subject_type: str | None = None,
    source: str | None = None,
) -> Checked:
    """Every rule of the notice for one record except consent itself, which is returned as the
    opt-in consents the record needs (`Checked.needs`); the caller reads them from the ledger."""
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
    needs: list[ConsentNeed] = []
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
        if purpose in rules.opt_in_purposes:
            needs.append(
                ConsentNeed(
                    DECLARED_PURPOSE,
                    purpose,
                    CollectionRefused(
                        "purpose_requires_opt_in",
                        "body.consent",
                        f"the privacy notice says purpose '{purpose}' needs opt-in consent; "
                        "record the person's opt-in in the consent ledger, or send "
                        "consent.opt_in=true with its source and evidence",
                    ),
                )
            )
    if source is not None:
        check_source(rules, category, declared, source, "body.source")
    law = rules.law_sensitive(category)
    if law is not None and not declared.sensitive and declared.name != category:
        # The notice names only a parent (`user.demographic`) and does not say it holds
        # sensitive data: a sensitive child (race, religion, ...) is not covered by what the
        # person was told, so it needs their own opt-in, whatever their state.
        needs.append(
            ConsentNeed(
                SENSITIVE_DATA_USE,
                law,
                CollectionRefused(
                    "sensitive_child_requires_opt_in",
                    "body.consent",
                    f"category '{category}' is sensitive data; the privacy notice declares only "
                    f"'{declared.name}', not marked sensitive, so it is stored only with the "
                    "person's own opt-in consent to this category",
                ),
            )
        )
    elif rules.is_sensitive(category, declared) and rules.sensitive_needs_opt_in(jurisdiction):
        where = (
            f"the subject's jurisdiction ({jurisdiction})"
            if jurisdiction
            else "the subject's state is unknown, so the strictest state the notice covers"
        )
        needs.append(
            ConsentNeed(
                SENSITIVE_DATA_USE,
                law or declared.name,
                CollectionRefused(
                    "sensitive_requires_opt_in",
                    "body.consent",
                    f"category '{category}' is sensitive and {where} requires opt-in consent "
                    "first; record the person's opt-in in the consent ledger, or send "
                    "consent.opt_in=true with its source and evidence",
                ),
            )
        )
    return Checked(declared, tuple(needs))


def check_record(
    rules: CollectionRules,
    category: str,
    purposes: Sequence[str],
    jurisdiction: str | None,
    consent_opt_in: bool | None,
    subject_type: str | None = None,
    source: str | None = None,
) -> CategoryRule:
    """`check_collection` with the consent question answered by `consent_opt_in` (a caller
    that holds the answer itself; the vault's own writes read the consent ledger)."""
    checked = check_collection(rules, category, purposes, jurisdiction, subject_type, source)
    if checked.needs and not consent_opt_in:
        raise checked.needs[0].refusal
    return checked.declared


def check_part(
    rules: CollectionRules,
    key: str,
    what: str,
    field_name: str,
    subject_type: str | None = None,
) -> CategoryRule:
    """One part of an interaction (its text, its recording) is data of category `key`: the
    same gate as a record's category (declared, for the subject's type, from this source)."""
    declared = rules.category(key)
    if declared is None:
        raise CollectionRefused(
            "category_not_declared",
            field_name,
            f"{what} is category '{key}', which the organization's privacy notice "
            f"(version {rules.policy_version_id}) does not list; send the interaction without "
            "it or declare the category",
        )
    subjects = declared.subjects
    if subject_type is not None and subjects is not None and subject_type not in subjects:
        raise CollectionRefused(
            "category_not_declared_for_subject_type",
            field_name,
            f"{what} is category '{key}', declared only for subject types "
            f"{', '.join(sorted(subjects))}, not '{subject_type}'",
        )
    kind = rules.data.interaction_source
    if declared.sources is not None and kind not in declared.sources:
        raise CollectionRefused(
            "source_not_declared",
            field_name,
            f"{what} is given by the person ({kind}); the privacy notice says category "
            f"'{declared.name}' comes only "
            f"{', '.join(sorted(k.replace('_', ' ') for k in declared.sources))}",
        )
    return declared


def check_text(
    rules: CollectionRules,
    channel: str,
    field_name: str = "body.text",
    subject_type: str | None = None,
) -> str:
    """Free text of a channel is data of its text category: that category must be declared."""
    key = rules.text_category(channel)
    check_part(rules, key, f"{channel} text", field_name, subject_type)
    return key


def check_recording(
    rules: CollectionRules, field_name: str = "body.recording", subject_type: str | None = None
) -> str:
    """A recording reference is data of the recording category: declared, or refused."""
    key = rules.data.recording_category
    check_part(rules, key, "a call recording", field_name, subject_type)
    return key


def attachments_refused(field_name: str = "body.attachments") -> CollectionRefused:
    """Attachments are not taken in: the vault has no place that would seal them under the
    subject's key, erase them with the subject and export them on an access request, so a
    file is refused rather than kept outside those promises. A text attachment's words can be
    sent as the interaction's `text`, which passes the same gate and screening."""
    return CollectionRefused(
        "attachments_not_supported",
        field_name,
        "attachments are not taken in: Honorbound stores no files, so it could not seal, erase "
        "or export them with the person's other data; send a text attachment's words in "
        "'text' (screened like any text) and keep files out of the request",
    )


def check_time(
    rules: CollectionRules, when: dt.datetime, field_name: str, now: dt.datetime
) -> dt.datetime:
    """A time a caller gives (collected, started, ended) may run ahead of ours by the clock
    skew allowance, and is then taken as now; further ahead it is refused."""
    if when.tzinfo is None or when.utcoffset() is None:
        raise CollectionRefused(
            "time_without_zone", field_name, "the time must include a time zone (e.g. Z)"
        )
    if when > now + rules.data.clock_skew:
        raise CollectionRefused(
            "time_in_future",
            field_name,
            f"the time is in the future (more than {int(rules.data.clock_skew.total_seconds())} "
            "seconds ahead of the server's clock); send when it happened",
        )
    return min(when, now)


def from_declaration(
    version_id: int | None,
    declaration: Declaration,
    opt_in_jurisdictions: frozenset[str],
    known_states: frozenset[str] | None = None,
    unknown_state_opt_in: bool = True,
) -> CollectionRules:
    """The vault's view of a declaration. `known_states` and `unknown_state_opt_in` come from
    the jurisdiction rules (`current_rules`); without them every code given counts as known
    and an unknown state asks opt-in consent for sensitive data."""
    categories: dict[str, CategoryRule] = {}
    for cat in declaration.categories:
        purposes = frozenset(
            p.id for p in declaration.purposes if cat.key in declaration.category_keys(p.categories)
        )
        subjects = (
            None if cat.subjects == "all" else frozenset(declaration.subject_ids(cat.subjects))
        )
        categories[cat.key] = CategoryRule(
            cat.key,
            cat.sensitive,
            purposes,
            tuple(cat.includes),
            subjects,
            frozenset(str(source.value) for source in cat.sources),
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
        known_states=known_states,
        unknown_state_opt_in=unknown_state_opt_in,
    )


# A state's `sensitive` rule that means: ask opt-in consent before storing sensitive data.
OPT_IN_SENSITIVE = ("opt_in", "strict")


def opt_in_jurisdictions(laws: JurisdictionRules) -> frozenset[str]:
    """States whose rules data says sensitive data needs opt-in consent. `strict` states
    (sensitive data only when strictly necessary) are counted too: the vault cannot judge
    necessity, so it asks for consent at least."""
    return frozenset(
        code for code, state in laws.states.items() if state.sensitive in OPT_IN_SENSITIVE
    )


def current_rules(
    session: Session, organization_id: int, laws: JurisdictionRules
) -> CollectionRules | None:
    """The rules of the organization's current declaration; None when none is adopted.
    `laws` is the runtime's jurisdiction rules object (`Runtime.rules`)."""
    adopted = store.current(session, organization_id)
    if adopted is None:
        return None
    today = dt.datetime.now(dt.UTC).date()
    unknown = laws.unknown_state_rule(today, adopted.declaration.unknown_state_scope())
    return from_declaration(
        adopted.version_id,
        adopted.declaration,
        opt_in_jurisdictions(laws),
        known_states=frozenset(laws.states),
        unknown_state_opt_in=unknown.sensitive in OPT_IN_SENSITIVE,
    )
