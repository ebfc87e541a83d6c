"""The guard every use and export passes: may these subjects' data of these categories go to
this recipient (or be used by the organization itself, recipient None) for this purpose? It
answers per subject, per category and per record, with reasons. docs/guarantees.md states the
rules in plain words; tests/conformance checks them with an interpreter of its own.

Refusals of the whole disclosure (the current notice does not declare the recipient, the
purpose, the purpose for that recipient, the basis, or promises no sale / no sharing) stop
everything. Refusals of one category (not declared for the recipient or the purpose) drop the
category. Refusals of one subject (a type the purpose does not cover, an opt-out of sale,
sharing, marketing, profiling or this recipient, a minor, no consent where the recipient needs
it, erased or unknown) drop the subject; a subject who limited the use of their sensitive data
keeps the other categories. Refusals of one record: data is used only as the notice it was
collected under allows (the same checks against that version), unless the person consented
to this recipient (or, for own use, this purpose) since.

Choices are read from the consent ledger, latest event first. Only choices about use and
disclosure count: events on channel `all` (a web form, GPC, a rights request, staff). An
opt-out of one channel or sender (SMS STOP, an email unsubscribe) stops that contact and
nothing else (CTIA; TCPA revocation scope). Ages come from the vault; who counts as a minor for
sale and sharing, per state, from the runtime's jurisdiction rules.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from honorbound.consent import ledger
from honorbound.consent.models import Action, ConsentChannel, ConsentEvent
from honorbound.consent.models import Purpose as ConsentPurpose
from honorbound.disclosures.models import Basis
from honorbound.policy.jurisdictions import Activity, JurisdictionRules
from honorbound.policy.models import PolicyVersion
from honorbound.policy.schema import Declaration, Purpose, Recipient, RecipientType
from honorbound.policy.store import AdoptedPolicy, get_version, purpose_allowed
from honorbound.policy.taxonomy import is_within
from honorbound.vault.keystore import KeyDestroyed, KeyStore
from honorbound.vault.models import Identity, Record, Subject, SubjectStatus
from honorbound.vault.subjects import subject_age

# Emails and phone numbers held as identities count as these categories.
IDENTITY_CATEGORIES = {"email": "user.contact.email", "phone": "user.contact.phone"}


class Refusal(StrEnum):
    RECIPIENT_NOT_DECLARED = "recipient_not_declared"
    PURPOSE_NOT_DECLARED = "purpose_not_declared_for_recipient"
    CATEGORY_NOT_DECLARED = "category_not_declared_for_recipient"
    CATEGORY_NOT_FOR_PURPOSE = "category_not_declared_for_purpose"
    NOTICE_SAYS_NO_SALE = "notice_says_no_sale"
    NOTICE_SAYS_NO_SHARING = "notice_says_no_sharing"
    BASIS_NOT_DECLARED = "basis_not_declared_for_recipient"
    BASIS_REQUIRED = "basis_required"
    SUBJECT_TYPE_NOT_COVERED = "subject_type_not_covered_by_purpose"
    OPTED_OUT_OF_SALE = "subject_opted_out_of_sale"
    OPTED_OUT_OF_SHARING = "subject_opted_out_of_sharing"
    OPTED_OUT_OF_MARKETING = "subject_opted_out_of_marketing"
    OPTED_OUT_OF_PROFILING = "subject_opted_out_of_profiling"
    OPTED_OUT_OF_RECIPIENT = "subject_opted_out_of_this_recipient"
    OPTED_OUT_OF_PURPOSE = "subject_opted_out_of_this_purpose"
    NO_CONSENT = "recipient_needs_consent_none_recorded"
    MINOR = "subject_is_a_minor"
    LIMITED_SENSITIVE = "subject_limited_sensitive_data"
    SUBJECT_UNKNOWN = "subject_unknown_or_erased"
    COLLECTED_UNDER_EARLIER_NOTICE = "not_allowed_by_notice_at_collection"


@dataclass(frozen=True)
class Reason:
    code: Refusal
    message: str
    subject_id: int | None = None
    category: str | None = None
    record_id: int | None = None


@dataclass
class DisclosureCheck:
    recipient: Recipient | None
    basis: Basis | None
    purpose: str
    categories: list[str]  # what was asked for
    allowed: dict[int, list[str]] = field(default_factory=dict)  # subject -> categories
    reasons: list[Reason] = field(default_factory=list)
    # Records (and identities, as `identity:<id>`) of allowed subjects and categories that may
    # not go all the same: collected under a notice that did not allow this.
    excluded: set[str] = field(default_factory=set)
    own_use: bool = False

    @property
    def blocked(self) -> bool:
        """True when nothing at all may go (a refusal for the whole disclosure)."""
        return any(r.subject_id is None and r.category is None for r in self.reasons)

    @property
    def ok(self) -> bool:
        """True when everything asked for may go."""
        return not self.reasons

    def reasons_for(self, subject_id: int) -> list[Reason]:
        return [r for r in self.reasons if r.subject_id == subject_id]


_CONSENT_TYPES = frozenset(
    {
        RecipientType.third_party,
        RecipientType.business_partner,
        RecipientType.authorized_representative,
    }
)
_ADVERTISING_TYPES = frozenset({RecipientType.advertising_partner, RecipientType.analytics_partner})


def default_basis(recipient: Recipient, declaration: Declaration, purpose: str) -> Basis | None:
    """The basis a declared recipient implies, when the caller names none; None when nothing
    can be assumed (an advertising or analytics partner not marked as a sale or sharing,
    outside targeted advertising: the contract decides, so the caller must say)."""
    if recipient.sale:
        return Basis.SALE
    if recipient.sharing:
        return Basis.SHARING
    if recipient.type in _ADVERTISING_TYPES:
        declared = declaration.purpose(purpose)
        if declared is not None and declared.targeted_advertising:
            return Basis.SHARING
        return None
    if recipient.consent_required or recipient.type in _CONSENT_TYPES:
        return Basis.CONSENT
    return {
        RecipientType.affiliate: Basis.AFFILIATE,
        RecipientType.authority: Basis.LEGAL_PROCESS,
        RecipientType.acquirer: Basis.CORPORATE_TRANSACTION,
    }.get(recipient.type, Basis.SERVICE_PROVIDER)


def minor_age_limit(rules: JurisdictionRules, jurisdiction: str | None, activity: Activity) -> int:
    """Below this age a subject is a minor for `activity` in that state. Unknown or non-US
    states get the strictest limit any state sets (nobody can say the stricter one does not
    apply)."""
    states = [rules.states[jurisdiction]] if jurisdiction in rules.states else rules.states.values()
    limits = [
        r.under
        for state in states
        for r in state.minors
        if r.activities is None or activity in r.activities
        if r.requirement != "unspecified"
    ]
    return max(limits, default=0)


# Ledger purposes read by the guard, and which choice each one expresses. `all` on channel
# `all` ("revoke everything") is an opt-out of every use below.
_CHOICES = {
    "sale": (ConsentPurpose.SALE,),
    "sharing": (ConsentPurpose.SHARING, ConsentPurpose.TARGETED_ADVERTISING),
    "sensitive": (ConsentPurpose.SENSITIVE_DATA_USE,),
    "marketing": (ConsentPurpose.MARKETING,),
    "profiling": (ConsentPurpose.PROFILING,),
}


@dataclass
class Choices:
    """One subject's current choices about use and disclosure (channel `all` only)."""

    opted_out: set[str] = field(default_factory=set)  # sale, sharing, sensitive, ...
    recipients: dict[str, str] = field(default_factory=dict)  # recipient id -> action
    purposes: dict[str, str] = field(default_factory=dict)  # declared purpose id -> action


