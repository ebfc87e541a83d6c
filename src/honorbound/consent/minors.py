"""What contacting a minor for each consent purpose needs: nothing, an opt-in, or nothing at all.

Two sources, both data: the adopted declaration's `children` section (below its
`minimum_age` the organization has said it does not use a child's data) and, for a subject
whose US state is known, that state's `minors` rows in `policy/data/us-rules.yaml`.
`consent/data/contact-rules.yaml` (`minors`) maps the rows' activities to consent purposes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from honorbound.consent.rules import MinorPurposes
from honorbound.policy import store
from honorbound.policy.jurisdictions import JurisdictionRules
from honorbound.policy.models import PolicyVersion

# Per purpose, in increasing strictness (the strictest applicable row wins).
NO_LIMIT, OPT_IN_NEEDED, REFUSED = 0, 1, 2


@dataclass(frozen=True)
class ChildrenPolicy:
    """The declaration's children section, as far as contact decisions need it."""

    minimum_age: int | None
    parental_consent: bool
    policy_version_id: int | None


def children_policy(session: Session, organization_id: int) -> ChildrenPolicy:
    adopted = store.current(session, organization_id)
    if adopted is None:
        return ChildrenPolicy(None, False, None)
    children = adopted.declaration.children
    return ChildrenPolicy(children.minimum_age, children.parental_consent, adopted.version_id)


def current_version_id(session: Session, organization_id: int) -> int | None:
    """The newest adopted version's id (cheap: tells a snapshot whether to reload)."""
    return session.scalar(
        select(func.max(PolicyVersion.id)).where(PolicyVersion.organization_id == organization_id)
    )


def requirements(
    purposes: MinorPurposes,
    jurisdictions: JurisdictionRules,
    children: ChildrenPolicy,
    age: int,
    state: str | None,
    on: dt.date,
) -> dict[str, int]:
    """Purpose -> OPT_IN_NEEDED or REFUSED for a subject of `age` in `state` (None: unknown);
    purposes without a limit are left out."""
    found: dict[str, int] = {}

    def need(covered: frozenset[str], level: int) -> None:
        for purpose in covered:
            found[purpose] = max(found.get(purpose, NO_LIMIT), level)

    if children.minimum_age is not None and age < children.minimum_age:
        # Only a declaration that asks for parental consent lets a recorded opt-in count.
        need(purposes.restricted, OPT_IN_NEEDED if children.parental_consent else REFUSED)
    # A state's minors rows apply once its law is in force (and each row from its own date).
    rule = jurisdictions.in_force(state, on) if state else None
    if rule is not None:
        for row in rule.minor_rules(age, on):
            if row.requirement == "sensitive_data":
                covered = purposes.sensitive_data
            elif row.activities is None:
                # The reference does not say which processing: every restricted purpose.
                covered = purposes.restricted
            else:
                covered = frozenset().union(
                    *(purposes.by_activity.get(a.value, frozenset()) for a in row.activities)
                )
            need(covered, REFUSED if row.requirement == "prohibited" else OPT_IN_NEEDED)
    return found
