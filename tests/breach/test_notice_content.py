"""Per-state content of the notice to a person, against an oracle written by hand from
/work/shared/reference/us-privacy-rules.md s.6 (CA title, headings and 12 months; CT 24 months
for an SSN; PA credit monitoring) and from the statutes as known (MA 93H s.3(b): no description
of the breach, police report, free freeze; NY 899-aa(7), NC 75-65(d), MD 14-3504(g): the state's
own agencies). The oracle names facts a reader would check (agency names, months, headings),
not the template's words, and never reads the rules or template files.

No contact detail (address, phone, website) of any agency is in the reference: the shipped
ones were written from memory and are unverified, so a person's notice names the agency and
prints none of them (the numbers below must be absent) until an override confirms them."""

from __future__ import annotations

import datetime as dt

import pytest

from honorbound.breach.models import Incident
from honorbound.breach.notices import render
from honorbound.breach.wording import load_wording
from honorbound.policy.jurisdictions import load_rules

RULES = load_rules()
WORDING = load_wording()
DESCRIPTION = "An unauthorized party copied a customer table from our ticketing database."
SSN = {"user.government_id.social_security_number", "user.contact.email"}
EMAIL = {"user.contact.email"}

# The agencies and the FTC: every notice names them (most statutes; CA, IL, MD, NC, OR, WA).
EVERYWHERE = ["Equifax", "Experian", "TransUnion", "Federal Trade Commission"]
# Unverified contact details (from memory, in the shipped rules): never in a person's notice.
NOWHERE = ["1-800-685-1111", "1-888-397-3742", "1-888-909-8872", "1-877-438-4338",
           "1-877-322-8228", "P.O. Box", "identitytheft.gov", "1-800-771-7755", "ag.ny.gov",
           "1-800-697-1220", "ncdoj.gov", "1-877-566-7226", "1-888-743-0023",
           "marylandattorneygeneral.gov", "riag.ri.gov", "1-877-877-9392"]  # fmt: skip
CA_HEADINGS = [
    "What Happened",
    "What Information Was Involved",
    "What We Are Doing",
    "What You Can Do",
    "For More Information",
]
# state -> (months offered when an SSN is exposed, or None; phrases that must be there; that
# must not be there), English.
ORACLE: dict[str, tuple[int | None, list[str], list[str]]] = {
    "CA": (12, ["Notice of Data Breach"], []),
    "CT": (24, ["security freeze"], []),
    "PA": (12, ["credit monitoring"], []),
    "DE": (12, [], []),
    "MA": (18, ["police report", "security freeze", "free of charge"], [DESCRIPTION]),
    "NY": (None, ["New York Attorney General", "Department of State"], []),
    "NC": (None, ["North Carolina Attorney General"], []),
    "MD": (None, ["Maryland Attorney General"], []),
    "RI": (None, ["police report", "security freeze", "Rhode Island Attorney General"], []),
    "TX": (None, [DESCRIPTION], ["police report"]),
    "OR": (None, ["Oregon Department of Justice", "law enforcement"], []),
}


def _incident() -> Incident:
    return Incident(
        id=7, organization_id=1, title="Ticketing export", description=DESCRIPTION,
        discovered_at=dt.datetime(2026, 11, 2, 15, tzinfo=dt.UTC),
        occurred_from=dt.datetime(2026, 10, 20, tzinfo=dt.UTC),
        occurred_to=dt.datetime(2026, 10, 30, tzinfo=dt.UTC), categories=sorted(SSN),
        contact="privacy@example.test, 1-800-555-0100", selection={}, clients=[], systems=[],
        encrypted=False, key_compromised=False, health_data_covered=False,
    )  # fmt: skip


def _text(state: str, cats: set[str], months: int | None, language: str = "en") -> str:
    letter = render(
        RULES, WORDING, _incident(), "Example Contact Center", state, cats, months, language,
        today=dt.date(2026, 11, 20),
    )  # fmt: skip
    return letter.text()


def _months_offered(state: str, cats: set[str]) -> int | None:
    # The runtime's answer (plan.identity_protection_months) for a person with these categories.
    from honorbound.breach.deadlines import plan
    from honorbound.breach.notices import protection_for

    incident = _incident()
    incident.categories = sorted(cats)
    return protection_for(RULES, plan(RULES, incident, {state: 1}), state, cats)


@pytest.mark.parametrize("state", sorted(ORACLE))
def test_each_state_notice_has_what_its_law_asks(state: str) -> None:
    months, present, absent = ORACLE[state]
    offered = _months_offered(state, SSN)
    assert offered == months, state
    text = _text(state, SSN, offered)
    for phrase in EVERYWHERE + present:
        assert phrase in text, (state, phrase)
    for phrase in absent + NOWHERE:
        assert phrase not in text, (state, phrase)
    if months:
        assert f"{months} months" in text
    else:
        assert "months of identity" not in text
    # The dates every notice gives: when it happened, when it was found, the notice's own.
    assert "2026-11-02" in text and "2026-11-20" in text and "2026-10-20" in text