def choices(
    session: Session, organization_id: int, subject_ids: Sequence[int]
) -> dict[int, Choices]:
    """Per subject, the latest choice (by when it was made: `ledger.precedence`) of each kind
    the guard reads."""
    if not subject_ids:
        return {}
    indexes: dict[str, int] = {
        index: subject
        for index, subject in session.execute(
            select(Identity.blind_index, Identity.subject_id).where(
                Identity.organization_id == organization_id,
                Identity.subject_id.in_(list(subject_ids)),
            )
        )
    }
    wanted = {p.value for group in _CHOICES.values() for p in group} | {
        ConsentPurpose.ALL.value,
        ConsentPurpose.RECIPIENT.value,
        ConsentPurpose.DECLARED_PURPOSE.value,
    }
    events = session.scalars(
        select(ConsentEvent)
        .where(
            ConsentEvent.organization_id == organization_id,
            ConsentEvent.channel == ConsentChannel.ALL.value,
            ConsentEvent.purpose.in_(wanted),
            or_(
                ConsentEvent.subject_id.in_(list(subject_ids)),
                ConsentEvent.identity_index.in_(list(indexes)),
            ),
        )
        .order_by(ConsentEvent.id)
    )
    latest: dict[tuple[int, str], str] = {}
    out: dict[int, Choices] = {}
    wanted_ids = set(subject_ids)
    # Choices override each other in the order they were made, not recorded (a late import
    # of an old opt-in never lifts a newer opt-out): ledger.precedence.
    for event in sorted(events, key=ledger.precedence):
        subject = (
            event.subject_id
            if event.subject_id in wanted_ids
            else indexes.get(event.identity_index)
        )
        if subject is None:
            continue
        mine = out.setdefault(subject, Choices())
        if event.purpose == ConsentPurpose.RECIPIENT.value:
            mine.recipients[event.scope] = event.action
        elif event.purpose == ConsentPurpose.DECLARED_PURPOSE.value:
            mine.purposes[event.scope] = event.action
        elif event.scope == "":
            for name, purposes in _CHOICES.items():
                if event.purpose in purposes or event.purpose == ConsentPurpose.ALL.value:
                    latest[(subject, name)] = event.action
    for (subject, name), action in latest.items():
        if action == Action.OPT_OUT.value:
            out[subject].opted_out.add(name)
    return out


