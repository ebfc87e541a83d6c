"""Issue 14, defect 8: a one-click unsubscribe from one list stops the same sender's other lists
for that purpose (CAN-SPAM's opt-out is per sender), unless the declaration says its lists are
independent (`email_lists.unsubscribe_scope: list`)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from honorbound.accounts.roles import Role
from honorbound.audit import Actor
from honorbound.policy.loader import parse_declaration
from honorbound.policy.problems import DeclarationError
from honorbound.policy.render import render
from honorbound.policy.store import adopt_text
from honorbound.runtime import Runtime
from tests.conftest import EXAMPLE_POLICIES, Tenant, adopt_example
from tests.consent.conftest import decide, reasons
from tests.support.people import person

LISTS = ["newsletter", "offers", "events"]


def _one_click(client: TestClient, tenant: Tenant, who: str, list_id: str) -> str:
    link = client.post(
        "/v1/consent/unsubscribe-links",
        json={"identity": who, "list_id": list_id},
        headers=tenant.headers(Role.CLIENT),
    ).json()
    path = link["url"].replace("http://testserver", "")
    done = client.post(path, data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200, done.text
    return done.text


def _blocked(runtime: Runtime, tenant: Tenant, who: str, purpose: str = "marketing") -> list[bool]:
    result = decide(runtime, tenant.id, [who] * len(LISTS), purpose, "email", senders=LISTS)
    return [not allowed for allowed in result.allowed.tolist()]


def _adopt(runtime: Runtime, tenant: Tenant, scope: str) -> None:
    text = (EXAMPLE_POLICIES / "contact-center-1-2024.yaml").read_text(encoding="utf-8")
    text += f"\nemail_lists:\n  unsubscribe_scope: {scope}\n"
    with runtime.db.session() as session:
        adopt_text(session, tenant.id, text, Actor("test", "system"), jobs=runtime.jobs)


def test_by_default_one_unsubscribe_stops_every_list_of_the_sender(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    adopt_example(runtime, tenant.id)  # says nothing about lists: the default, sender-wide
    who, bystander = person().email, person().email
    page = _one_click(client, tenant, who, "newsletter")
    assert "nor from any other list" in page
    assert _blocked(runtime, tenant, who) == [True, True, True]
    # Without a list named, and in the decision's reasons.
    assert reasons(decide(runtime, tenant.id, [who], "marketing", "email")) == [("opted_out",)]
    # Only that purpose and channel, only that person.
    assert _blocked(runtime, tenant, who, "service_messages") == [False, False, False]
    assert decide(runtime, tenant.id, [who], "marketing", "voice").allowed.tolist() == [True]
    assert _blocked(runtime, tenant, bystander) == [False, False, False]


def test_a_declaration_may_keep_lists_independent(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    _adopt(runtime, tenant, "list")
    who = person().email
    page = _one_click(client, tenant, who, "offers")
    assert "nor from any other list" not in page and "on the list" in page
    assert _blocked(runtime, tenant, who) == [False, True, False]
    # Saying `sender` explicitly is the default.
    _adopt(runtime, tenant, "sender")
    other = person().email
    _one_click(client, tenant, other, "events")
    assert _blocked(runtime, tenant, other) == [True, True, True]


def test_the_notice_says_what_an_unsubscribe_covers() -> None:
    text = (EXAMPLE_POLICIES / "contact-center-1-2024.yaml").read_text(encoding="utf-8")
    plain, _ = parse_declaration(text)
    assert "Email lists" not in render(plain, "md")  # left out: nothing new in the notice
    for scope, words in (("sender", "from all of our lists"), ("list", "stops that list only")):
        declared, _ = parse_declaration(text + f"\nemail_lists:\n  unsubscribe_scope: {scope}\n")
        for fmt in ("md", "html"):
            assert words in render(declared, fmt)  # type: ignore[arg-type]


def test_an_unknown_scope_is_refused_naming_the_field() -> None:
    text = (EXAMPLE_POLICIES / "contact-center-1-2024.yaml").read_text(encoding="utf-8")
    with pytest.raises(DeclarationError) as info:
        parse_declaration(text + "\nemail_lists:\n  unsubscribe_scope: per_list\n", "cc1.yaml")
    assert "email_lists.unsubscribe_scope" in str(info.value)
    assert "sender" in str(info.value) and "list" in str(info.value)