def test_no_offer_without_a_government_id() -> None:
    for state in ("CA", "CT", "MA"):
        offered = _months_offered(state, EMAIL)
        assert offered is None
        assert "months of identity" not in _text(state, EMAIL, offered)


def test_california_title_and_headings_in_order() -> None:
    lines = _text("CA", SSN, 12).splitlines()
    assert lines[0] == "Notice of Data Breach"
    found = [line for line in lines if line in CA_HEADINGS]
    assert found == CA_HEADINGS


def test_massachusetts_notice_leaves_out_what_happened() -> None:
    lines = _text("MA", SSN, 18).splitlines()
    assert "What Happened" in lines  # the dates stay under it
    assert DESCRIPTION not in "\n".join(lines)
    assert "Massachusetts" in "\n".join(lines)


def test_spanish_notices_follow_the_same_states() -> None:
    ct = _text("CT", SSN, 24, "es")
    assert "24 meses" in ct and "congelamiento de seguridad" in ct
    assert "Qué sucedió" in ct and DESCRIPTION in ct
    ma = _text("MA", SSN, 18, "es")
    assert DESCRIPTION not in ma and "informe policial" in ma
    ny = _text("NY", EMAIL, None, "es")
    assert "New York Attorney General" in ny and "meses" not in ny
    for phrase in EVERYWHERE[:3]:
        assert phrase in ct and phrase in ny
    for phrase in NOWHERE:
        assert phrase not in ct and phrase not in ny


def test_an_unknown_language_is_bad_input() -> None:
    from honorbound.breach.errors import BreachInputError

    with pytest.raises(BreachInputError, match="language is one of en, es"):
        _text("CA", SSN, 12, "fr")


def test_a_rules_override_naming_state_contacts_without_listing_them_is_refused(
    tmp_path: pytest.TempPathFactory,
) -> None:
    from honorbound.policy.problems import DeclarationError

    override = tmp_path / "rules.yaml"  # type: ignore[operator]
    override.write_text("breach_notice_content:\n  TX:\n    include: [state_contacts]\n"
                        "    source: x\n    confirmed: false\n")  # fmt: skip
    with pytest.raises(DeclarationError) as err:
        load_rules(override)
    assert "state_contacts" in str(err.value)


def test_a_contact_confirmed_by_an_override_is_printed(tmp_path: pytest.TempPathFactory) -> None:
    """Counsel confirms Equifax's details in an override: then, and only then, people see them."""
    override = tmp_path / "rules.yaml"  # type: ignore[operator]
    override.write_text(
        'breach_notice_content:\n  "*":\n    contacts:\n'
        "      - {id: equifax, role: agency, name: Equifax, phone: '1-800-555-0199',"
        " source: counsel letter, confirmed: true, checked_against: 'counsel, 2026-12-07'}\n"
        "      - {id: ftc, role: ftc, name: Federal Trade Commission, source: memory}\n"
    )
    rules = load_rules(override)
    text = render(
        rules, WORDING, _incident(), "Example Contact Center", "TX", SSN, None,
        today=dt.date(2026, 11, 20),
    ).text()  # fmt: skip
    assert "Equifax, 1-800-555-0199" in text
    assert "Experian" not in text  # the override replaced the list whole
    assert "Federal Trade Commission" in text


def test_a_confirmed_contact_must_say_who_confirmed_it(tmp_path: pytest.TempPathFactory) -> None:
    from honorbound.policy.problems import DeclarationError

    override = tmp_path / "rules.yaml"  # type: ignore[operator]
    override.write_text(
        'breach_notice_content:\n  "*":\n    contacts:\n'
        "      - {id: equifax, role: agency, name: Equifax, source: x, confirmed: true}\n"
        "      - {id: ftc, role: ftc, name: Federal Trade Commission, source: memory}\n"
    )
    with pytest.raises(DeclarationError, match="checked_against"):
        load_rules(override)


@pytest.mark.parametrize(
    ("contacts", "needle"),
    [
        ("      - {id: ftc, role: ftc, name: Federal Trade Commission, source: m}\n", "agency"),
        ("      - {id: equifax, role: agency, name: Equifax, source: m}\n", "ftc"),
    ],
)
def test_the_all_states_row_must_list_the_agencies_and_the_ftc(
    tmp_path: pytest.TempPathFactory, contacts: str, needle: str
) -> None:
    """Load-time check: every notice names the agencies and the FTC, so the "*" row lists them."""
    from honorbound.policy.problems import DeclarationError

    override = tmp_path / "rules.yaml"  # type: ignore[operator]
    override.write_text('breach_notice_content:\n  "*":\n    contacts:\n' + contacts)
    with pytest.raises(DeclarationError) as err:
        load_rules(override)
    assert "'*' lists no contact with role" in str(err.value) and needle in str(err.value)
