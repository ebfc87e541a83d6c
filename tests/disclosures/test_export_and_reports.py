from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from honorbound.audit import Actor
from honorbound.consent.identity import identify
from honorbound.consent.ledger import record as record_choice
from honorbound.disclosures.export import DisclosureRefused, export
from honorbound.disclosures.ledger import DisclosureInputError, record_disclosure
from honorbound.disclosures.models import Basis, Disclosure, DisclosureSubject
from honorbound.disclosures.reports import legal_process_log, shine_the_light, who_received
from honorbound.policy.schema import Declaration
from honorbound.policy.store import current
from honorbound.runtime import Runtime
from tests.conftest import Tenant
from tests.retention.factory import ADMIN, add_records, add_subject, adopt, days_ago
from tests.support.people import person


@pytest.fixture
def declaration(runtime: Runtime, tenant: Tenant) -> Declaration:
    return adopt(runtime, tenant.id).declaration


def _ledger_size(runtime: Runtime) -> int:
    with runtime.db.session() as session:
        return int(session.scalar(select(func.count()).select_from(Disclosure)) or 0)


def test_export_writes_only_what_the_guard_allows_and_records_it(
    runtime: Runtime, tenant: Tenant, declaration: Declaration, tmp_path: Path
) -> None:
    alice, bob = person(), person()
    a = add_subject(runtime, tenant.id, email=alice.email)
    b = add_subject(runtime, tenant.id, email=bob.email)
    add_records(
        runtime, tenant.id, a, "user.contact.postal_address", [days_ago(3)], value=alice.street
    )
    add_records(runtime, tenant.id, a, "user.biometric.health", [days_ago(3)], value="asthma")
    add_records(
        runtime, tenant.id, b, "user.contact.postal_address", [days_ago(3)], value=bob.street
    )
    with runtime.db.session() as session:
        record_choice(
            session,
            tenant.id,
            identify(runtime.vault_keys, tenant.id, bob.email),
            "sale",
            "all",
            "opt_out",
            "web_form",
            ADMIN,
        )
    out = tmp_path / "listco.jsonl"
    with runtime.db.session() as session:
        result = export(
            session,
            runtime.vault_keys,
            runtime.rules,
            tenant.id,
            current(session, tenant.id),  # type: ignore[arg-type]
            recipient="listco",
            categories=["user.contact", "user.biometric.health"],
            purpose="direct-mail",
            out=out,
            actor=ADMIN,
        )
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    # Bob opted out of sale; health is not declared for listco.
    assert [line["subject"] for line in lines] == [a]
    values = {(r["category"], r["value"]) for r in lines[0]["records"]}
    assert values == {
        ("user.contact.email", alice.email),
        ("user.contact.postal_address", alice.street),
    }
    assert bob.street not in out.read_text() and "asthma" not in out.read_text()
    assert result.sha256 == hashlib.sha256(out.read_bytes()).hexdigest()
    with runtime.db.session() as session:
        entry = session.get(Disclosure, result.disclosure_id)
        assert entry is not None
        assert (entry.recipient_id, entry.basis, entry.subject_count, entry.channel) == (
            "listco",
            "sale",
            1,
            "export",
        )
        assert entry.file_sha256 == result.sha256
        shared = list(session.scalars(select(DisclosureSubject.subject_id)))
    assert shared == [a]
    received = [(r.recipient_id, r.categories) for r in who_received_for(runtime, tenant.id, a)]
    assert received == [("listco", ["user.contact.email", "user.contact.postal_address"])]
    assert who_received_for(runtime, tenant.id, b) == []


def who_received_for(runtime: Runtime, org: int, subject: int):  # type: ignore[no-untyped-def]
    with runtime.db.session() as session:
        return who_received(session, org, subject)


