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


@cache
def word_classes(name: str) -> dict[str, frozenset[str]]:
    """A file of "class: word word ..." lines, as class -> words."""
    text = resources.files("honorbound.detect").joinpath("data", name).read_text("utf-8")
    out: dict[str, frozenset[str]] = {}
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            kind, _, listed = line.partition(":")
            out[kind.strip()] = out.get(kind.strip(), frozenset()) | frozenset(listed.split())
    return out