def opted_out(
    session: Session, organization_id: int, subject_ids: Sequence[int]
) -> dict[int, set[str]]:
    """Per subject, which of `sale`, `sharing`, `sensitive`, `marketing`, `profiling` they
    currently opt out of."""
    return {s: c.opted_out for s, c in choices(session, organization_id, subject_ids).items()}


def _notice_refusal(
    declaration: Declaration,
    recipient_id: str | None,
    purpose_id: str,
    basis: Basis | None,
    category: str,
    subject_type: str,
) -> tuple[Refusal, str] | None:
    """Does this notice allow data of `category` about a person of `subject_type` to go to
    `recipient_id` (None: the organization's own use) for `purpose_id` on `basis`? The
    notice-level checks, asked of the current notice and of the one the data came under."""
    purpose = declaration.purpose(purpose_id)
    if purpose is None:
        return Refusal.PURPOSE_NOT_DECLARED, f"purpose '{purpose_id}' is not declared"
    cat = declaration.category(category)
    if cat is None or cat.key not in declaration.category_keys(purpose.categories):
        return (
            Refusal.CATEGORY_NOT_FOR_PURPOSE,
            f"category '{category}' is not declared for purpose '{purpose_id}'",
        )
    if subject_type not in declaration.subject_ids(purpose.subjects):
        return (
            Refusal.SUBJECT_TYPE_NOT_COVERED,
            f"purpose '{purpose_id}' does not cover people of type '{subject_type}'",
        )
    if recipient_id is None:
        return None
    recipient = declaration.recipient(recipient_id)
    if recipient is None:
        return Refusal.RECIPIENT_NOT_DECLARED, f"recipient '{recipient_id}' is not declared"
    if not _accepts(recipient, purpose_id):
        return (
            Refusal.PURPOSE_NOT_DECLARED,
            f"purpose '{purpose_id}' is not declared for recipient '{recipient_id}'",
        )
    if cat.key not in declaration.category_keys(recipient.categories):
        return (
            Refusal.CATEGORY_NOT_DECLARED,
            f"category '{category}' is not declared for recipient '{recipient_id}'",
        )
    return _basis_refusal(declaration, recipient, basis)