def test_a_refused_export_writes_no_file_and_no_entry(
    runtime: Runtime, tenant: Tenant, declaration: Declaration, tmp_path: Path
) -> None:
    a = add_subject(runtime, tenant.id)
    add_records(runtime, tenant.id, a, "user.contact.postal_address", [days_ago(3)])
    exports = tmp_path / "exports"
    exports.mkdir()
    out = exports / "x.jsonl"
    with pytest.raises(DisclosureRefused, match="not declared"), runtime.db.session() as session:
        export(
            session,
            runtime.vault_keys,
            runtime.rules,
            tenant.id,
            current(session, tenant.id),  # type: ignore[arg-type]
            recipient="data-broker-x",
            categories=["user.contact"],
            purpose="direct-mail",
            out=out,
            actor=ADMIN,
        )
    assert list(exports.iterdir()) == [] and _ledger_size(runtime) == 0
    with pytest.raises(DisclosureInputError) as caught, runtime.db.session() as session:
        export(
            session,
            runtime.vault_keys,
            runtime.rules,
            tenant.id,
            current(session, tenant.id),  # type: ignore[arg-type]
            recipient="crm",
            categories=["user.contact"],
            purpose="support",
            out=tmp_path / "missing-dir" / "x.jsonl",
            actor=ADMIN,
        )
    assert caught.value.field == "out" and _ledger_size(runtime) == 0


def test_shine_the_light_lists_last_years_direct_marketing_recipients(
    runtime: Runtime, tenant: Tenant, declaration: Declaration
) -> None:
    a = add_subject(runtime, tenant.id)
    last_year = dt.datetime(dt.date.today().year - 1, 6, 1, tzinfo=dt.UTC)
    this_year = dt.datetime(dt.date.today().year, 1, 2, tzinfo=dt.UTC)
    listco, crm = declaration.recipient("listco"), declaration.recipient("crm")
    assert listco and crm
    with runtime.db.session() as session:
        for recipient, purpose, basis, when in [
            (listco, "direct-mail", Basis.SALE, last_year),
            (crm, "support", Basis.SERVICE_PROVIDER, last_year),  # not marketing
            (listco, "direct-mail", Basis.SALE, this_year),  # not the preceding year
        ]:
            record_disclosure(
                session,
                tenant.id,
                ADMIN,
                recipient=recipient,
                categories=["user.contact.email"],
                purpose=purpose,
                basis=basis,
                subjects={a: ["user.contact.email"]},
                disclosed_at=when,
            )
    with runtime.db.session() as session:
        report = shine_the_light(
            session, tenant.id, a, declaration, addresses={"listco": "9 Broker Rd"}
        )
        empty = shine_the_light(session, tenant.id, a, declaration, year=last_year.year - 1)
    assert report.year == last_year.year
    assert [(r.name, r.address, r.categories) for r in report.recipients] == [
        ("List Broker Co.", "9 Broker Rd", ["user.contact.email"])
    ]
    assert empty.recipients == [] and "did not disclose" in empty.note


def test_legal_process_needs_a_reference_and_is_logged(
    runtime: Runtime, tenant: Tenant, declaration: Declaration
) -> None:
    a = add_subject(runtime, tenant.id)
    courts = declaration.recipient("courts")
    assert courts
    with pytest.raises(DisclosureInputError) as caught, runtime.db.session() as session:
        record_disclosure(
            session,
            tenant.id,
            ADMIN,
            recipient=courts,
            categories=["user.contact"],
            purpose="support",
            basis=Basis.LEGAL_PROCESS,
            subjects={a: ["user.contact"]},
        )
    assert caught.value.field == "legal_reference" and _ledger_size(runtime) == 0
    with runtime.db.session() as session:
        record_disclosure(
            session,
            tenant.id,
            Actor("user:7", "privacy_officer"),
            recipient=courts,
            categories=["user.contact"],
            purpose="support",
            basis=Basis.LEGAL_PROCESS,
            subjects={a: ["user.contact"]},
            legal_reference="Subpoena 2026-CV-0113",
        )
        record_disclosure(
            session,
            tenant.id,
            ADMIN,
            recipient=courts,
            categories=["user.contact"],
            purpose="support",
            basis=Basis.LEGAL_PROCESS,
            aggregate_count=120,
            legal_reference="Order 77",
        )
    with runtime.db.session() as session:
        log = legal_process_log(session, tenant.id)
    assert [(d.legal_reference, d.subject_count, d.aggregate, d.initiator) for d in log] == [
        ("Subpoena 2026-CV-0113", 1, False, "user:7"),
        ("Order 77", 120, True, "user:1"),
    ]
