"""Every refusal reason of the disclosure guard, on a real database with real consent events."""

from __future__ import annotations

import datetime as dt

import pytest

from honorbound.audit import Actor
from honorbound.consent.identity import identify
from honorbound.consent.ledger import record as record_choice
from honorbound.disclosures.guard import Refusal, check_disclosure
from honorbound.disclosures.models import Basis
from honorbound.policy.loader import parse_declaration
from honorbound.policy.schema import Declaration
from honorbound.policy.store import AdoptedPolicy, current
from honorbound.runtime import Runtime
from tests.conftest import Tenant
from tests.retention.factory import DECLARATION, add_subject, adopt, fake_email

TODAY = dt.date.today()


def _born(age: int) -> dt.date:
    return TODAY.replace(year=TODAY.year - age) - dt.timedelta(days=1)


def _opt_out(runtime: Runtime, org: int, email: str, purpose: str) -> None:
    with runtime.db.session() as session:
        record_choice(
            session,
            org,
            identify(runtime.vault_keys, org, email),
            purpose,
            "all",
            "opt_out",
            "web_form",
            Actor("user:1", "admin"),
        )


def as_adopted(session: object, org: int, declaration: Declaration) -> AdoptedPolicy:
    """`declaration` as if it were the version in force (the data was collected under it)."""
    now = current(session, org)  # type: ignore[arg-type]
    return AdoptedPolicy(
        now.version_id if now else 0, now.number if now else 1, "", TODAY, declaration
    )


def _check(
    runtime: Runtime,
    org: int,
    declaration: Declaration,
    subjects: list[int],
    recipient: str,
    categories: list[str],
    purpose: str,
    basis: Basis | None = None,
):  # type: ignore[no-untyped-def]
    with runtime.db.session() as session:
        return check_disclosure(
            session,
            runtime.vault_keys,
            runtime.rules,
            org,
            as_adopted(session, org, declaration),
            subjects,
            recipient,
            categories,
            purpose,
            basis,
        )


@pytest.fixture
def declaration(runtime: Runtime, tenant: Tenant) -> Declaration:
    return adopt(runtime, tenant.id).declaration


def _codes(check) -> list[tuple[str, int | None, str | None]]:  # type: ignore[no-untyped-def]
    return [(r.code.value, r.subject_id, r.category) for r in check.reasons]


def test_a_declared_recipient_for_a_declared_purpose_is_allowed(
    runtime: Runtime, tenant: Tenant, declaration: Declaration
) -> None:
    s = add_subject(runtime, tenant.id)
    check = _check(
        runtime,
        tenant.id,
        declaration,
        [s],
        "crm",
        ["user.contact", "user.biometric.health"],
        "support",
    )
    assert check.ok and check.allowed == {s: ["user.contact", "user.biometric.health"]}
    assert check.basis == Basis.SERVICE_PROVIDER


def test_recipient_not_declared(runtime: Runtime, tenant: Tenant, declaration: Declaration) -> None:
    s = add_subject(runtime, tenant.id)
    check = _check(
        runtime, tenant.id, declaration, [s], "data-broker-x", ["user.contact"], "support"
    )
    assert check.blocked and check.allowed == {}
    assert _codes(check) == [("recipient_not_declared", None, None)]
    assert "crm" in check.reasons[0].message  # names what is declared


def test_category_not_declared_for_that_recipient(
    runtime: Runtime, tenant: Tenant, declaration: Declaration
) -> None:
    s = add_subject(runtime, tenant.id)
    check = _check(
        runtime,
        tenant.id,
        declaration,
        [s],
        "adnet",
        ["user.contact.email", "user.biometric.health"],
        "partner-marketing",
    )
    assert _codes(check) == [("category_not_declared_for_recipient", None, "user.biometric.health")]
    assert not check.blocked and check.allowed == {s: ["user.contact.email"]}


def test_purpose_not_declared_for_that_recipient(
    runtime: Runtime, tenant: Tenant, declaration: Declaration
) -> None:
    s = add_subject(runtime, tenant.id)
    check = _check(
        runtime, tenant.id, declaration, [s], "crm", ["user.contact"], "partner-marketing"
    )
    assert check.blocked and _codes(check) == [("purpose_not_declared_for_recipient", None, None)]


