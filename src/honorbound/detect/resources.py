"""Word lists shipped in `detect/data/` (plain text, one entry a line, `#` comments)."""

from __future__ import annotations

from functools import cache
from importlib import resources


@cache
def words(name: str) -> frozenset[str]:
    text = resources.files("honorbound.detect").joinpath("data", name).read_text("utf-8")
    return frozenset(
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )
