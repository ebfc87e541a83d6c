"""Consent state is decided by when the person made the choice (`occurred_at`), never by the
order events arrive in: a CRM import or a late webhook carrying an old opt-in does not lift a
newer opt-out. Ties go to the opt-out.

Checked through every reader (the ledger's current state over the API, the decision engine's
snapshot and its delta path, the receipt's `inEffect`) against `model`, a few lines written from
the rule's text that share no code with the ledger."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from honorbound.accounts.roles import Role
from honorbound.consent import service
from honorbound.consent.decisions import Batch
from honorbound.runtime import Runtime
from tests.conftest import Tenant
from tests.consent.conftest import reasons
from tests.support.people import person

BASE = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
PURPOSES = ("marketing", "all")
CHANNELS = ("email", "all")
SCOPES = ("", "list-a")
EXAMPLES = int(os.environ.get("HONORBOUND_CONFORMANCE_EXAMPLES", "25"))
_counter = itertools.count()


def _payload(identity: str, event: tuple[int, str, str, str, str], ref: str) -> dict[str, object]:
    minute, action, purpose, channel, scope = event
    return {
        "identity": identity,
        "purpose": purpose,
        "channel": channel,
        "scope": scope,
        "action": action,
        "source": "import",
        "occurred_at": (BASE + dt.timedelta(minutes=minute)).isoformat(),
        "external_ref": ref,
    }


def _record(client: TestClient, tenant: Tenant, body: dict[str, object]) -> dict[str, object]:
    response = client.post("/v1/consent/events", json=body, headers=tenant.headers(Role.AGENT))
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def _claims(token: str) -> dict[str, object]:
    import base64

    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))  # type: ignore[no-any-return]


# -- the independent model ------------------------------------------------------------------
def _later(a: tuple[int, str], b: tuple[int, str]) -> bool:
    """a overrides b: made later, or at the same minute and a is the opt-out."""
    return a[0] > b[0] or (a[0] == b[0] and a[1] == "opt_out" and b[1] == "opt_in")


def model(
    events: list[tuple[int, str, str, str, str]], purpose: str, channel: str, scope: str | None
) -> str | None:
    """The action that applies to (purpose, channel, scope). An event applies when its purpose
    and channel are the asked ones or `all`, and its scope is "" or the asked one; with no
    scope asked, a list's own latest choice counts only when it is an opt-out."""
    best: tuple[int, str] | None = None
    per_key: dict[tuple[str, str, str], tuple[int, str]] = {}
    for minute, action, p, c, s in events:
        if p not in (purpose, "all") or c not in (channel, "all"):
            continue
        key = (p, c, s)
        if key not in per_key or _later((minute, action), per_key[key]):
            per_key[key] = (minute, action)
    for (_p, _c, s), choice in per_key.items():
        if s and scope is None and choice[1] != "opt_out":
            continue
        if s and scope is not None and s != scope:
            continue
        if best is None or _later(choice, best):
            best = choice
    return best[1] if best else None


def _state_model(events: list[tuple[int, str, str, str, str]]) -> dict[tuple[str, str, str], str]:
    out: dict[tuple[str, str, str], tuple[int, str]] = {}
    for minute, action, p, c, s in events:
        if (p, c, s) not in out or _later((minute, action), out[(p, c, s)]):
            out[(p, c, s)] = (minute, action)
    return {k: v[1] for k, v in out.items()}


# -- the bug as reported ----------------------------------------------------------------------
def test_a_late_opt_in_dated_before_an_opt_out_does_not_lift_it(
    client: TestClient, tenant: Tenant, runtime: Runtime
) -> None:
    who = person().email
    _record(client, tenant, _payload(who, (60, "opt_out", "marketing", "email", ""), "crm:1"))
    late = _record(client, tenant, _payload(who, (0, "opt_in", "marketing", "email", ""), "crm:0"))
    look = client.post(
        "/v1/consent/lookup", json={"identity": who}, headers=tenant.headers(Role.AUDITOR)
    ).json()
    assert [(s["action"], s["since"][:16]) for s in look["state"]] == [
        ("opt_out", "2026-03-01T10:00")
    ]
    with runtime.db.session() as session:
        engine = service.engine(runtime.keys, runtime.vault_keys)
        decided = engine.decide(session, tenant.id, Batch([who], "marketing", "email"))
    assert reasons(decided) == [("opted_out",)]
    hb = _claims(str(late["receipt"]))["hb"]
    assert hb == {**hb, "inEffect": False, "currentAction": "opt_out"}  # type: ignore[dict-item]