def test_sale_to_a_subject_who_opted_out_is_refused(
    runtime: Runtime, tenant: Tenant, declaration: Declaration
) -> None:
    out_email = fake_email()
    opted_out = add_subject(runtime, tenant.id, email=out_email)
    other = add_subject(runtime, tenant.id)
    _opt_out(runtime, tenant.id, out_email, "sale")
    check = _check(
        runtime,
        tenant.id,
        declaration,
        [opted_out, other],
        "listco",
        ["user.contact"],
        "direct-mail",
    )
    assert check.basis == Basis.SALE
    assert _codes(check) == [("subject_opted_out_of_sale", opted_out, None)]
    assert check.allowed == {other: ["user.contact"]}
    # The same subject may still go to a service provider: an opt-out of sale is not of that.
    assert _check(
        runtime, tenant.id, declaration, [opted_out], "crm", ["user.contact"], "support"
    ).ok


def test_sharing_to_a_subject_who_opted_out_of_targeted_advertising_is_refused(
    runtime: Runtime, tenant: Tenant, declaration: Declaration
) -> None:
    email = fake_email()
    s = add_subject(runtime, tenant.id, email=email)
    _opt_out(runtime, tenant.id, email, "targeted_advertising")
    check = _check(
        runtime, tenant.id, declaration, [s], "adnet", ["user.contact"], "partner-marketing"
    )
    assert _codes(check) == [("subject_opted_out_of_sharing", s, None)]
    assert check.allowed == {}


def test_sale_of_a_minor_is_refused_by_the_state_rule(
    runtime: Runtime, tenant: Tenant, declaration: Declaration
) -> None:
    ca_15 = add_subject(runtime, tenant.id, jurisdiction="CA", birth_date=_born(15))
    ca_17 = add_subject(runtime, tenant.id, jurisdiction="CA", birth_date=_born(17))
    unknown_17 = add_subject(runtime, tenant.id, jurisdiction=None, birth_date=_born(17))
    adult = add_subject(runtime, tenant.id, jurisdiction=None, birth_date=_born(30))
    check = _check(
        runtime,
        tenant.id,
        declaration,
        [ca_15, ca_17, unknown_17, adult],
        "listco",
        ["user.contact"],
        "direct-mail",
    )
    # California: under 16. Unknown state: the strictest state's limit (under 18).
    assert _codes(check) == [
        ("subject_is_a_minor", ca_15, None),
        ("subject_is_a_minor", unknown_17, None),
    ]
    assert set(check.allowed) == {ca_17, adult}


def _without(text: str, old: str, new: str) -> Declaration:
    assert old in text
    return parse_declaration(text.replace(old, new))[0]


def test_sale_or_sharing_when_the_notice_says_we_do_not(runtime: Runtime, tenant: Tenant) -> None:
    text = DECLARATION.read_text()
    s = add_subject(runtime, tenant.id)
    no_sale = _without(text, "sells_personal_data: true", "sells_personal_data: false")
    check = _check(runtime, tenant.id, no_sale, [s], "listco", ["user.contact"], "direct-mail")
    assert check.blocked and _codes(check) == [("notice_says_no_sale", None, None)]
    no_sharing = _without(
        text, "shares_for_targeted_advertising: true", "shares_for_targeted_advertising: false"
    )
    check = _check(
        runtime, tenant.id, no_sharing, [s], "adnet", ["user.contact"], "partner-marketing"
    )
    assert check.blocked and _codes(check) == [("notice_says_no_sharing", None, None)]
    # Calling a processor disclosure a sale does not make it one the notice declared.
    adopted = parse_declaration(text)[0]
    check = _check(runtime, tenant.id, adopted, [s], "crm", ["user.contact"], "support", Basis.SALE)
    assert _codes(check) == [("basis_not_declared_for_recipient", None, None)]


def test_sensitive_data_of_a_subject_who_limited_its_use_is_dropped(
    runtime: Runtime, tenant: Tenant, declaration: Declaration
) -> None:
    email = fake_email()
    limited = add_subject(runtime, tenant.id, email=email)
    other = add_subject(runtime, tenant.id)
    _opt_out(runtime, tenant.id, email, "sensitive_data_use")
    check = _check(
        runtime,
        tenant.id,
        declaration,
        [limited, other],
        "crm",
        ["user.contact", "user.biometric.health"],
        "support",
    )
    assert _codes(check) == [("subject_limited_sensitive_data", limited, "user.biometric.health")]
    assert check.allowed == {
        limited: ["user.contact"],
        other: ["user.contact", "user.biometric.health"],
    }


def test_unknown_and_foreign_subjects_are_refused(
    runtime: Runtime, tenant: Tenant, other_tenant: Tenant, declaration: Declaration
) -> None:
    theirs = add_subject(runtime, other_tenant.id)
    check = _check(
        runtime, tenant.id, declaration, [theirs, 999_999], "crm", ["user.contact"], "support"
    )
    assert [r.code for r in check.reasons] == [Refusal.SUBJECT_UNKNOWN] * 2 and check.allowed == {}
