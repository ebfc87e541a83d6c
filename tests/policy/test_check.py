"""`policy check`: malformed declarations, each with the exact `FILE:LINE: message` expected."""

from __future__ import annotations

from pathlib import Path

import pytest

from honorbound.policy.check import check_file, check_text, errors
from honorbound.policy.jurisdictions import load_rules

HERE = Path(__file__).parent
MINIMAL = (HERE / "minimal.yaml").read_text(encoding="utf-8")
EXAMPLES = sorted((HERE.parents[1] / "examples" / "policies").glob("*.yaml"))
F = "notice.yaml"


def variant(old: str, new: str) -> str:
    assert MINIMAL.count(old) == 1, f"anchor {old!r} must occur once in minimal.yaml"
    return MINIMAL.replace(old, new)


# (case id, old text, new text, expected "FILE:LINE: message" of one reported error)
MALFORMED = [
    (
        "taxonomy-typo",
        "  - key: user.contact.email\n",
        "  - key: user.contact.emial\n",
        f"{F}:14: category 'user.contact.emial' is not in the taxonomy; "
        "did you mean 'user.contact.email'?",
    ),
    (
        "data-use-typo",
        "use: marketing.communications.email",
        "use: marketing.comunications.email",
        f"{F}:29: data use 'marketing.comunications.email' is not in the taxonomy; "
        "did you mean 'marketing.communications.email'?",
    ),
    (
        "unknown-field",
        "    sensitive: true\n",
        "    sensitve: true\n",
        f"{F}:20: unknown field 'sensitve' in categories[2]; did you mean 'sensitive'?",
    ),
    (
        "missing-section",
        "children:\n  minimum_age: 13\n  on_discovery: delete\n",
        "",
        f"{F}:1: the top level needs 'children'; add it",
    ),
    (
        "bad-period",
        "period: P3Y",
        "period: 3 years",
        f"{F}:44: retention[0].triggers[0].period: '3 years' is not a period; "
        "write it as ISO 8601 like 'P6Y', 'P18M', 'P90D' or 'P0D'",
    ),
    (
        "trigger-without-period",
        "        period: P1Y\n",
        "",
        f"{F}:49: trigger 'after_collection' needs a `period` such as 'P6Y' or 'P90D'",
    ),
    (
        "bad-recipient-type",
        "type: processor",
        "type: procesor",
        f"{F}:35: recipients[0].type: 'procesor' is not one of processor, service_provider, "
        "contractor, advertising_partner, analytics_partner, affiliate, business_partner, "
        "authority, acquirer, authorized_representative, client, third_party; "
        "did you mean 'processor'?",
    ),
    (
        "purpose-names-undeclared-category",
        "    categories: [user.contact.email]\n    consent: opt_in",
        "    categories: [user.contact.phone_number]\n    consent: opt_in",
        f"{F}:30: category 'user.contact.phone_number' is not declared under `categories`; "
        "did you mean 'user.contact.email'?",
    ),
    (
        "recipient-names-undeclared-category",
        "    categories: [user.contact.email]\n    purposes: [support]",
        "    categories: [user.financial]\n    purposes: [support]",
        f"{F}:36: category 'user.financial' is not declared under `categories`; declare it first",
    ),
    (
        "recipient-names-undeclared-purpose",
        "purposes: [support]",
        "purposes: [suport]",
        f"{F}:37: purpose 'suport' is not declared under `purposes`; did you mean 'support'?",
    ),
    (
        "we-do-not-sell-but-sale-recipient",
        "    purposes: [support]\n",
        "    purposes: [support]\n    sale: true\n",
        f"{F}:38: recipient 'crm' is marked as a sale, but the notice says it does not sell "
        "personal data (`commitments.sells_personal_data: false`); change one of them",
    ),
    (
        "sensitive-category-for-targeted-ads",
        "    consent: opt_in\n",
        "    consent: opt_in\n  - id: ads\n    name: Ads\n"
        "    use: marketing.advertising.first_party.targeted\n"
        "    categories: [user.health_and_medical]\n",
        f"{F}:35: sensitive category 'user.health_and_medical' is used for targeted "
        "advertising by purpose 'ads', but the notice says sensitive data is not "
        "(`commitments.sensitive_data_for_targeted_advertising: false`)",
    ),
    (
        "category-without-retention-rule",
        "  - key: user.contact_center.call_recording\n",
        "  - key: user.device.cookie_id\n  - key: user.contact_center.call_recording\n",
        f"{F}:16: category 'user.device.cookie_id' has no retention rule for subject type "
        "'prospect'; add one under `retention`",
    ),
    (
        "duplicate-purpose-id",
        "  - id: newsletter\n",
        "  - id: support\n",
        f"{F}:27: purposes has 'support' twice; each id must be unique",
    ),
    (
        "undeclared-subject-type",
        "    examples: [call recordings]\n    subjects: [customer]",
        "    examples: [call recordings]\n    subjects: [customers]",
        f"{F}:18: subject type 'customers' is not declared under `subjects`; "
        "did you mean 'customer'?",
    ),
    (
        "method-without-contact",
        '  phone: "+1 555 0100"\n',
        "",
        f"{F}:55: rights 'us' can be exercised by phone, but `contact.phone` is not given; add it",
    ),
    (
        "yaml-syntax",
        "  name: Example Support Co\n",
        "  name: Example Support Co\n name: broken\n",
        f"{F}:5: this is not valid YAML (expected <block end>, but found '<block mapping "
        "start>'); check indentation and quotes",
    ),
    (
        "unsupported-schema",
        "schema: honorbound/declaration/v1",
        "schema: honorbound/declaration/v9",
        f"{F}:1: schema 'honorbound/declaration/v9' is not supported; "
        "write `schema: honorbound/declaration/v1`",
    ),
    (
        "duplicate-key",
        "  name: Example Support Co\n",
        "  name: Example Support Co\n  name: Other\n",
        f"{F}:5: this is not valid YAML (key 'name' appears twice in this mapping); "
        "check indentation and quotes",
    ),
    (
        "child-age-below-coppa",
        "minimum_age: 13",
        "minimum_age: 10",
        f"{F}:59: minimum age 10 is below 13 without parental consent (COPPA); raise it to 13 "
        "or set `parental_consent: true`",
    ),
    (
        "overlapping-retention-rules",
        "    categories: [user.contact.email]\n    subjects: [prospect]",
        "    categories: [user.contact.email]\n    subjects: all",
        f"{F}:46: retention rules 'customers' and 'prospects' both cover category "
        "'user.contact.email' for subject type 'customer'; narrow one of them",
    ),
    (
        "selection-not-all",
        "    categories: all\n    subjects: [customer]",
        "    categories: everything\n    subjects: [customer]",
        f"{F}:40: retention[0].categories must be `all` or a list; write `all` or `[key, ...]`",
    ),
    (
        "bad-date",
        "effective_date: 2025-01-01",
        "effective_date: first of january",
        f"{F}:2: effective_date: input should be a valid date or datetime, "
        "invalid character in year",
    ),
    (
        "third-party-targeted-while-not-sharing",
        "use: marketing.communications.email",
        "use: marketing.advertising.third_party.targeted",
        f"{F}:29: purpose 'newsletter' is third-party targeted advertising, but the notice says "
        "it does not share for targeted advertising; change one of them",
    ),
]