def test_at_the_same_instant_the_opt_out_wins(client: TestClient, tenant: Tenant) -> None:
    who = person().email
    _record(client, tenant, _payload(who, (5, "opt_out", "marketing", "email", ""), "a"))
    _record(client, tenant, _payload(who, (5, "opt_in", "marketing", "email", ""), "b"))
    look = client.post(
        "/v1/consent/lookup", json={"identity": who}, headers=tenant.headers(Role.AUDITOR)
    ).json()
    assert [s["action"] for s in look["state"]] == ["opt_out"]


def test_a_newer_opt_in_still_lifts_an_older_opt_out(
    client: TestClient, tenant: Tenant, runtime: Runtime
) -> None:
    """Arrival order does not matter in either direction: an opt-in made after the opt-out
    (even if it arrives first) is the person's current choice."""
    who = person().email
    _record(client, tenant, _payload(who, (30, "opt_in", "marketing", "email", ""), "x"))
    _record(client, tenant, _payload(who, (10, "opt_out", "marketing", "email", ""), "y"))
    with runtime.db.session() as session:
        engine = service.engine(runtime.keys, runtime.vault_keys)
        decided = engine.decide(session, tenant.id, Batch([who], "marketing", "email"))
    assert reasons(decided) == [()]


def test_an_opt_in_dated_ahead_of_the_clock_does_not_outrank_a_later_opt_out(
    client: TestClient, tenant: Tenant, runtime: Runtime
) -> None:
    """A sender whose clock runs 4 minutes fast (accepted: under the 5-minute tolerance) sends
    an opt-in; a minute later the person opts out. The opt-in cannot have been made after it
    reached us, so the opt-out, made later, decides."""
    who = person().email
    ahead = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=4)
    body = _payload(who, (0, "opt_in", "marketing", "email", ""), "skewed")
    body["occurred_at"] = ahead.isoformat()
    early = _record(client, tenant, body)
    assert dt.datetime.fromisoformat(str(early["occurred_at"])) < ahead
    out = _payload(who, (0, "opt_out", "marketing", "email", ""), "now")
    del out["occurred_at"]  # now
    _record(client, tenant, out)
    look = client.post(
        "/v1/consent/lookup", json={"identity": who}, headers=tenant.headers(Role.AUDITOR)
    ).json()
    assert [s["action"] for s in look["state"]] == ["opt_out"]
    with runtime.db.session() as session:
        engine = service.engine(runtime.keys, runtime.vault_keys)
        engine.invalidate(tenant.id)
        decided = engine.decide(session, tenant.id, Batch([who], "marketing", "email"))
    assert reasons(decided) == [("opted_out",)]