def _accepts(recipient: Recipient, purpose_id: str) -> bool:
    """A recipient receives data only for the purposes the notice lists for it. One exception:
    an authority listing none receives what legal process compels, for any declared purpose
    (the basis is then `legal_process`, which needs a reference)."""
    if recipient.purposes:
        return purpose_id in recipient.purposes
    return recipient.type == RecipientType.authority


def _basis_refusal(
    declaration: Declaration, recipient: Recipient, basis: Basis | None
) -> tuple[Refusal, str] | None:
    """Sale and sharing: declared for the recipient, and promised by the notice."""
    recipient_id = recipient.id
    if (basis == Basis.SALE or recipient.sale) and not declaration.commitments.sells_personal_data:
        return Refusal.NOTICE_SAYS_NO_SALE, "the notice says personal data is not sold"
    if (
        basis == Basis.SHARING or recipient.sharing
    ) and not declaration.commitments.shares_for_targeted_advertising:
        return (
            Refusal.NOTICE_SAYS_NO_SHARING,
            "the notice says personal data is not shared for cross-context behavioural advertising",
        )
    if (basis == Basis.SALE and not recipient.sale) or (
        basis == Basis.SHARING and not recipient.sharing
    ):
        return (
            Refusal.BASIS_NOT_DECLARED,
            f"recipient '{recipient_id}' is not declared as a recipient of a {basis.value}",
        )
    return None


def _version_at(versions: list[PolicyVersion], at: dt.datetime) -> int | None:
    """The version in force at `at` (the newest adopted at or before it)."""
    found = None
    for row in versions:
        if row.adopted_at <= at:
            found = row.id
    return found


def check_disclosure(
    session: Session,
    keys: KeyStore,
    rules: JurisdictionRules,
    organization_id: int,
    policy: AdoptedPolicy,
    subjects: Sequence[int],
    recipient: str | None,
    categories: Sequence[str],
    purpose: str,
    basis: Basis | None = None,
    today: dt.date | None = None,
) -> DisclosureCheck:
    """Allow or refuse, per subject, category and record, with reasons. `recipient` None asks
    about the organization's own use for `purpose`. Reads only; writes nothing.

    In named steps, as the module docstring orders the refusals: the whole disclosure
    (`_whole_refusal`), each category (`_usable_categories`), then per subject its own
    refusals (`_subject_refusals`), a limit on sensitive data, and each record against the
    notice it was collected under (`_record_checks`)."""
    declaration = policy.declaration
    declared = declaration.recipient(recipient) if recipient is not None else None
    check = DisclosureCheck(declared, basis, purpose, list(categories), own_use=recipient is None)
    declared_purpose = declaration.purpose(purpose)
    whole = _whole_refusal(declaration, declared, declared_purpose, recipient, purpose, basis)
    if isinstance(whole, tuple):
        check.reasons.append(Reason(*whole))
        check.allowed = {}
        return check
    assert declared_purpose is not None  # a missing purpose is a whole refusal
    basis = check.basis = whole
    usable = _usable_categories(
        check, declaration, declared, declared_purpose, recipient, categories
    )
    if not usable:
        return check
    ctx = _SubjectCheck(
        session=session,
        keys=keys,
        rules=rules,
        organization_id=organization_id,
        policy=policy,
        declared=declared,
        declared_purpose=declared_purpose,
        recipient=recipient,
        purpose=purpose,
        basis=basis,
        usable=usable,
        today=today or dt.date.today(),
    )
    ids = list(dict.fromkeys(subjects))
    rows = {
        s.id: s
        for s in session.scalars(
            select(Subject).where(Subject.organization_id == organization_id, Subject.id.in_(ids))
        )
    }
    said_by = choices(session, organization_id, ids)
    for subject_id in ids:
        subject = rows.get(subject_id)
        if subject is None or subject.status == SubjectStatus.ERASED.value:
            check.reasons.append(
                Reason(
                    Refusal.SUBJECT_UNKNOWN,
                    "no such subject in this organization, or erased",
                    subject_id,
                )
            )
            continue
        final = _check_subject(ctx, check, subject, said_by.get(subject_id, Choices()))
        if final:
            check.allowed[subject_id] = final
    return check