@pytest.mark.parametrize(("old", "new", "expected"), [c[1:] for c in MALFORMED],
                         ids=[c[0] for c in MALFORMED])  # fmt: skip
def test_malformed_declaration_reports_file_line_message(old: str, new: str, expected: str) -> None:
    problems = errors(check_text(variant(old, new), F))
    assert expected in [str(p) for p in problems], [str(p) for p in problems]


def test_there_are_at_least_fifteen_malformed_cases() -> None:
    assert len({c[0] for c in MALFORMED}) >= 15


def test_minimal_declaration_is_valid() -> None:
    assert check_text(MINIMAL, F) == []


def test_empty_file() -> None:
    assert [str(p) for p in check_text("", F)] == [
        f"{F}:1: the file is empty; start with `schema:`"
    ]


def test_not_a_mapping() -> None:
    problems = check_text("- just\n- a list\n", F)
    assert [str(p) for p in problems] == [
        f"{F}:1: a declaration is a YAML mapping that starts with `schema:`"
    ]


def test_all_problems_are_reported_at_once_sorted_by_line() -> None:
    text = variant("purposes: [support]", "purposes: [suport]").replace(
        "use: marketing.communications.email", "use: marketing.nope"
    )
    lines = [p.line for p in errors(check_text(text, F))]
    assert lines == sorted(lines) and {29, 37} <= set(lines)


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_example_passes_check(path: Path) -> None:
    assert errors(check_file(path, load_rules())) == []


def test_there_are_five_examples() -> None:
    assert {p.stem for p in EXAMPLES} >= {
        "alorica-2012",
        "liveops-2018",
        "pactera-2016",
        "fusion-bpo-2008",
        "contact-center-1-2024",
    }


def test_sensitive_hint_is_a_warning_not_an_error() -> None:
    text = variant("    sensitive: true\n", "    sensitive: false\n")
    problems = check_text(text, F)
    assert errors(problems) == []
    assert any(
        p.severity == "warning" and p.line == 20 and "usually sensitive" in p.message
        for p in problems
    )


