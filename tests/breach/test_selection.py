"""Selection by channel, time window, system and disclosure recipient; erased people and other
organizations' people are never selected. (Selection takes no key store at all: it cannot
decrypt.)"""

from __future__ import annotations

import datetime as dt

import pytest

from honorbound.audit import Actor
from honorbound.breach.errors import SelectionEmpty
from honorbound.breach.incidents import create_incident
from honorbound.breach.selection import counts_by_state, criteria, select_affected
from honorbound.disclosures.models import Disclosure, DisclosureSubject
from honorbound.runtime import Runtime
from honorbound.vault.models import Subject, SubjectStatus
from tests.breach.conftest import resident
from tests.conftest import Tenant, adopt_example, make_tenant

ACTOR = Actor("test", "system")
U = dt.UTC


def _incident(rt: Runtime, org_id: int) -> int:
    with rt.db.session() as session:
        return create_incident(
            session, org_id,
            {"title": "t", "owner": "o", "discovered_at": dt.datetime(2026, 11, 2, tzinfo=U)},
            ACTOR,
        ).id  # fmt: skip


def _select(rt: Runtime, org_id: int, iid: int, **values: object) -> dict[str, int]:
    with rt.db.session() as session:
        return select_affected(session, org_id, iid, criteria(values), ACTOR).by_state


def test_dimensions_narrow_the_selection(rt: Runtime, org: Tenant) -> None:
    chat_in = resident(rt, org.id, "NY", chat_at=dt.datetime(2026, 10, 30, tzinfo=U))
    chat_before = resident(rt, org.id, "TX", chat_at=dt.datetime(2026, 9, 1, tzinfo=U))
    late = resident(rt, org.id, "CA", collected_at=dt.datetime(2026, 11, 5, tzinfo=U))
    billing = resident(rt, org.id, "OR", source="call")
    erased = resident(rt, org.id, "WA")
    no_state = resident(rt, org.id, None)
    other = make_tenant(rt, "other-co")
    adopt_example(rt, other.id)
    resident(rt, other.id, "NY", chat_at=dt.datetime(2026, 10, 30, tzinfo=U))
    with rt.db.session() as session:
        session.get(Subject, erased.subject_id).status = SubjectStatus.ERASED.value  # type: ignore[union-attr]
        d = Disclosure(
            organization_id=org.id, recipient_id="mailhouse", recipient_name="Mail House",
            recipient_type="processor", categories=["user.contact"], purpose="support",
            basis="service_provider", subject_count=1, initiator="test", channel="export",
            disclosed_at=dt.datetime(2026, 10, 29, tzinfo=U),
        )  # fmt: skip
        session.add(d)
        session.flush()
        session.add(
            DisclosureSubject(
                organization_id=org.id, disclosure_id=d.id, subject_id=billing.subject_id,
                categories=["user.contact"],
            )
        )  # fmt: skip
    iid = _incident(rt, org.id)
    window = {"window_from": "2026-10-28T00:00:00Z", "window_to": "2026-11-01T23:59:59Z"}
    assert _select(rt, org.id, iid, channels=["chat"], **window) == {"NY": 1}
    assert _select(rt, org.id, iid, channels=["chat"]) == {"NY": 1, "TX": 1}
    # Records held before the window ended: not the one collected after it.
    held = _select(rt, org.id, iid, categories=["user.contact"], **window)
    assert held == {"": 1, "NY": 1, "OR": 1, "TX": 1}
    assert _select(rt, org.id, iid, categories=["user.contact"]) == {
        "": 1, "CA": 1, "NY": 1, "OR": 1, "TX": 1,
    }  # fmt: skip
    assert _select(rt, org.id, iid, systems=["call"]) == {"OR": 1}
    # A selection matching nobody changes nothing: the last one stands.
    with pytest.raises(SelectionEmpty), rt.db.session() as session:
        select_affected(session, org.id, iid, criteria({"systems": ["erp"]}), ACTOR)
    with rt.db.session() as session:
        assert counts_by_state(session, iid) == {"OR": 1}
    assert _select(rt, org.id, iid, recipients=["mailhouse"], **window) == {"OR": 1}
    # Two dimensions: both must hold.
    assert _select(rt, org.id, iid, systems=["web_form"], channels=["chat"]) == {"NY": 1, "TX": 1}
    # A prefix covers its subcategories only, not a sibling that shares its first letters.
    assert _select(rt, org.id, iid, categories=["user.contact.address"]) == {
        "": 1, "CA": 1, "NY": 1, "OR": 1, "TX": 1,
    }  # fmt: skip
    del chat_in, chat_before, late, no_state


def test_a_prefix_covers_subcategories_not_siblings(rt: Runtime, org: Tenant) -> None:
    """`user.contact` covers `user.contact.email`, never `user.contact_center...`; rows written
    directly (clear columns and random bytes: selection reads nothing sealed)."""
    import os

    from honorbound.vault.models import Record

    with rt.db.session() as session:
        ids = []
        for state, category in (
            ("NY", "user.contact_center.call_recording"),
            ("TX", "user.contact.email"),
            ("CA", "user.contact"),
        ):
            subject = Subject(organization_id=org.id, key_id=os.urandom(8).hex(), type="user",
                              jurisdiction=state)  # fmt: skip
            session.add(subject)
            session.flush()
            session.add(
                Record(organization_id=org.id, subject_id=subject.id, category=category,
                       purposes=["support"], source="web_form", value_sealed=os.urandom(40))
            )  # fmt: skip
            ids.append(subject.id)
    iid = _incident(rt, org.id)
    assert _select(rt, org.id, iid, categories=["user.contact"]) == {"CA": 1, "TX": 1}
    assert _select(rt, org.id, iid, categories=["user.contact_center"]) == {"NY": 1}
    assert _select(rt, org.id, iid, categories=["user.contact.email"]) == {"TX": 1}


def test_wide_and_narrow_plans_select_the_same_people(
    rt: Runtime, org: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The wide plan (subjects read in order, EXISTS per subject) and the narrow one (IN the
    list of record holders) are two paths to one answer; the oracle is the people made here."""
    import honorbound.breach.selection as sel

    kept = [resident(rt, org.id, s) for s in ("NY", "CA", "TX")]
    resident(rt, org.id, "OR", source="call")  # another source
    late = resident(rt, org.id, "WA", collected_at=dt.datetime(2026, 12, 1, tzinfo=U))
    gone = resident(rt, org.id, "CT")
    with rt.db.session() as session:
        subject = session.get(Subject, gone.subject_id)
        assert subject is not None
        subject.status = SubjectStatus.ERASED.value
    want = {p.state: 1 for p in kept}
    values = {"categories": ["user.contact"], "systems": ["web_form"],
              "window_to": "2026-11-01T00:00:00Z"}  # fmt: skip
    answers = []
    for wide in (False, True):
        monkeypatch.setattr(sel, "_is_wide", lambda *a, wide=wide: wide)
        answers.append(_select(rt, org.id, _incident(rt, org.id), **values))
    assert answers == [want, want]
    assert late.state not in answers[1]