def _whole_refusal(
    declaration: Declaration,
    declared: Recipient | None,
    declared_purpose: Purpose | None,
    recipient: str | None,
    purpose: str,
    basis: Basis | None,
) -> tuple[Refusal, str] | Basis | None:
    """A refusal of the whole disclosure, or else its basis (None for own use)."""
    if recipient is not None:
        if declared is None:
            known = ", ".join(r.id for r in declaration.recipients) or "none"
            return (
                Refusal.RECIPIENT_NOT_DECLARED,
                f"recipient '{recipient}' is not declared in the notice (declared: {known})",
            )
        if not _accepts(declared, purpose):
            listed = ", ".join(declared.purposes) or "none: it may receive nothing"
            return (
                Refusal.PURPOSE_NOT_DECLARED,
                f"purpose '{purpose}' is not declared for recipient '{recipient}' "
                f"(declared: {listed})",
            )
    if declared_purpose is None:
        return Refusal.PURPOSE_NOT_DECLARED, f"purpose '{purpose}' is not declared in the notice"
    if declared is None:
        return basis
    basis = basis or default_basis(declared, declaration, purpose)
    if basis is None:
        return (
            Refusal.BASIS_REQUIRED,
            f"recipient '{recipient}' is a {declared.type.value} not marked as a sale or "
            "sharing: name the basis of this disclosure (Honorbound does not assume "
            "service_provider)",
        )
    return _basis_refusal(declaration, declared, basis) or basis


def _usable_categories(
    check: DisclosureCheck,
    declaration: Declaration,
    declared: Recipient | None,
    declared_purpose: Purpose,
    recipient: str | None,
    categories: Sequence[str],
) -> list[str]:
    """The categories declared for the recipient and the purpose; a reason for each other."""
    purpose = check.purpose
    recipient_keys = set(declaration.category_keys(declared.categories)) if declared else None
    purpose_keys = set(declaration.category_keys(declared_purpose.categories))
    usable: list[str] = []
    for key in categories:
        cat = declaration.category(key)
        if recipient_keys is not None and (cat is None or cat.key not in recipient_keys):
            check.reasons.append(
                Reason(
                    Refusal.CATEGORY_NOT_DECLARED,
                    f"category '{key}' is not declared for recipient '{recipient}'",
                    category=key,
                )
            )
        elif cat is None or cat.key not in purpose_keys:
            check.reasons.append(
                Reason(
                    Refusal.CATEGORY_NOT_FOR_PURPOSE,
                    f"category '{key}' is not declared for purpose '{purpose}'",
                    category=key,
                )
            )
        else:
            usable.append(key)
    return usable


