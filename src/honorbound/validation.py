"""How a pydantic validation failure is worded for a person: a dotted field path and a short
message per error. The API's problem documents and the per-line results of bulk ingest (HTTP
and command line) word them through these functions, so both say the same thing."""

from __future__ import annotations

from typing import Any

_MESSAGES = {
    "missing": "is required",
    "extra_forbidden": "is not a known field",
    "json_invalid": "is not valid JSON",
}


def field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    """('body', 'identities', 0, 'email') -> 'body.identities[0].email'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def message(error: dict[str, Any]) -> str:
    kind = str(error.get("type", ""))
    if kind in _MESSAGES:
        return _MESSAGES[kind]
    text = str(error.get("msg", "is invalid"))
    return text.removeprefix("Value error, ")


def field_errors(raw: list[Any], prefix: tuple[Any, ...] = ("body",)) -> list[dict[str, str]]:
    """pydantic's `errors()` as `[{"field": ..., "message": ...}]` (never the input values:
    they may be personal data)."""
    return [
        {"field": field_path((*prefix, *error.get("loc", ()))), "message": message(dict(error))}
        for error in raw
    ]
