"""The declaration: a privacy notice as data (`schema: honorbound/declaration/v1`).

Field names are the YAML keys. Unknown keys are rejected so a typo never silently drops a
promise. Cross-references (a purpose naming a category, ...) are checked in `check.py`,
which can point at the line; this module only describes shapes and answers questions.
"""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from honorbound.i18n import N_
from honorbound.policy.taxonomy import is_targeted_advertising, is_within

SCHEMA_ID = "honorbound/declaration/v1"
DEFAULT_TITLE = N_("Privacy notice")

_DURATION = re.compile(r"^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?$")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


def parse_duration(value: str) -> tuple[int, int, int, int]:
    """`P6Y` -> (6, 0, 0, 0) as (years, months, weeks, days); ValueError otherwise."""
    match = _DURATION.match(value)
    if not match or value == "P":
        raise ValueError(
            f"{value!r} is not a period; write it as ISO 8601 like 'P6Y', 'P18M', 'P90D' or 'P0D'"
        )
    y, m, w, d = (int(g) if g else 0 for g in match.groups())
    return y, m, w, d


def duration_days(value: str) -> float:
    """Approximate length in days, to compare periods (a year is 365.25 days)."""
    y, m, w, d = parse_duration(value)
    return y * 365.25 + m * 30.4375 + w * 7 + d


def _check_duration(value: str) -> str:
    parse_duration(value)
    return value


def _check_slug(value: str) -> str:
    if not _SLUG.match(value):
        raise ValueError(
            f"{value!r} is not an id; use lower-case letters, digits, '-' and '_' "
            "(e.g. 'job-applicant')"
        )
    return value


Duration = Annotated[str, AfterValidator(_check_duration)]
Slug = Annotated[str, AfterValidator(_check_slug)]
# Either the word `all` or an explicit list of ids/keys.
Selection = Literal["all"] | list[str]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Organization(_Model):
    name: str
    legal_name: str | None = None
    website: str | None = None
    notice_url: str | None = None


class Contact(_Model):
    email: str | None = None
    phone: str | None = None
    postal_address: str | None = None
    web_form: str | None = None
    privacy_officer: str | None = None


class Subject(_Model):
    id: Slug
    name: str
    description: str | None = None


class Source(StrEnum):
    directly = "directly"
    third_parties = "third_parties"
    automatically = "automatically"


class Originals(_Model):
    """Whether the unredacted original of what the category holds may be kept (sealed), and
    for how long: `originals: {keep: true, period: P30D}`. Read for call recordings
    (docs/recordings.md); the setting HONORBOUND_RECORDINGS_KEEP_ORIGINAL must allow it too."""

    keep: bool
    period: Duration | None = None

    @model_validator(mode="after")
    def _period_when_kept(self) -> Originals:
        if self.keep and self.period is None:
            raise ValueError(
                "originals: keep is true but no period is given; say how long originals are "
                "kept, e.g. {keep: true, period: P30D}"
            )
        return self


class Category(_Model):
    key: str
    label: str | None = None
    includes: list[str] = Field(default_factory=list)
    examples: list[str] = Field(default_factory=list)
    sources: list[Source] = Field(default_factory=lambda: [Source.directly])
    source_note: str | None = None
    sensitive: bool = False
    subjects: Selection = "all"
    note: str | None = None
    originals: Originals | None = None

    @property
    def title(self) -> str:
        return self.label or self.key


class Consent(StrEnum):
    none = "none"  # no consent asked (another basis, e.g. the service requested)
    opt_in = "opt_in"
    opt_out = "opt_out"


class Purpose(_Model):
    id: Slug
    name: str
    use: str
    categories: Selection
    subjects: Selection = "all"
    profiling: bool = False
    consent: Consent = Consent.none
    description: str | None = None

    @property
    def targeted_advertising(self) -> bool:
        return is_targeted_advertising(self.use)