def test_response_days_longer_than_state_law_warns() -> None:
    text = variant("response_days: 45", "response_days: 60")
    problems = check_text(text, F, load_rules())
    assert any(
        p.severity == "warning"
        and "CA law allows 45" in p.message
        and str(p).startswith(f"{F}:54: warning: ")
        for p in problems
    ), [str(p) for p in problems]


def test_advertising_partner_not_marked_sharing_warns() -> None:
    text = variant("    type: processor\n", "    type: advertising_partner\n")
    problems = check_text(text, F)
    assert errors(problems) == []
    assert any(p.severity == "warning" and p.line == 35 and "sharing" in p.message
               for p in problems), [str(p) for p in problems]  # fmt: skip


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_example_begins_with_its_promise_table(path: Path) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    header = lines[: lines.index("schema: honorbound/declaration/v1")]
    assert all(line.startswith("#") for line in header)
    assert any("Promise in the source text" in line for line in header)
    assert any("/work/shared/seeds/" in line for line in header)  # names its source text
    rows = [line for line in header if "|" in line]
    assert len(rows) >= 25, len(rows)


def test_sensitive_key_inside_an_ordinary_category_warns() -> None:
    text = variant(
        "  - key: user.contact.email\n",
        "  - key: user.contact.email\n    includes: [user.government_id.passport_number]\n",
    )
    problems = check_text(text, F)
    assert errors(problems) == []
    assert [str(p) for p in problems if p.line == 15] == [
        f"{F}:15: warning: category 'user.contact.email' includes "
        "'user.government_id.passport_number', which is usually sensitive (CPRA Civ. Code "
        "1798.140(ae)(1)(A): SSN, driver's license, state ID, passport); declare it as its own "
        "sensitive category"
    ]


def test_state_law_requires_an_appeal_and_limits_extensions() -> None:
    text = variant("    response_days: 45\n", "    response_days: 45\n    extension_days: 60\n")
    problems = [str(p) for p in check_text(text, F, load_rules())]
    # VA requires an appeal; CA does not. Both allow a 45-day extension.
    assert any(p.startswith(f"{F}:54: warning: VA law requires an appeal") for p in problems)
    assert not any("CA law requires an appeal" in p for p in problems)
    assert (
        f"{F}:54: warning: rights 'us' allow a 60-day extension, but CA law allows 45; "
        "shorten `extension_days`" in problems
    )


def test_selling_without_honoring_gpc_where_required_warns() -> None:
    text = variant(
        "    purposes: [support]\n", "    purposes: [support]\n    sale: true\n"
    ).replace("changes:\n", "commitments:\n  sells_personal_data: true\nchanges:\n")
    problems = check_text(text, F, load_rules())
    assert errors(problems) == []
    gpc = [p for p in problems if "Global Privacy Control" in p.message]
    assert len(gpc) == 1 and gpc[0].message.startswith("the law of CA requires")
    honoring = text + "cookies:\n  used: true\n  honors_opt_out_preference_signal: true\n"
    assert not any(
        "Global Privacy Control" in p.message for p in check_text(honoring, F, load_rules())
    )


def test_a_sale_without_an_opt_out_of_sale_is_an_error() -> None:
    """Issue 13: a notice that sells must offer the opt-out (CCPA 1798.120/1798.135)."""
    selling = variant(
        "    purposes: [support]\n", "    purposes: [support]\n    sale: true\n"
    ).replace("children:", "commitments:\n  sells_personal_data: true\nchildren:")
    assert errors(check_text(selling, F)) == []  # minimal.yaml offers opt_out_sale
    no_opt_out = selling.replace(
        "rights: [access, delete, correct, opt_out_sale]", "rights: [access, delete, correct]"
    )
    problems = [str(p) for p in errors(check_text(no_opt_out, F))]
    line = no_opt_out.splitlines().index("    sale: true") + 1
    assert problems == [
        f"{F}:{line}: the notice sells personal data but offers no way to opt out of it; add "
        "`opt_out_sale` to a `rights` offer (with its methods)"
    ]


def test_a_per_recipient_opt_out_is_a_yes_or_no_with_its_line() -> None:
    text = variant("    purposes: [support]\n", "    purposes: [support]\n    opt_out: maybe\n")
    problems = [str(p) for p in check_text(text, F)]
    line = text.splitlines().index("    opt_out: maybe") + 1
    assert any(p.startswith(f"{F}:{line}:") and "opt_out" in p for p in problems), problems
    offered = variant("    purposes: [support]\n", "    purposes: [support]\n    opt_out: true\n")
    assert errors(check_text(offered, F)) == []
