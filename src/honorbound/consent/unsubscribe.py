"""Recording an email unsubscribe (RFC 8058 one-click, or the confirm button of the page).

What it covers comes from the adopted declaration (`email_lists.unsubscribe_scope`): by
default `sender`, the opt-out of marketing email reaches every list of the organization (the
ledger's scope `""`), as CAN-SPAM's per-sender opt-out and the notices' "unsubscribe from our
emails" promise; `list` keeps it to the list the link names. The list is kept in the evidence
either way. A retried POST of the same link records nothing new.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from honorbound.audit import Actor
from honorbound.consent import ledger
from honorbound.consent.links import Unsubscribe
from honorbound.consent.models import Action, ConsentChannel, ConsentEvent, Purpose


def lists_independent(session: Session, organization_id: int) -> bool:
    """True only when the adopted declaration says each list is unsubscribed on its own."""
    from honorbound.policy import store
    from honorbound.policy.schema import UnsubscribeScope

    adopted = store.current(session, organization_id)
    lists = getattr(adopted.declaration, "email_lists", None) if adopted is not None else None
    return lists is not None and lists.unsubscribe_scope is UnsubscribeScope.list


def unsubscribe(
    session: Session, link: Unsubscribe, source: str, actor: Actor
) -> tuple[ConsentEvent, bool]:
    """Record the opt-out a link's unsubscribe means; returns (event, every_list)."""
    every_list = not lists_independent(session, link.organization_id)
    event, _ = ledger.record(
        session,
        link.organization_id,
        link.identity,
        Purpose.MARKETING.value,
        ConsentChannel.EMAIL.value,
        Action.OPT_OUT.value,
        source,
        actor,
        scope="" if every_list else link.list_id,
        subject_id=link.subject_id,
        evidence={"list_id": link.list_id},
        external_ref=f"unsub:{link.fingerprint}:{int(link.issued_at.timestamp())}",
    )
    return event, every_list