@dataclass
class _SubjectCheck:
    """What every subject of one disclosure check is checked against."""

    session: Session
    keys: KeyStore
    rules: JurisdictionRules
    organization_id: int
    policy: AdoptedPolicy
    declared: Recipient | None
    declared_purpose: Purpose
    recipient: str | None
    purpose: str
    basis: Basis | None
    usable: list[str]
    today: dt.date
    _versions: list[PolicyVersion] | None = None
    _older: dict[int | None, Declaration | None] = field(default_factory=dict)

    @property
    def declaration(self) -> Declaration:
        return self.policy.declaration

    @property
    def selling(self) -> bool:
        return self.declared is not None and (self.basis == Basis.SALE or self.declared.sale)

    @property
    def sharing(self) -> bool:
        return self.declared is not None and (self.basis == Basis.SHARING or self.declared.sharing)

    @property
    def sensitive(self) -> set[str]:
        return {k for k in self.usable if self.declaration.is_sensitive(k)}

    @property
    def versions(self) -> list[PolicyVersion]:
        if self._versions is None:
            self._versions = list(
                self.session.scalars(
                    select(PolicyVersion)
                    .where(PolicyVersion.organization_id == self.organization_id)
                    .order_by(PolicyVersion.number)
                )
            )
        return self._versions

    def notice(self, version_id: int | None) -> Declaration | None:
        """The declaration of an earlier notice version (cached)."""
        if version_id not in self._older:
            found = (
                None
                if version_id is None
                else get_version(self.session, self.organization_id, version_id)
            )
            self._older[version_id] = found.declaration if found else None
        return self._older[version_id]

    def consented(self, said: Choices) -> bool:
        """The person opted in to this recipient (own use: to this purpose)."""
        if self.recipient is not None:
            return said.recipients.get(self.recipient) == Action.OPT_IN.value
        return said.purposes.get(self.purpose) == Action.OPT_IN.value


def _check_subject(
    ctx: _SubjectCheck, check: DisclosureCheck, subject: Subject, said: Choices
) -> list[str]:
    """The categories that may go for this subject (adding the reasons for the others)."""
    refusals = _subject_refusals(ctx, subject, said)
    if refusals:
        check.reasons.extend(refusals)
        return []
    allowed = list(ctx.usable)
    sensitive = ctx.sensitive
    if sensitive and "sensitive" in said.opted_out:
        allowed = [k for k in ctx.usable if k not in sensitive]
        check.reasons.extend(
            Reason(
                Refusal.LIMITED_SENSITIVE,
                "the subject limited the use of their sensitive data",
                subject.id,
                key,
            )
            for key in sorted(sensitive)
        )
    if not allowed:
        return []
    return _record_checks(ctx, check, subject, allowed, ctx.consented(said))


def _subject_refusals(ctx: _SubjectCheck, subject: Subject, said: Choices) -> list[Reason]:
    """Refusals of one subject: a type the purpose does not cover, an opt-out, no consent
    where the recipient needs it, a minor for a sale or sharing."""
    refusals: list[Reason] = []

    def refuse(code: Refusal, message: str) -> None:
        refusals.append(Reason(code, message, subject.id))

    declaration, declared_purpose = ctx.declaration, ctx.declared_purpose
    recipient, purpose = ctx.recipient, ctx.purpose
    selling, sharing = ctx.selling, ctx.sharing
    if subject.type not in declaration.subject_ids(declared_purpose.subjects):
        refuse(
            Refusal.SUBJECT_TYPE_NOT_COVERED,
            f"purpose '{purpose}' does not cover people of type '{subject.type}'",
        )
    if selling and "sale" in said.opted_out:
        refuse(Refusal.OPTED_OUT_OF_SALE, "the subject opted out of sale")
    if (sharing or declared_purpose.targeted_advertising) and "sharing" in said.opted_out:
        refuse(Refusal.OPTED_OUT_OF_SHARING, "the subject opted out of sharing")
    if is_within(declared_purpose.use, "marketing") and "marketing" in said.opted_out:
        refuse(Refusal.OPTED_OUT_OF_MARKETING, "the subject opted out of marketing")
    if declared_purpose.profiling and "profiling" in said.opted_out:
        refuse(Refusal.OPTED_OUT_OF_PROFILING, "the subject opted out of profiling")
    if said.purposes.get(purpose) == Action.OPT_OUT.value:
        refuse(Refusal.OPTED_OUT_OF_PURPOSE, f"the subject opted out of '{purpose}'")
    if recipient is not None and said.recipients.get(recipient) == Action.OPT_OUT.value:
        refuse(
            Refusal.OPTED_OUT_OF_RECIPIENT,
            f"the subject asked us not to share with '{recipient}'",
        )
    if ctx.declared is not None and ctx.declared.consent_required and not ctx.consented(said):
        refuse(
            Refusal.NO_CONSENT,
            f"recipient '{recipient}' receives data only with consent, and none is recorded",
        )
    if selling or sharing:
        try:
            age = subject_age(ctx.keys, subject, ctx.today)
        except KeyDestroyed:
            age = None
        activity = Activity.sale if selling else Activity.sharing
        if age is not None and age < minor_age_limit(ctx.rules, subject.jurisdiction, activity):
            refuse(Refusal.MINOR, f"the subject is a minor for {activity.value} in their state")
    return refusals