class RecipientType(StrEnum):
    processor = "processor"
    service_provider = "service_provider"
    contractor = "contractor"
    advertising_partner = "advertising_partner"
    analytics_partner = "analytics_partner"
    affiliate = "affiliate"
    business_partner = "business_partner"
    authority = "authority"
    acquirer = "acquirer"
    authorized_representative = "authorized_representative"
    client = "client"
    third_party = "third_party"


class Recipient(_Model):
    id: Slug
    name: str
    type: RecipientType
    categories: Selection
    purposes: list[str] = Field(default_factory=list)
    sale: bool = False
    sharing: bool = False  # for cross-context behavioural (targeted) advertising
    consent_required: bool = False
    # The notice lets a person tell the organization not to share with this recipient
    # ("if you do not want us to share your information with these companies, contact us").
    # The guard honors such an opt-out (ledger purpose `recipient`, scope = this id) always;
    # this flag says the notice offers it, so `policy check` and the portal can show it.
    opt_out: bool = False
    examples: list[str] = Field(default_factory=list)
    description: str | None = None


class Trigger(StrEnum):
    after_last_activity = "after_last_activity"
    after_account_closure = "after_account_closure"
    after_collection = "after_collection"
    until_consent_withdrawn = "until_consent_withdrawn"
    after_engagement_end = "after_engagement_end"
    # The source only says "as long as necessary": kept so such notices can be written
    # down honestly, but `check` warns that nothing can enforce it.
    while_necessary = "while_necessary"


PERIODLESS_TRIGGERS = frozenset({Trigger.until_consent_withdrawn, Trigger.while_necessary})


class RetentionTrigger(_Model):
    trigger: Trigger
    period: Duration | None = None


class RetentionRule(_Model):
    id: Slug
    categories: Selection
    subjects: Selection = "all"
    # Any trigger ends retention: "whichever comes first".
    triggers: list[RetentionTrigger] = Field(min_length=1)
    description: str | None = None


class Right(StrEnum):
    access = "access"
    know = "know"
    correct = "correct"
    delete = "delete"
    portability = "portability"
    opt_out_sale = "opt_out_sale"
    opt_out_sharing = "opt_out_sharing"
    opt_out_targeted_advertising = "opt_out_targeted_advertising"
    opt_out_profiling = "opt_out_profiling"
    limit_sensitive = "limit_sensitive"
    withdraw_consent = "withdraw_consent"
    opt_out_marketing = "opt_out_marketing"
    non_discrimination = "non_discrimination"
    appeal = "appeal"
    third_party_marketing_disclosures = "third_party_marketing_disclosures"


class Method(StrEnum):
    email = "email"
    phone = "phone"
    postal_mail = "postal_mail"
    web_form = "web_form"
    email_unsubscribe_link = "email_unsubscribe_link"
    sms_stop = "sms_stop"
    browser_settings = "browser_settings"
    opt_out_preference_signal = "opt_out_preference_signal"
    account_settings = "account_settings"


# Which contact field a method needs.
METHOD_NEEDS_CONTACT: dict[Method, str] = {
    Method.email: "email",
    Method.phone: "phone",
    Method.postal_mail: "postal_address",
    Method.web_form: "web_form",
}


class RightsOffer(_Model):
    id: Slug
    jurisdictions: list[str] = Field(min_length=1)  # "US", "US-CA", "all", ...
    rights: list[Right] = Field(min_length=1)
    methods: list[Method] = Field(min_length=1)
    instructions: str | None = None
    verification: str | None = None
    authorized_agents: bool = False
    response_days: int | None = Field(default=None, ge=1)
    extension_days: int | None = Field(default=None, ge=0)


class Commitments(_Model):
    sells_personal_data: bool = False
    shares_for_targeted_advertising: bool = False
    sensitive_data_for_targeted_advertising: bool = False
    sensitive_data_only_for_exempt_purposes: bool = False
    statement: str | None = None


class Children(_Model):
    minimum_age: int = Field(ge=0, le=21)
    directed_to_children: bool = False
    parental_consent: bool = False
    on_discovery: Literal["delete", "stop_processing", "seek_parental_consent", "not_stated"]
    statement: str | None = None


