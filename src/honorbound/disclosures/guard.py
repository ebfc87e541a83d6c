"""The guard every export path passes: may these subjects' data of these categories go to this
recipient for this purpose? It answers per subject and per category, with reasons.

Refusals that concern the whole disclosure (recipient not declared, purpose not declared for
it, the notice promises no sale or no sharing) stop everything. Refusals that concern one
category (not declared for that recipient) drop the category. Refusals that concern one subject
(opted out of sale or sharing, a minor, erased or unknown) drop the subject; a subject who
limited the use of their sensitive data keeps the other categories.

Opt-outs are read from the consent ledger (purposes `sale`, `sharing`, `targeted_advertising`,
`sensitive_data_use` and `all`): the latest event of those purposes, on any channel, decides
(an opt-out on any channel counts: the conservative reading). Ages come from the vault; minors'
rules (who counts as a minor for sale and sharing, per state) from the jurisdiction rules data.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from honorbound.consent import ledger
from honorbound.consent.models import Action, ConsentEvent
from honorbound.consent.models import Purpose as ConsentPurpose
from honorbound.disclosures.models import Basis
from honorbound.policy.jurisdictions import Activity, JurisdictionRules, load_rules
from honorbound.policy.schema import Declaration, Recipient, RecipientType
from honorbound.vault.keystore import KeyDestroyed, KeyStore
from honorbound.vault.models import Identity, Subject, SubjectStatus
from honorbound.vault.subjects import subject_age


class Refusal(StrEnum):
    RECIPIENT_NOT_DECLARED = "recipient_not_declared"
    PURPOSE_NOT_DECLARED = "purpose_not_declared_for_recipient"
    CATEGORY_NOT_DECLARED = "category_not_declared_for_recipient"
    NOTICE_SAYS_NO_SALE = "notice_says_no_sale"
    NOTICE_SAYS_NO_SHARING = "notice_says_no_sharing"
    BASIS_NOT_DECLARED = "basis_not_declared_for_recipient"
    OPTED_OUT_OF_SALE = "subject_opted_out_of_sale"
    OPTED_OUT_OF_SHARING = "subject_opted_out_of_sharing"
    MINOR = "subject_is_a_minor"
    LIMITED_SENSITIVE = "subject_limited_sensitive_data"
    SUBJECT_UNKNOWN = "subject_unknown_or_erased"


@dataclass(frozen=True)
class Reason:
    code: Refusal
    message: str
    subject_id: int | None = None
    category: str | None = None


@dataclass
class DisclosureCheck:
    recipient: Recipient | None
    basis: Basis | None
    purpose: str
    categories: list[str]  # what was asked for
    allowed: dict[int, list[str]] = field(default_factory=dict)  # subject -> categories
    reasons: list[Reason] = field(default_factory=list)

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


def default_basis(recipient: Recipient) -> Basis:
    """The basis a declared recipient implies, when the caller names none."""
    if recipient.sale:
        return Basis.SALE
    if recipient.sharing:
        return Basis.SHARING
    return {
        RecipientType.affiliate: Basis.AFFILIATE,
        RecipientType.authority: Basis.LEGAL_PROCESS,
        RecipientType.acquirer: Basis.CORPORATE_TRANSACTION,
        RecipientType.third_party: Basis.CONSENT,
        RecipientType.business_partner: Basis.CONSENT,
        RecipientType.authorized_representative: Basis.CONSENT,
    }.get(recipient.type, Basis.SERVICE_PROVIDER)


@cache
def _rules() -> JurisdictionRules:
    return load_rules()


def minor_age_limit(jurisdiction: str | None, activity: Activity) -> int:
    """Below this age a subject is a minor for `activity` in that state. Unknown or non-US
    states get the strictest limit any state sets (nobody can say the stricter one does not
    apply)."""
    rules = _rules()
    states = [rules.states[jurisdiction]] if jurisdiction in rules.states else rules.states.values()
    limits = [
        r.under
        for state in states
        for r in state.minors
        if r.activities is None or activity in r.activities
        if r.requirement != "unspecified"
    ]
    return max(limits, default=0)


_OPT_OUT_PURPOSES = {
    "sale": (ConsentPurpose.SALE, ConsentPurpose.ALL),
    "sharing": (ConsentPurpose.SHARING, ConsentPurpose.TARGETED_ADVERTISING, ConsentPurpose.ALL),
    "sensitive": (ConsentPurpose.SENSITIVE_DATA_USE, ConsentPurpose.ALL),
}


def opted_out(
    session: Session, organization_id: int, subject_ids: Sequence[int]
) -> dict[int, set[str]]:
    """Per subject, which of `sale`, `sharing`, `sensitive` they currently opt out of."""
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
    wanted = {p.value for group in _OPT_OUT_PURPOSES.values() for p in group}
    events = session.scalars(
        select(ConsentEvent)
        .where(
            ConsentEvent.organization_id == organization_id,
            ConsentEvent.purpose.in_(wanted),
            or_(
                ConsentEvent.subject_id.in_(list(subject_ids)),
                ConsentEvent.identity_index.in_(list(indexes)),
            ),
        )
        .order_by(ConsentEvent.id)
    )
    latest: dict[tuple[int, str], str] = {}
    # Choices override each other in the order they were made, not recorded (a late import
    # of an old opt-in never lifts a newer opt-out): ledger.precedence.
    for event in sorted(events, key=ledger.precedence):
        subject = (
            event.subject_id
            if event.subject_id in subject_ids
            else indexes.get(event.identity_index)
        )
        if subject is None:
            continue
        for name, purposes in _OPT_OUT_PURPOSES.items():
            if event.purpose in purposes:
                latest[(subject, name)] = event.action
    out: dict[int, set[str]] = {}
    for (subject, name), action in latest.items():
        if action == Action.OPT_OUT:
            out.setdefault(subject, set()).add(name)
    return out


def check_disclosure(
    session: Session,
    keys: KeyStore,
    organization_id: int,
    declaration: Declaration,
    subjects: Sequence[int],
    recipient: str,
    categories: Sequence[str],
    purpose: str,
    basis: Basis | None = None,
    today: dt.date | None = None,
) -> DisclosureCheck:
    """Allow or refuse, per subject and category, with reasons. Reads only; writes nothing."""
    declared = declaration.recipient(recipient)
    check = DisclosureCheck(declared, basis, purpose, list(categories))

    def refuse_all(code: Refusal, message: str) -> DisclosureCheck:
        check.reasons.append(Reason(code, message))
        check.allowed = {}
        return check

    if declared is None:
        known = ", ".join(r.id for r in declaration.recipients) or "none"
        return refuse_all(
            Refusal.RECIPIENT_NOT_DECLARED,
            f"recipient '{recipient}' is not declared in the notice (declared: {known})",
        )
    check.basis = basis = basis or default_basis(declared)
    if declared.purposes and purpose not in declared.purposes:
        return refuse_all(
            Refusal.PURPOSE_NOT_DECLARED,
            f"purpose '{purpose}' is not declared for recipient '{recipient}' "
            f"(declared: {', '.join(declared.purposes)})",
        )
    if declaration.purpose(purpose) is None:
        return refuse_all(
            Refusal.PURPOSE_NOT_DECLARED, f"purpose '{purpose}' is not declared in the notice"
        )
    selling = basis == Basis.SALE or declared.sale
    sharing = basis == Basis.SHARING or declared.sharing
    if selling and not declaration.commitments.sells_personal_data:
        return refuse_all(Refusal.NOTICE_SAYS_NO_SALE, "the notice says personal data is not sold")
    if sharing and not declaration.commitments.shares_for_targeted_advertising:
        return refuse_all(
            Refusal.NOTICE_SAYS_NO_SHARING,
            "the notice says personal data is not shared for cross-context behavioural advertising",
        )
    if (basis == Basis.SALE and not declared.sale) or (
        basis == Basis.SHARING and not declared.sharing
    ):
        return refuse_all(
            Refusal.BASIS_NOT_DECLARED,
            f"recipient '{recipient}' is not declared as a recipient of a {basis.value}",
        )
    recipient_keys = set(declaration.category_keys(declared.categories))
    usable: list[str] = []
    for key in categories:
        cat = declaration.category(key)
        if cat is None or cat.key not in recipient_keys:
            check.reasons.append(
                Reason(
                    Refusal.CATEGORY_NOT_DECLARED,
                    f"category '{key}' is not declared for recipient '{recipient}'",
                    category=key,
                )
            )
        else:
            usable.append(key)
    if not usable:
        return check
    sensitive = {k for k in usable if declaration.is_sensitive(k)}
    ids = list(dict.fromkeys(subjects))
    rows = {
        s.id: s
        for s in session.scalars(
            select(Subject).where(Subject.organization_id == organization_id, Subject.id.in_(ids))
        )
    }
    choices = opted_out(session, organization_id, ids)
    today = today or dt.date.today()
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
        said = choices.get(subject_id, set())
        refusals: list[Reason] = []
        if selling and "sale" in said:
            refusals.append(
                Reason(Refusal.OPTED_OUT_OF_SALE, "the subject opted out of sale", subject_id)
            )
        if sharing and "sharing" in said:
            refusals.append(
                Reason(Refusal.OPTED_OUT_OF_SHARING, "the subject opted out of sharing", subject_id)
            )
        if selling or sharing:
            try:
                age = subject_age(keys, subject, today)
            except KeyDestroyed:
                age = None
            activity = Activity.sale if selling else Activity.sharing
            if age is not None and age < minor_age_limit(subject.jurisdiction, activity):
                refusals.append(
                    Reason(
                        Refusal.MINOR,
                        f"the subject is a minor for {activity.value} in their state",
                        subject_id,
                    )
                )
        if refusals:
            check.reasons.extend(refusals)
            continue
        allowed = list(usable)
        if sensitive and "sensitive" in said:
            allowed = [k for k in usable if k not in sensitive]
            check.reasons.extend(
                Reason(
                    Refusal.LIMITED_SENSITIVE,
                    "the subject limited the use of their sensitive data",
                    subject_id,
                    key,
                )
                for key in sorted(sensitive)
            )
        if allowed:
            check.allowed[subject_id] = allowed
    return check