def _record_checks(
    ctx: _SubjectCheck,
    check: DisclosureCheck,
    subject: Subject,
    allowed: list[str],
    consented: bool,
) -> list[str]:
    """Each value against the notice it was collected under, unless consent since: the
    allowed categories that keep at least one value (or hold none)."""
    session, organization_id, declaration = ctx.session, ctx.organization_id, ctx.declaration
    kept: set[str] = set()
    items: list[tuple[str, str, int | None, int | None]] = [
        (f"record:{r.id}", r.category, r.policy_version_id, r.id)
        for r in session.scalars(
            select(Record).where(
                Record.organization_id == organization_id, Record.subject_id == subject.id
            )
        )
    ] + [
        (
            f"identity:{i.id}",
            IDENTITY_CATEGORIES[i.kind],
            _version_at(ctx.versions, i.created_at),
            None,
        )
        for i in session.scalars(select(Identity).where(Identity.subject_id == subject.id))
        if i.kind in IDENTITY_CATEGORIES
    ]
    for ref, category, version_id, record_id in items:
        wanted = next((w for w in allowed if covers(declaration, w, category)), None)
        if wanted is None:
            continue
        if version_id == ctx.policy.version_id or consented:
            kept.add(wanted)
            continue
        refusal = _earlier_notice_refusal(ctx, subject, category, version_id, record_id)
        if refusal is None:
            kept.add(wanted)
            continue
        check.excluded.add(ref)
        check.reasons.append(
            Reason(
                Refusal.COLLECTED_UNDER_EARLIER_NOTICE,
                "collected under a notice version that did not allow this "
                f"({refusal[1]}); it needs the person's consent",
                subject.id,
                category,
                record_id,
            )
        )
    return [k for k in allowed if k in kept or not _held(items, declaration, k)]


def _earlier_notice_refusal(
    ctx: _SubjectCheck,
    subject: Subject,
    category: str,
    version_id: int | None,
    record_id: int | None,
) -> tuple[Refusal, str] | None:
    """Would the notice version a value was collected under refuse this disclosure?"""
    old = ctx.notice(version_id)
    if old is None:
        return Refusal.COLLECTED_UNDER_EARLIER_NOTICE, "collected under no notice"
    refusal = _notice_refusal(old, ctx.recipient, ctx.purpose, ctx.basis, category, subject.type)
    if refusal is None and ctx.recipient is None:
        # Own use: the same question `policy.store.purpose_allowed` answers.
        row = ctx.session.get(Record, record_id) if record_id is not None else None
        if row is not None and not purpose_allowed(ctx.session, row, ctx.purpose):
            refusal = (Refusal.COLLECTED_UNDER_EARLIER_NOTICE, "purpose not declared")
    return refusal


def covers(declaration: Declaration, wanted: str, key: str) -> bool:
    """Does asking for category `wanted` cover a value stored under `key`?"""
    if key == wanted or key.startswith(wanted + "."):
        return True
    cat = declaration.category(key)
    return cat is not None and cat.key == wanted


def _held(
    items: list[tuple[str, str, int | None, int | None]], declaration: Declaration, wanted: str
) -> bool:
    return any(covers(declaration, wanted, category) for _, category, _, _ in items)