class CallMonitoring(_Model):
    monitored: bool
    recorded: bool
    purposes: list[str] = Field(default_factory=list)  # purpose ids
    statement: str | None = None


class Cookies(_Model):
    used: bool
    third_party: bool = False
    honors_opt_out_preference_signal: bool = False
    statement: str | None = None
    choices: str | None = None


class UnsubscribeScope(StrEnum):
    sender = "sender"  # one unsubscribe stops that kind of email from every list of ours
    list = "list"  # each list is independent: an unsubscribe stops that list only


class EmailLists(_Model):
    """What an unsubscribe from one of our mailing lists covers. CAN-SPAM's opt-out is per
    sender (15 U.S.C. 7704(a)(4)), and most notices promise "unsubscribe from our emails", so
    the default is `sender`: the same purpose stops on every list. Say `list` only when the
    notice tells people each list is unsubscribed on its own."""

    unsubscribe_scope: UnsubscribeScope = UnsubscribeScope.sender
    statement: str | None = None


class Conversations(_Model):
    """What Honorbound does with an opt-out a customer says in a call or chat ingested through
    the API (honorbound.intents). Not rendered in the notice. `apply` (the default, also when
    the section is left out): recorded at once, as the FCC's "any reasonable means" expects;
    `review`: queued for staff to confirm or dismiss."""

    opt_outs: Literal["apply", "review"] = "apply"


class Statement(_Model):
    statement: str


class Breach(_Model):
    notify_individuals: bool
    statement: str | None = None


class ChangeMethod(StrEnum):
    post_on_website = "post_on_website"
    email = "email"
    notice_on_website = "notice_on_website"
    other = "other"


class Changes(_Model):
    methods: list[ChangeMethod] = Field(min_length=1)
    notify_material_changes: bool = False
    consent_for_past_data: bool = False
    statement: str | None = None


_STATE_CODE = re.compile(r"^[A-Z]{2}$")


def _check_state_counts(value: dict[str, int]) -> dict[str, int]:
    for code, count in value.items():
        if not _STATE_CODE.match(code):
            raise ValueError(f"{code!r} is not a state code; write two capital letters like 'CA'")
        if count < 0:
            raise ValueError(f"the number for {code} is negative; give a count of people")
    return value


def _check_states(value: list[str]) -> list[str]:
    for code in value:
        if not _STATE_CODE.match(code):
            raise ValueError(f"{code!r} is not a state code; write two capital letters like 'CA'")
    return value


StateCounts = Annotated[dict[str, int], AfterValidator(_check_state_counts)]
StateCodes = Annotated[list[str], AfterValidator(_check_states)]


class Applicability(_Model):
    """Facts about the organization that decide which laws apply to it, and its choice for
    people whose state is unknown. Not shown in the rendered notice. Consumer counts are per
    state and calendar year; a missing count is "not declared" (a law then "may apply")."""

    consumers_by_state: StateCounts = Field(default_factory=dict)
    sensitive_consumers_by_state: StateCounts = Field(default_factory=dict)
    sale_consumers_by_state: StateCounts = Field(default_factory=dict)
    annual_revenue_usd: int | None = Field(default=None, ge=0)
    sale_revenue_percent: float | None = Field(default=None, ge=0, le=100)
    employees: int | None = Field(default=None, ge=0)
    small_business: bool | None = None  # as the U.S. Small Business Administration defines it
    nonprofit: bool | None = None
    automated_decisions: bool | None = None  # ADMT used for significant decisions
    # Whose rules apply to a person whose state is unknown (or has no law in force): the
    # strictest of the states the notice covers (`covered`), of every state (`all`), or of the
    # covered states plus these.
    unknown_state: Literal["covered", "all"] | StateCodes = "covered"
    note: str | None = None


class Section(_Model):
    title: str
    text: str


class NamedText(_Model):
    """Another language's name and description of a subject type, purpose or recipient."""

    name: str | None = None
    description: str | None = None


