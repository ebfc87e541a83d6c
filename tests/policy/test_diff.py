"""`policy diff`: every change listed, and each material-change kind classified as material."""

from __future__ import annotations

from pathlib import Path

import pytest

from honorbound.policy.diff import MATERIAL_KINDS, ChangeKind, diff
from honorbound.policy.loader import parse_declaration
from honorbound.policy.schema import Declaration

MINIMAL = (Path(__file__).parent / "minimal.yaml").read_text(encoding="utf-8")


def decl(text: str) -> Declaration:
    return parse_declaration(text, "test.yaml")[0]


def changed(old: str, new: str) -> Declaration:
    assert MINIMAL.count(old) == 1, old
    return decl(MINIMAL.replace(old, new))


BASE = decl(MINIMAL)

# (kind, old text, new text, expected affected subject types)
MATERIAL = [
    (
        ChangeKind.new_category,
        "  - key: user.health_and_medical\n",
        "  - key: user.location.precise\n    subjects: [customer]\n"
        "  - key: user.health_and_medical\n",
        ["customer"],
    ),
    (
        ChangeKind.new_purpose,
        "    categories: [user.contact.email]\n    consent: opt_in\n",
        "    categories: [user.contact.email, user.contact_center.call_recording]\n"
        "    consent: opt_in\n",
        ["customer"],
    ),
    (
        ChangeKind.new_profiling,
        "    use: essential.service.operations.support\n",
        "    use: essential.service.operations.support\n    profiling: true\n",
        ["customer", "prospect"],
    ),
    (
        ChangeKind.new_recipient,
        "retention:\n",
        "  - id: auditor\n    name: External auditor\n    type: third_party\n"
        "    categories: [user.contact_center.call_recording]\nretention:\n",
        ["customer"],
    ),
    (
        ChangeKind.recipient_receives_more,
        "    categories: [user.contact.email]\n    purposes: [support]\n",
        "    categories: [user.contact.email, user.health_and_medical]\n    purposes: [support]\n",
        ["customer"],
    ),
    (
        # A processor now also used for marketing (issue 13): a new use of what it receives.
        ChangeKind.recipient_new_purpose,
        "    categories: [user.contact.email]\n    purposes: [support]\n",
        "    categories: [user.contact.email]\n    purposes: [support, newsletter]\n",
        ["customer", "prospect"],
    ),
    (
        ChangeKind.new_sale,
        "    purposes: [support]\n",
        "    purposes: [support]\n    sale: true\ncommitments:\n  sells_personal_data: true\n",
        ["customer", "prospect"],
    ),
    (
        ChangeKind.new_sharing,
        "    purposes: [support]\n",
        "    purposes: [support]\n    sharing: true\n"
        "commitments:\n  shares_for_targeted_advertising: true\n",
        ["customer", "prospect"],
    ),
    (
        ChangeKind.longer_retention,
        "period: P3Y",
        "period: P5Y",
        ["customer"],
    ),
    (
        ChangeKind.fewer_rights,
        "rights: [access, delete, correct, opt_out_sale]",
        "rights: [access, correct, opt_out_sale]",
        ["customer", "prospect"],
    ),
]


@pytest.mark.parametrize(("kind", "old", "new", "subjects"), MATERIAL,
                         ids=[m[0].value for m in MATERIAL])  # fmt: skip
def test_material_change_kind(kind: ChangeKind, old: str, new: str, subjects: list[str]) -> None:
    changes = diff(BASE, changed(old, new))
    found = [c for c in changes if c.kind == kind]
    assert found, [str(c) for c in changes]
    assert all(c.material for c in found)
    assert sorted({s for c in found for s in c.subjects}) == subjects
    assert changes[0].material  # material changes are listed first


def test_every_material_kind_has_a_test() -> None:
    assert {m[0] for m in MATERIAL} == set(MATERIAL_KINDS)


def test_the_reverse_changes_are_not_material() -> None:
    for kind, old, new, _ in MATERIAL:
        changes = diff(changed(old, new), BASE)
        assert changes, kind
        assert not any(c.material for c in changes), (kind, [str(c) for c in changes])


def test_no_change_no_diff() -> None:
    assert diff(BASE, decl(MINIMAL)) == []


def test_wording_changes_are_listed_as_not_material() -> None:
    changes = diff(BASE, changed("name: Example Support Co", "name: Example Support Company"))
    assert [(c.kind, c.material, c.message) for c in changes] == [
        (ChangeKind.wording, False, "'organization' changed")
    ]


def test_dropping_a_retention_trigger_keeps_data_longer() -> None:
    new = changed("      - trigger: until_consent_withdrawn\n", "")
    kinds = {c.kind for c in diff(BASE, new)}
    assert ChangeKind.longer_retention in kinds


def test_shorter_retention_is_not_material() -> None:
    changes = diff(BASE, changed("period: P3Y", "period: P2Y"))
    # One per category x subject type the rule covers (customers: three categories).
    assert [c.kind for c in changes] == [ChangeKind.shorter_retention] * 3
    assert not any(c.material for c in changes)


def test_removing_a_way_to_exercise_rights_is_fewer_rights() -> None:
    changes = diff(BASE, changed("methods: [email, phone]", "methods: [email]"))
    assert [c.kind for c in changes if c.material] == [ChangeKind.fewer_rights] * 2
    assert "no longer be exercised by phone" in changes[0].message


def test_removed_category_is_listed_but_not_material() -> None:
    new = changed(
        "  - key: user.contact_center.call_recording\n    examples: [call recordings]\n"
        "    subjects: [customer]\n",
        "",
    )
    changes = diff(BASE, new)
    assert [c.kind for c in changes] == [ChangeKind.removed_category]
    assert changes[0].as_dict()["material"] is False


def test_dropping_consent_is_fewer_rights() -> None:
    changes = diff(BASE, changed("    consent: opt_in\n", ""))
    assert [(c.kind, c.material) for c in changes if c.material] == [
        (ChangeKind.fewer_rights, True)
    ]
    assert "purpose 'Newsletter' no longer asks for consent (was opt_in)" in [
        c.message for c in changes
    ]
    assert changes[0].subjects == ["customer", "prospect"]
