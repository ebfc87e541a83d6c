"""The SVG chart helper, the rate limiter and the data-map matrix, without a browser."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select

from honorbound.policy.datamap import matrix
from honorbound.policy.loader import parse_declaration
from honorbound.ratelimit import DatabaseRateLimiter, RateLimiter, RateLimitHit
from honorbound.runtime import Runtime
from honorbound.web.charts import Series, bar_chart


def test_bar_chart_draws_every_value_and_describes_it() -> None:
    svg = str(
        bar_chart(
            "Requests <per> week",
            ["W1", "W2"],
            [Series("Access", [3, 0]), Series("Delete", [1, 6])],
        )
    )
    assert svg.startswith("<svg") and svg.count("<rect") == 4 + 2  # bars + legend keys
    assert "Requests &lt;per&gt; week" in svg and "<per>" not in svg
    assert "W1: Access 3, Delete 1; W2: Access 0, Delete 6" in svg
    # The tallest bar fills the plot; a zero is drawn with no height.
    assert 'height="176.0"' in svg and 'height="0.0"' in svg


def test_bar_chart_refuses_ragged_series() -> None:
    with pytest.raises(ValueError, match="'Access' has 1 values for 2 labels"):
        bar_chart("x", ["a", "b"], [Series("Access", [1])])


def test_empty_chart_says_so() -> None:
    assert "No data." in bar_chart("Nothing", [], [])


def test_rate_limiter_slides() -> None:
    now = [0.0]
    limiter = RateLimiter(2, 10.0, clock=lambda: now[0])
    assert limiter.hit("a") and limiter.hit("a")
    assert not limiter.hit("a")
    assert limiter.hit("b")
    assert limiter.retry_after("a") == 11
    now[0] = 10.5
    assert limiter.hit("a")


def test_matrix_links_categories_to_purposes_recipients_and_retention() -> None:
    text = Path(__file__).with_name("declaration.yaml").read_text()
    declaration, _ = parse_declaration(text, "declaration.yaml")
    rows = {row.key: row for row in matrix(declaration)}
    assert rows["user.biometric.health"].sensitive
    assert rows["user.biometric.health"].purposes == ["Answering your questions"]
    assert rows["user.contact.email"].purposes == [
        "Answering your questions",
        "Telling you about offers",
    ]
    assert [r.name for r in rows["user.contact.email"].recipients] == ["Our CRM provider"]
    # The rule's id (the code staff write) and the rule in words, in the page's language.
    assert rows["user.contact.email"].retention == [
        "contact-data: 3 years after your last activity with us"
    ]
    spanish = {row.key: row for row in matrix(declaration, "es")}
    assert spanish["user.contact.email"].retention[0].startswith("contact-data: 3 años")


def test_database_limiter_is_shared_by_processes_and_stores_no_key(runtime: Runtime) -> None:
    """Two limiters on one database stand for two server processes: the limit holds across
    them, the window slides, and the table holds an HMAC, never the address itself."""
    now = [dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC)]
    secret = runtime.keys.derived("web:rate-limit-keys")

    def limiter() -> DatabaseRateLimiter:
        return DatabaseRateLimiter(runtime.db, secret, "test.ip", 3, 60.0, clock=lambda: now[0])

    first, second = limiter(), limiter()
    address = "7:203.0.113.9"
    assert first.hit(address) and second.hit(address) and first.hit(address)
    assert not second.hit(address) and not first.hit(address)  # the fourth, in any process
    assert second.retry_after(address) == 61
    assert first.hit("7:198.51.100.4")  # another address has its own window
    now[0] += dt.timedelta(seconds=61)
    assert second.hit(address)  # the first three left the window
    with runtime.db.session() as session:
        stored = list(session.scalars(select(RateLimitHit.key_hash)))
    assert stored and all(len(h) == 64 and "203.0.113" not in h for h in stored)
    assert not any(address in h for h in stored)


def test_all_zero_chart_says_there_is_nothing_instead_of_an_axis_from_0_to_0() -> None:
    svg = str(bar_chart("Median days", ["W1", "W2"], [Series("Median days", [0.0, 0.0])]))
    assert "Nothing to show for these weeks" in svg
    assert svg.count(">0</text>") == 1  # one axis end, not "0" at both ends
    drawn = str(bar_chart("Median days", ["W1", "W2"], [Series("Median days", [0.0, 4.5])]))
    assert "Nothing to show" not in drawn and ">4.5</text>" in drawn
