"""The collection gate keeps the notices' promises (issue 14, collection side), through the HTTP
API with the five example declarations adopted in one installation, one organization each.

Oracles are the declarations' YAML files and the seed notices read directly (not the vault's
rules code), the database rows and the consent ledger's rows.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml
from _pytest.monkeypatch import MonkeyPatch
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from honorbound.accounts.roles import Role
from honorbound.audit import Actor
from honorbound.consent import decisions
from honorbound.consent.models import ConsentEvent
from honorbound.retention.sweep import sweep
from honorbound.runtime import Runtime
from honorbound.vault.models import Identity, Interaction, Record, Subject
from tests.conftest import EXAMPLE_POLICIES, Tenant, adopt_example, make_tenant
from tests.consent.conftest import decide, reasons
from tests.support.people import Person, person, remember

SEEDS = Path("/work/shared/seeds")
EXAMPLES = {
    "alorica-2012": ("customer", "000_aa6d61f00e4d6693.txt"),
    "liveops-2018": ("client-customer", "001_4bf459f2b8c599f7.txt"),
    "pactera-2016": ("customer", "002_7c53290665026d5e.txt"),
    "fusion-bpo-2008": ("customer", "003_45cca3d4006c1ca0.txt"),
    "contact-center-1-2024": ("user", "004_349a79981db00151.txt"),
}
RECORDING = "user.contact_center.call_recording"
SHA = "ab" * 32


def _declaration(name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(
        (EXAMPLE_POLICIES / f"{name}.yaml").read_text(encoding="utf-8")
    )
    return data


def _tenant(runtime: Runtime, name: str) -> Tenant:
    tenant = make_tenant(runtime, name)
    adopt_example(runtime, tenant.id, name)
    return tenant


def _subject(
    client: TestClient, tenant: Tenant, type_: str, who: Person | None = None, **extra: Any
) -> int:
    who = who or person()
    response = client.post(
        "/v1/subjects",
        json={
            "type": type_,
            "identities": [
                {"kind": "email", "value": who.email},
                {"kind": "phone", "value": who.phone},
            ],
            **extra,
        },
        headers=tenant.headers(Role.AGENT),
    )
    assert response.status_code in (200, 201), response.text
    return int(response.json()["id"])


def _problem(response: Any, status: int = 422) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    data: dict[str, Any] = response.json()
    return data


def _count(runtime: Runtime, model: Any, **where: Any) -> int:
    with runtime.db.session() as session:
        query = select(func.count()).select_from(model)
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        return int(session.scalar(query) or 0)


def _record(
    client: TestClient, tenant: Tenant, sid: int, category: str, value: str, **extra: Any
) -> Any:
    body = {"category": category, "value": value, "purposes": ["support"], "source": "call"}
    body.update(extra)
    return client.post(f"/v1/subjects/{sid}/records", json=body, headers=tenant.headers(Role.AGENT))


# --- 1. every part of an interaction passes the same gate -----------------------------------


def _seed_promises_recordings(seed: str) -> bool:
    """What the notice itself says: calls recorded, or call recordings collected."""
    text = (SEEDS / seed).read_text(encoding="utf-8").lower()
    return bool(re.search(r"record (such )?calls|call recordings", text))


@pytest.mark.skipif(not SEEDS.exists(), reason="the shared seed notices are not on this machine")
def test_the_declarations_say_what_the_seed_notices_say_about_recordings() -> None:
    for name, (_, seed) in EXAMPLES.items():
        keys = {c["key"] for c in _declaration(name)["categories"]}
        assert (RECORDING in keys) == _seed_promises_recordings(seed), name


def test_a_recording_is_stored_only_where_the_notice_declares_recordings(
    client: TestClient, runtime: Runtime
) -> None:
    for name, (type_, _) in EXAMPLES.items():
        tenant = _tenant(runtime, name)
        sid = _subject(client, tenant, type_)
        declared = RECORDING in {c["key"] for c in _declaration(name)["categories"]}
        before = _count(runtime, Interaction)
        response = client.post(
            f"/v1/subjects/{sid}/interactions",
            json={
                "channel": "call",
                "direction": "inbound",
                "started_at": "2026-11-20T10:00:00Z",
                "recording": {"uri": "s3://calls/rec-1.wav", "sha256": SHA},
            },
            headers=tenant.headers(Role.AGENT),
        )
        if declared:
            assert response.status_code == 201, (name, response.text)
            assert _count(runtime, Interaction) == before + 1
        else:
            problem = _problem(response)
            assert problem["rule"] == "category_not_declared", name
            assert problem["errors"][0]["field"] == "body.recording"
            assert _count(runtime, Interaction) == before, name
        # The same call without the recording is stored everywhere (metadata only).
        bare = client.post(
            f"/v1/subjects/{sid}/interactions",
            json={"channel": "call", "direction": "inbound", "started_at": "2026-11-20T10:00:00Z"},
            headers=tenant.headers(Role.AGENT),
        )
        assert bare.status_code == 201, (name, bare.text)


def test_a_recording_of_a_subject_type_the_notice_does_not_record_is_refused(
    client: TestClient, runtime: Runtime
) -> None:
    # Alorica declares recordings for customers only; a job applicant's call is not recorded.
    tenant = _tenant(runtime, "alorica-2012")
    applicant = _subject(client, tenant, "job-applicant")
    response = client.post(
        f"/v1/subjects/{applicant}/interactions",
        json={
            "channel": "call",
            "direction": "inbound",
            "started_at": "2026-11-20T10:00:00Z",
            "recording": {"uri": "s3://calls/rec-2.wav", "sha256": SHA},
        },
        headers=tenant.headers(Role.AGENT),
    )
    problem = _problem(response)
    assert (problem["rule"], problem["errors"][0]["field"]) == (
        "category_not_declared_for_subject_type",
        "body.recording",
    )
    assert _count(runtime, Interaction) == 0


def test_attachments_are_not_taken_in_at_all(client: TestClient, runtime: Runtime) -> None:
    tenant = _tenant(runtime, "contact-center-1-2024")
    sid = _subject(client, tenant, "user")
    response = client.post(
        f"/v1/subjects/{sid}/interactions",
        json={
            "channel": "email",
            "direction": "inbound",
            "started_at": "2026-11-20T10:00:00Z",
            "attachments": [{"name": "scan.pdf", "uri": "s3://mail/scan.pdf"}],
        },
        headers=tenant.headers(Role.AGENT),
    )
    problem = _problem(response)
    assert (problem["rule"], problem["errors"][0]["field"]) == (
        "attachments_not_supported",
        "body.attachments",
    )
    assert "text" in problem["detail"]  # says what to do instead
    assert _count(runtime, Interaction) == 0


# --- 5. future dates ---------------------------------------------------------------------------


def test_future_times_are_refused_beyond_the_clock_skew_allowance(
    client: TestClient, runtime: Runtime
) -> None:
    tenant = _tenant(runtime, "contact-center-1-2024")
    sid = _subject(client, tenant, "user", jurisdiction="CA")
    with runtime.db.session() as session:
        activity = session.get(Subject, sid).last_activity_at  # type: ignore[union-attr]
    now = dt.datetime.now(dt.UTC)
    ahead = (now + dt.timedelta(days=400)).isoformat()
    problem = _problem(
        _record(client, tenant, sid, "user.device", "d-1", source="device", collected_at=ahead)
    )
    assert (problem["rule"], problem["errors"][0]["field"]) == (
        "time_in_future",
        "body.collected_at",
    )
    for field in ("started_at", "ended_at"):
        times = {"started_at": now.isoformat(), field: ahead}
        problem = _problem(
            client.post(
                f"/v1/subjects/{sid}/interactions",
                json={"channel": "chat", "direction": "inbound", "text": "hello", **times},
                headers=tenant.headers(Role.AGENT),
            )
        )
        assert problem["errors"][0]["field"] == f"body.{field}", problem
    assert _count(runtime, Record) == 0 and _count(runtime, Interaction) == 0
    with runtime.db.session() as session:
        assert session.get(Subject, sid).last_activity_at == activity  # type: ignore[union-attr]
    # A sender whose clock runs a minute ahead: stored, dated now (not in the future).
    slightly = (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=60)).isoformat()
    ok = _record(client, tenant, sid, "user.device", "d-2", source="device", collected_at=slightly)
    assert ok.status_code == 201, ok.text
    with runtime.db.session() as session:
        record = session.get(Record, ok.json()["id"])
        assert record is not None and record.collected_at <= dt.datetime.now(dt.UTC)
        subject = session.get(Subject, sid)
        assert subject is not None and subject.last_activity_at <= dt.datetime.now(dt.UTC)


# --- 2. children: every birth date that reaches the vault counts -----------------------------


def _years_ago(years: int) -> dt.date:
    today = dt.datetime.now(dt.UTC).date()
    return today.replace(year=today.year - years) - dt.timedelta(days=30)


def test_a_birth_date_record_of_a_child_is_refused_and_the_child_erased(
    client: TestClient, runtime: Runtime
) -> None:
    tenant = _tenant(runtime, "contact-center-1-2024")  # minimum age 16
    sid = _subject(client, tenant, "user", jurisdiction="CA")
    born = _years_ago(12).isoformat()
    remember(born)
    problem = _problem(_record(client, tenant, sid, "user.demographic.date_of_birth", born))
    assert (problem["rule"], problem["errors"][0]["field"]) == ("minimum_age", "body.value")
    assert born not in json.dumps(problem)
    with runtime.db.session() as session:
        subject = session.get(Subject, sid)
        assert subject is not None and subject.status == "erased"
    assert _count(runtime, Identity, subject_id=sid) == 0
    assert _count(runtime, Record, subject_id=sid) == 0


def test_a_birth_date_said_in_a_chat_counts_too(client: TestClient, runtime: Runtime) -> None:
    tenant = _tenant(runtime, "contact-center-1-2024")
    sid = _subject(client, tenant, "user", jurisdiction="CA", age=30)
    born = _years_ago(12)
    said = f"hi, my date of birth is {born.month:02d}/{born.day:02d}/{born.year}"
    remember(said)
    problem = _problem(
        client.post(
            f"/v1/subjects/{sid}/interactions",
            json={
                "channel": "chat",
                "direction": "inbound",
                "started_at": "2026-11-20T10:00:00Z",
                "text": said,
            },
            headers=tenant.headers(Role.AGENT),
        )
    )
    assert (problem["rule"], problem["errors"][0]["field"]) == ("minimum_age", "body.text")
    with runtime.db.session() as session:
        assert session.get(Subject, sid).status == "erased"  # type: ignore[union-attr]
    assert _count(runtime, Interaction) == 0


def test_an_unreadable_birth_date_is_refused_with_a_sentence(
    client: TestClient, runtime: Runtime
) -> None:
    tenant = _tenant(runtime, "contact-center-1-2024")
    sid = _subject(client, tenant, "user")
    problem = _problem(_record(client, tenant, sid, "user.demographic.date_of_birth", "soon"))
    assert problem["rule"] == "birth_date_unreadable"
    assert _count(runtime, Record) == 0


def test_the_minor_reason_reads_a_birth_date_learned_from_a_record(
    client: TestClient, runtime: Runtime, monkeypatch: MonkeyPatch
) -> None:
    monkeypatch.setattr(decisions.snapshots, "SUBJECT_SCAN_EVERY", dt.timedelta(0))
    tenant = _tenant(runtime, "contact-center-1-2024")  # 16+: a 17-year-old may be a user
    who = person()
    sid = _subject(client, tenant, "user", who, jurisdiction="DE", age=40)
    assert decide(runtime, tenant.id, [who.email], "sale", "email").allowed[0]
    born = _years_ago(17).isoformat()
    ok = _record(client, tenant, sid, "user.demographic.date_of_birth", born)
    assert ok.status_code == 201, ok.text
    # Delaware: 13-17 need an opt-in for sale; the vault now knows a 17-year-old.
    assert reasons(decide(runtime, tenant.id, [who.email], "sale", "email")) == [("minor",)]


# --- 3. sensitive data ----------------------------------------------------------------------


def test_unknown_state_is_the_strictest_state_the_notice_covers(
    client: TestClient, runtime: Runtime
) -> None:
    tenant = _tenant(runtime, "contact-center-1-2024")  # covers every state, CO among them
    sid = _subject(client, tenant, "user")  # no jurisdiction: unknown
    for category, value in (
        ("user.government_id.national_identification_number", "123-45-6789"),
        ("user.health_and_medical", "asthma"),
    ):
        remember(value)
        problem = _problem(_record(client, tenant, sid, category, value))
        assert problem["rule"] == "sensitive_requires_opt_in", category
        assert value not in json.dumps(problem)
    assert _count(runtime, Record) == 0
    # In California (opt-out: a right to limit) the same health value is stored.
    ca = _subject(client, tenant, "user", jurisdiction="CA")
    assert _record(client, tenant, ca, "user.health_and_medical", "asthma").status_code == 201


def test_a_sensitive_child_of_a_declared_parent_needs_its_own_consent(
    client: TestClient, runtime: Runtime
) -> None:
    # Fusion declares `user.demographic` (ZIP code, age, gender...), not marked sensitive.
    tenant = _tenant(runtime, "fusion-bpo-2008")
    sid = _subject(client, tenant, "customer", jurisdiction="CA")
    children = (
        "user.demographic.race_ethnicity",
        "user.demographic.religious_belief",
        "user.demographic.political_opinion",
    )
    for category in children:
        problem = _problem(
            _record(client, tenant, sid, category, "x", purposes=["site-statistics"])
        )
        assert problem["rule"] == "sensitive_child_requires_opt_in", category
    # Not sensitive: stored without consent in California.
    zip_code = _record(
        client, tenant, sid, "user.demographic", "94107", purposes=["site-statistics"]
    )
    assert zip_code.status_code == 201, zip_code.text
    assert _count(runtime, Record) == 1
    consented = _record(
        client,
        tenant,
        sid,
        "user.demographic.race_ethnicity",
        "x",
        purposes=["site-statistics"],
        consent={"opt_in": True, "source": "agent_verbal", "evidence": {"recording_ref": "r-9"}},
    )
    assert consented.status_code == 201, consented.text
    with runtime.db.session() as session:
        events = session.scalars(select(ConsentEvent)).all()
    assert [(e.purpose, e.scope, e.action, e.source, e.subject_id) for e in events] == [
        ("sensitive_data_use", "user.demographic.race_ethnicity", "opt_in", "agent_verbal", sid)
    ]
    # That consent is for race only: religion still needs its own.
    religion = _record(
        client, tenant, sid, "user.demographic.religious_belief", "x", purposes=["site-statistics"]
    )
    assert _problem(religion)["rule"] == "sensitive_child_requires_opt_in"


def test_the_sensitive_list_names_what_the_state_laws_name() -> None:
    text = resources.files("honorbound.policy").joinpath("data/sensitive-categories.yaml")
    data = yaml.safe_load(text.read_text(encoding="utf-8"))
    rows = {row["prefix"]: row["source"] for row in data["sensitive"]}
    for prefix in (
        "user.demographic.political_opinion",
        "user.demographic.citizenship_status",
        "user.health_and_medical.genetic",
        "user.neural",
        "user.demographic.union_membership",
        "user.demographic.sex_life",
        "user.demographic.transgender_status",
        "user.demographic.crime_victim_status",
    ):
        assert prefix in rows and len(rows[prefix]) > 20, prefix


# --- 4. consent evidence comes from the ledger ------------------------------------------------


def test_a_recorded_opt_out_outranks_a_callers_opt_in_flag(
    client: TestClient, runtime: Runtime
) -> None:
    tenant = _tenant(runtime, "contact-center-1-2024")
    who = person()
    sid = _subject(client, tenant, "user", who, jurisdiction="CO")
    out = client.post(
        "/v1/consent/events",
        json={
            "identity": who.phone,
            "purpose": "sensitive_data_use",
            "channel": "all",
            "action": "opt_out",
            "source": "web_form",
        },
        headers=tenant.headers(Role.AGENT),
    )
    assert out.status_code == 201, out.text
    claim = {"opt_in": True, "evidence": {"method": "ivr"}}
    problem = _problem(
        _record(client, tenant, sid, "user.health_and_medical", "asthma", consent=claim)
    )
    assert (problem["rule"], problem["errors"][0]["field"]) == ("consent_withdrawn", "body.consent")
    assert _count(runtime, Record) == 0
    assert _count(runtime, ConsentEvent) == 1  # the claim did not become an opt-in
    # The person opts in again (recorded in the ledger): the record needs no flag now.
    again = client.post(
        "/v1/consent/events",
        json={
            "identity": who.email,
            "purpose": "sensitive_data_use",
            "channel": "all",
            "action": "opt_in",
            "source": "agent_verbal",
            "evidence": {"recording_ref": "call-17"},
        },
        headers=tenant.headers(Role.AGENT),
    )
    assert again.status_code == 201, again.text
    stored = _record(client, tenant, sid, "user.health_and_medical", "asthma")
    assert stored.status_code == 201, stored.text


def test_a_claim_with_nothing_on_file_is_recorded_in_the_ledger_with_its_source(
    client: TestClient, runtime: Runtime
) -> None:
    tenant = _tenant(runtime, "contact-center-1-2024")
    sid = _subject(client, tenant, "user", jurisdiction="VA")
    claim = {"opt_in": True, "source": "ivr_keypad", "evidence": {"recording_ref": "r-1"}}
    stored = _record(client, tenant, sid, "user.health_and_medical", "asthma", consent=claim)
    assert stored.status_code == 201, stored.text
    with runtime.db.session() as session:
        event = session.scalars(select(ConsentEvent)).one()
        assert (event.purpose, event.action, event.source, event.subject_id) == (
            "sensitive_data_use",
            "opt_in",
            "ivr_keypad",
            sid,
        )
        assert json.loads(event.evidence) == {"recording_ref": "r-1"}
    # The next record finds the consent in the ledger: no flag needed.
    assert _record(client, tenant, sid, "user.health_and_medical", "flu").status_code == 201
    assert _count(runtime, ConsentEvent) == 1


# --- 6. "not stored" (P0D) rules remove the person ------------------------------------------


def test_a_p0d_rule_covering_every_category_erases_identities_and_subject(
    client: TestClient, runtime: Runtime
) -> None:
    tenant = _tenant(runtime, "liveops-2018")  # invites: user.contact of invited friends, P0D
    friend = person()
    fid = _subject(client, tenant, "invited-friend", friend)
    invite = _record(
        client,
        tenant,
        fid,
        "user.contact.email",
        friend.email,
        purposes=["invite-a-friend"],
        source="referral",
    )
    assert invite.status_code == 201, invite.text
    customer = _subject(client, tenant, "client-customer")
    sweep(runtime.db, runtime.keys, runtime.vault_keys, tenant.id, Actor.system())
    with runtime.db.session() as session:
        assert session.get(Subject, fid).status == "erased"  # type: ignore[union-attr]
        assert session.get(Subject, customer).status == "active"  # type: ignore[union-attr]
    assert _count(runtime, Identity, subject_id=fid) == 0
    assert _count(runtime, Record, subject_id=fid) == 0
    assert _count(runtime, Identity, subject_id=customer) == 2
    lookup = client.post(
        "/v1/subjects/lookup",
        json={"kind": "email", "value": friend.email},
        headers=tenant.headers(Role.AGENT),
    )
    assert lookup.status_code == 404


# --- 11. record sources are compared with the declared sources -------------------------------


def test_an_undeclared_source_is_refused_like_an_undeclared_category(
    client: TestClient, runtime: Runtime
) -> None:
    # Pactera: "only information you knowingly provide" (sources: directly).
    tenant = _tenant(runtime, "pactera-2016")
    assert "sources" not in next(
        c for c in _declaration("pactera-2016")["categories"] if c["key"] == "user.contact"
    )  # the default: directly
    sid = _subject(client, tenant, "customer")
    base = {"purposes": ["services"]}
    bought = _record(
        client, tenant, sid, "user.contact.email", "x@example.com", source="data_broker", **base
    )
    problem = _problem(bought)
    assert (problem["rule"], problem["errors"][0]["field"]) == (
        "source_not_declared",
        "body.source",
    )
    unknown = _problem(_record(client, tenant, sid, "user.contact", "x", source="gossip", **base))
    assert unknown["rule"] == "source_unknown"
    assert _count(runtime, Record) == 0
    given = _record(client, tenant, sid, "user.contact", "x", source="web_form", **base)
    assert given.status_code == 201, given.text
    # Device data comes "automatically" there: a cookie is fine, a call is not where it comes from.
    cookie = _record(client, tenant, sid, "user.device", "c-1", source="cookie", **base)
    assert cookie.status_code == 201, cookie.text