class CategoryText(_Model):
    label: str | None = None
    examples: list[str] | None = None
    source_note: str | None = None
    note: str | None = None


class DescriptionText(_Model):
    description: str | None = None


class OfferText(_Model):
    instructions: str | None = None
    verification: str | None = None


class StatementText(_Model):
    statement: str | None = None


class CookiesText(_Model):
    statement: str | None = None
    choices: str | None = None


class OrganizationText(_Model):
    name: str | None = None
    legal_name: str | None = None


class ContactText(_Model):
    postal_address: str | None = None
    privacy_officer: str | None = None


class SectionText(_Model):
    title: str | None = None
    text: str | None = None


class LanguageTexts(_Model):
    """The organization's own texts in another language, by the id of what they translate
    (a category by its key, a section by its title as written). What is left out is shown as
    written, marked as being in the declaration's language; nothing is machine-translated.
    `check` refuses ids the declaration does not have (policy/translations.py)."""

    title: str | None = None
    introduction: str | None = None
    organization: OrganizationText | None = None
    contact: ContactText | None = None
    subjects: dict[str, NamedText] = Field(default_factory=dict)
    categories: dict[str, CategoryText] = Field(default_factory=dict)
    purposes: dict[str, NamedText] = Field(default_factory=dict)
    recipients: dict[str, NamedText] = Field(default_factory=dict)
    retention: dict[str, DescriptionText] = Field(default_factory=dict)
    rights: dict[str, OfferText] = Field(default_factory=dict)
    commitments: StatementText | None = None
    children: StatementText | None = None
    call_monitoring: StatementText | None = None
    cookies: CookiesText | None = None
    email_lists: StatementText | None = None
    security: StatementText | None = None
    breach: StatementText | None = None
    changes: StatementText | None = None
    sections: dict[str, SectionText] = Field(default_factory=dict)