# -- shuffled arrivals against the model -------------------------------------------------------
EVENT = st.tuples(
    st.integers(0, 3),  # few minutes: many ties
    st.sampled_from(("opt_in", "opt_out")),
    st.sampled_from(PURPOSES),
    st.sampled_from(CHANNELS),
    st.sampled_from(SCOPES),
)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    # No shrinking: each example is a few HTTP calls, and shrinking a failure would take
    # minutes; an example has at most 7 events, readable as it is.
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(events=st.lists(EVENT, min_size=1, max_size=7), data=st.data())
def test_any_arrival_order_gives_the_models_state(
    client: TestClient,
    tenant: Tenant,
    runtime: Runtime,
    events: list[tuple[int, str, str, str, str]],
    data: st.DataObject,
) -> None:
    arrival = data.draw(st.permutations(range(len(events))), label="arrival order")
    # Some arrive before the decision snapshot is built (snapshot path), the rest after it
    # (answered from the database as a delta).
    split = data.draw(st.integers(0, len(events)), label="snapshot after")
    who = person().email
    engine = service.engine(runtime.keys, runtime.vault_keys)
    engine.invalidate(tenant.id)
    receipts: dict[int, str] = {}
    for position, i in enumerate(arrival):
        if position == split:
            with runtime.db.session() as session:
                engine.decide(session, tenant.id, Batch([who], "marketing", "email"))
        ref = f"evt:{next(_counter)}"
        receipts[i] = str(_record(client, tenant, _payload(who, events[i], ref))["receipt_id"])

    # 1. The ledger's current state (API lookup).
    look = client.post(
        "/v1/consent/lookup", json={"identity": who}, headers=tenant.headers(Role.AUDITOR)
    ).json()
    got = {(s["purpose"], s["channel"], s["scope"]): s["action"] for s in look["state"]}
    assert got == _state_model(events)

    # 2. The decision engine, with and without a sender named, snapshot and delta paths.
    for scope in (None, "list-a"):
        expected = model(events, "marketing", "email", scope)
        senders = None if scope is None else [scope]
        for fresh in (False, True):
            if fresh:
                engine.invalidate(tenant.id)
            with runtime.db.session() as session:
                decided = engine.decide(
                    session, tenant.id, Batch([who], "marketing", "email", senders=senders)
                )
            assert ("opted_out" in decided.reasons_of(0)) == (expected == "opt_out"), (
                scope,
                fresh,
            )

    # 3. Each receipt (built when asked for) says whether its choice is the one in effect.
    for i, receipt_id in receipts.items():
        token = client.get(f"/v1/public/consent/receipts/{receipt_id}").json()["receipt"]
        _minute, action, purpose, channel, scope_ = events[i]
        current = model(events, purpose, channel, scope_)
        hb = _claims(token)["hb"]
        assert hb["inEffect"] == (current == action), (events, i)  # type: ignore[index]


def test_the_databases_rank_is_exact_to_the_microsecond(
    client: TestClient, tenant: Tenant, runtime: Runtime
) -> None:
    """The snapshot's rank is computed by the database (SQLite text, PostgreSQL timestamptz):
    it must equal the exact integer arithmetic on the stored time, one microsecond apart."""
    from sqlalchemy import select

    from honorbound.consent.decisions import precedence_rank, rank_of
    from honorbound.consent.models import ConsentEvent

    who = person().email
    times = [
        dt.datetime(2026, 1, 1, 0, 0, 0, 0, tzinfo=dt.UTC),
        dt.datetime(2026, 1, 1, 0, 0, 0, 1, tzinfo=dt.UTC),
        dt.datetime(2026, 6, 30, 23, 59, 59, 999_999, tzinfo=dt.UTC),
        dt.datetime(1999, 12, 31, 23, 59, 59, 500_000, tzinfo=dt.UTC),
    ]
    for n, when in enumerate(times):
        body = _payload(who, (0, ("opt_in", "opt_out")[n % 2], "marketing", "email", ""), f"r{n}")
        body["occurred_at"] = when.isoformat()
        _record(client, tenant, body)
    with runtime.db.session() as session:
        rows = session.execute(
            select(ConsentEvent, precedence_rank(runtime.db.dialect)).order_by(ConsentEvent.id)
        ).all()
    assert [rank for _, rank in rows] == [rank_of(event) for event, _ in rows]
    assert [event.occurred_at for event, _ in rows] == times
    expected = [
        (int((t - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)).total_seconds()) * 1_000_000
         + t.microsecond) * 2 + n % 2
        for n, t in enumerate(times)
    ]  # fmt: skip
    assert [rank for _, rank in rows] == expected


def test_the_disclosure_guard_keeps_a_newer_opt_out_of_sale(
    runtime: Runtime, tenant: Tenant
) -> None:
    """The disclosure guard reads consent too: a late opt-in to sale dated before the
    person's opt-out must not let their data be sold."""
    from honorbound.audit import Actor
    from honorbound.consent.identity import identify
    from honorbound.consent.ledger import record as record_choice
    from honorbound.disclosures.guard import opted_out
    from tests.retention.factory import add_subject, fake_email

    email = fake_email()
    subject = add_subject(runtime, tenant.id, email=email)
    for minute, action in ((60, "opt_out"), (0, "opt_in")):  # the opt-in arrives last
        with runtime.db.session() as session:
            record_choice(
                session,
                tenant.id,
                identify(runtime.vault_keys, tenant.id, email),
                "sale",
                "all",
                action,
                "import",
                Actor("user:1", "admin"),
                occurred_at=BASE + dt.timedelta(minutes=minute),
            )
    with runtime.db.session() as session:
        assert opted_out(session, tenant.id, [subject]) == {subject: {"sale"}}
