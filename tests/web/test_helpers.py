"""The SVG chart helper, the rate limiter and the data-map matrix, without a browser."""

from __future__ import annotations

from pathlib import Path

import pytest

from honorbound.policy.loader import parse_declaration
from honorbound.web.charts import Series, bar_chart
from honorbound.web.datamap import matrix
from honorbound.web.ratelimit import RateLimiter


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
    assert rows["user.contact.email"].retention == ["contact-data: after last activity (P3Y)"]
