"""The consumer notice speaks plain language: no taxonomy keys, ISO durations, state codes or
rule ids on the page (they stay in the machine-readable JSON), and what it says about
advertising partners matches the declaration; `policy check` names the contradiction."""

from __future__ import annotations

import re
from typing import Any

import pytest

from honorbound.demo import DEMO_DECLARATION
from honorbound.policy.check import check_file
from honorbound.runtime import Runtime
from tests.conftest import Tenant
from tests.web.conftest import LiveServer, adopt

pytestmark = pytest.mark.browser
CODES = {
    "taxonomy key": re.compile(r"\buser\.[a-z_.]+"),
    "ISO duration": re.compile(r"\bP\d+[YMWD]\b"),
    "state code": re.compile(r"\bUS-[A-Z]{2}\b"),
    "rule id": re.compile(r"\b[a-z]+(?:-[a-z]+)+:"),
}


def test_demo_notice_in_plain_words(
    page: Any, live_server: LiveServer, runtime: Runtime, tenant: Tenant
) -> None:
    adopt(runtime, tenant.id, DEMO_DECLARATION.read_text(encoding="utf-8"))
    page.goto(f"{live_server.url}/p/{tenant.slug}")
    text = page.locator("main").inner_text()
    for what, pattern in CODES.items():
        assert not pattern.search(text), f"{what} on the notice: {pattern.search(text)}"
    assert "dormant for six years" in text  # the rule's own words, not P6Y
    assert "California" in text and "Colorado" in text
    assert "opt out of the sale of your personal data" in text
    # The declaration says "no sharing for targeted advertising" and names advertising
    # partners: the page says what is given to them, not a bare "we do not share".
    sale = page.locator("#sale + p").inner_text()
    assert "We do not share personal information for targeted advertising" not in sale
    assert "Meta" in sale and "place our ads" in sale
    # Looked at: "Processors (processors)": a kind that only repeats the name is left out;
    # a kind that says more stays.
    received = page.locator("table.datamap td:nth-of-type(2) li").all_inner_texts()
    repeated = [t for t in received if re.fullmatch(r"(.+) \(\1\)", t.strip(), re.IGNORECASE)]
    assert received and repeated == [], repeated
    assert any(t.endswith("(your authorized representatives)") for t in received), received
    # The codes stay in the machine-readable notice.
    data = page.request.get(f"{live_server.url}/v1/public/orgs/{tenant.slug}/notice.json").text()
    assert "US-CA" in data and "P6Y" in data and "user.device" in data


def test_policy_check_names_the_advertising_contradiction() -> None:
    messages = [str(p) for p in check_file(DEMO_DECLARATION)]
    assert any(
        "advertising partner" in m and "says it does not share for targeted advertising" in m
        for m in messages
    ), messages
