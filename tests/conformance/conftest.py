"""Conformance suites: fixtures shared by the guard side (test_guard_*.py) and the collection
side (test_collection_*.py). Each example builds its own `ConformanceApp`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conformance.app import ConformanceApp


@pytest.fixture
def make_app(_template: str, tmp_path: Path) -> Iterator[Callable[[], ConformanceApp]]:
    """A factory of fresh apps (one per Hypothesis example); all are closed at the end."""
    made: list[ConformanceApp] = []

    def make() -> ConformanceApp:
        app = ConformanceApp(_template, tmp_path)
        made.append(app)
        return app

    yield make
    for app in made:
        app.close()