class Declaration(_Model):
    schema_id: str = Field(alias="schema")
    organization: Organization
    contact: Contact
    effective_date: dt.date
    title: str = DEFAULT_TITLE  # the product's words when left out (in the catalog)
    language: str = "en"
    introduction: str | None = None
    subjects: list[Subject] = Field(min_length=1)
    categories: list[Category] = Field(min_length=1)
    purposes: list[Purpose] = Field(min_length=1)
    recipients: list[Recipient] = Field(default_factory=list)
    retention: list[RetentionRule] = Field(default_factory=list)
    rights: list[RightsOffer] = Field(default_factory=list)
    commitments: Commitments = Field(default_factory=Commitments)
    children: Children
    call_monitoring: CallMonitoring | None = None
    cookies: Cookies | None = None
    email_lists: EmailLists | None = None  # None: the default, an unsubscribe is sender-wide
    conversations: Conversations | None = None  # None: opt-outs said in calls apply at once
    security: Statement | None = None
    breach: Breach | None = None
    changes: Changes
    sections: list[Section] = Field(default_factory=list)
    applicability: Applicability | None = None
    # The organization's texts in other languages (`es:`), for the portal and rendered notice.
    translations: dict[str, LanguageTexts] = Field(default_factory=dict)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    # --- questions other parts ask ---------------------------------------------------------

    def category(self, key: str) -> Category | None:
        """The declared category that covers a taxonomy key.

        Exact key first, then a category that lists the key in `includes`, then the nearest
        declared ancestor (`user.contact` covers `user.contact.email`).
        """
        for cat in self.categories:
            if cat.key == key:
                return cat
        for cat in self.categories:
            if any(is_within(key, inc) for inc in cat.includes):
                return cat
        best: Category | None = None
        for cat in self.categories:
            if is_within(key, cat.key) and (best is None or len(cat.key) > len(best.key)):
                best = cat
        return best

    def is_sensitive(self, key: str) -> bool:
        cat = self.category(key)
        return cat is not None and cat.sensitive

    def subject(self, subject_id: str) -> Subject | None:
        return next((s for s in self.subjects if s.id == subject_id), None)

    def purpose(self, purpose_id: str) -> Purpose | None:
        return next((p for p in self.purposes if p.id == purpose_id), None)

    def recipient(self, recipient_id: str) -> Recipient | None:
        return next((r for r in self.recipients if r.id == recipient_id), None)

    def category_keys(self, selection: Selection) -> list[str]:
        return [c.key for c in self.categories] if selection == "all" else list(selection)

    def subject_ids(self, selection: Selection) -> list[str]:
        return [s.id for s in self.subjects] if selection == "all" else list(selection)

    def subjects_for(self, key: str) -> list[str]:
        cat = self.category(key)
        return [] if cat is None else self.subject_ids(cat.subjects)

    def purposes_for(self, key: str, subject_type: str | None = None) -> list[Purpose]:
        """Purposes declared for the category covering `key` (optionally for one subject type)."""
        cat = self.category(key)
        if cat is None:
            return []
        return [
            p
            for p in self.purposes
            if cat.key in self.category_keys(p.categories)
            and (subject_type is None or subject_type in self.subject_ids(p.subjects))
        ]

    def recipients_for(self, key: str) -> list[Recipient]:
        cat = self.category(key)
        if cat is None:
            return []
        return [r for r in self.recipients if cat.key in self.category_keys(r.categories)]

    def retention_rules_for(self, key: str, subject_type: str) -> list[RetentionRule]:
        """Rules covering category x subject type; `check` makes sure there is exactly one."""
        cat = self.category(key)
        if cat is None:
            return []
        return [
            r
            for r in self.retention
            if cat.key in self.category_keys(r.categories)
            and subject_type in self.subject_ids(r.subjects)
        ]

    def rights_for(self, jurisdiction: str) -> list[RightsOffer]:
        """Offers that apply to a jurisdiction such as `US-CA` (an offer for `US` applies too)."""
        return [
            o
            for o in self.rights
            if any(
                j == "all" or jurisdiction == j or jurisdiction.startswith(j + "-")
                for j in o.jurisdictions
            )
        ]

    def covered_states(self) -> frozenset[str] | None:
        """The US states the rights offers name (`US-CA` -> `CA`); None when the notice covers
        every state (`all`, `US`, or no offer at all). A person whose state is unknown is held
        to the strictest rule among these."""
        states: set[str] = set()
        for offer in self.rights:
            for where in offer.jurisdictions:
                if where in ("all", "US"):
                    return None
                if where.startswith("US-") and len(where) == 5:
                    states.add(where[3:].upper())
        return frozenset(states) if states else None

    def unknown_state_scope(self) -> frozenset[str] | None:
        """The states whose strictest rules apply to a person whose state is unknown or has no
        law in force: the covered states, plus those `applicability.unknown_state` adds; None:
        every state."""
        choice = self.applicability.unknown_state if self.applicability else "covered"
        covered = self.covered_states()
        if choice == "all" or covered is None:
            return None
        if choice == "covered":
            return covered
        return covered | frozenset(choice)

    @property
    def minimum_age(self) -> int:
        return self.children.minimum_age

    @property
    def sells(self) -> bool:
        """True when the notice says it sells, or any recipient is marked as a sale."""
        return self.commitments.sells_personal_data or any(r.sale for r in self.recipients)

    @property
    def shares(self) -> bool:
        """True when personal data is shared for cross-context behavioural advertising."""
        return self.commitments.shares_for_targeted_advertising or any(
            r.sharing for r in self.recipients
        )

    def targeted_advertising_for(self, key: str) -> bool:
        cat = self.category(key)
        if cat is None:
            return False
        return any(p.targeted_advertising for p in self.purposes_for(key)) or any(
            r.sharing for r in self.recipients_for(key)
        )

    def profiling_for(self, key: str) -> bool:
        return any(p.profiling for p in self.purposes_for(key))

    def sold(self, key: str) -> bool:
        return any(r.sale for r in self.recipients_for(key))
