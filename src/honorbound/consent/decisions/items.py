"""Reading decision items from JSON (the API's bulk endpoint, the scrub upload) into a
`Batch`. A malformed item is marked invalid on its own, naming the field; the others are decided
normally."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, NamedTuple

from honorbound.consent import calling_hours
from honorbound.consent.decisions.model import Batch
from honorbound.vault.identities import IdentityKind

ITEM_FIELDS = frozenset(
    {"identity", "kind", "purpose", "channel", "at", "sender", "state", "time_zone"}
)
MAX_ITEMS = 100_000


def _text(item: dict[str, Any], name: str, limit: int) -> str | None:
    value = item.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise ValueError(f"{name} must be a string of at most {limit} characters")
    return value


_LIMITS = (
    ("identity", 254),
    ("purpose", 32),
    ("channel", 8),
    ("kind", 16),
    ("sender", 120),
    ("state", 2),
    ("time_zone", 64),
    ("at", 40),
)
_SIMPLE_FIELDS = frozenset({"identity", "purpose", "channel", "at"})
_AT_MESSAGE = "at must be an ISO 8601 time with a zone, e.g. 2026-05-01T14:00:00Z"


def _parse_at(raw: str) -> dt.datetime | None:
    try:
        parsed = dt.datetime.fromisoformat(raw)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _one_or_all(values: list[Any]) -> Any:
    """The single value when every item has the same one (lets `decide` skip per-item work)."""
    if values and all(v is values[0] or v == values[0] for v in values):
        return values[0]
    return values


def batch_from_items(items: Sequence[Any]) -> Batch:
    """Read JSON items `{identity, purpose, channel, at?, kind?, sender?, state?, time_zone?}`.
    A malformed item is marked invalid on its own; the others are decided normally."""
    n = len(items)
    identities: list[str] = [""] * n
    purposes: list[str] = [""] * n
    channels: list[str] = [""] * n
    ats: list[dt.datetime | None] = [None] * n
    kinds: list[str | None] = [None] * n
    senders: list[str | None] = [None] * n
    states: list[str | None] = [None] * n
    zones: list[str | None] = [None] * n
    errors: dict[int, list[tuple[str, str]]] = {}
    any_sender = any_place = any_kind = False
    parsed_at: dict[str, dt.datetime | None] = {}
    for i, item in enumerate(items):
        if type(item) is dict and item.keys() <= _SIMPLE_FIELDS:
            # The common shape, checked inline: four short strings.
            identity, purpose, channel = (
                item.get("identity"),
                item.get("purpose"),
                item.get("channel"),
            )
            raw_at = item.get("at")
            if (
                type(identity) is str
                and type(purpose) is str
                and type(channel) is str
                and len(identity) <= 254
                and len(purpose) <= 32
                and len(channel) <= 8
                and (raw_at is None or (type(raw_at) is str and len(raw_at) <= 40))
            ):
                identities[i], purposes[i], channels[i] = identity, purpose, channel
                if raw_at is not None:
                    if raw_at in parsed_at:
                        when = parsed_at[raw_at]
                    else:
                        when = parsed_at[raw_at] = _parse_at(raw_at)
                    if when is None:
                        errors[i] = [("at", _AT_MESSAGE)]
                    ats[i] = when
                continue
        read, problems = _read_item(item)
        if problems:
            errors[i] = problems
        if read is None:
            continue
        identities[i], purposes[i], channels[i] = read.identity, read.purpose, read.channel
        kinds[i], senders[i], states[i], zones[i] = read.kind, read.sender, read.state, read.zone
        any_kind |= read.kind is not None
        any_sender |= read.sender is not None
        any_place |= bool(read.state or read.zone)
        if read.at is not None:
            ats[i] = read.at
    return Batch(
        identities=identities,
        purpose=_one_or_all(purposes),
        channel=_one_or_all(channels),
        at=_one_or_all(ats),
        kinds=kinds if any_kind else None,
        senders=senders if any_sender else None,
        states=states if any_place else None,
        time_zones=zones if any_place else None,
        item_errors=errors,
    )


class _Item(NamedTuple):
    identity: str
    purpose: str
    channel: str
    kind: str | None
    sender: str | None
    state: str | None  # upper case
    zone: str | None
    at: dt.datetime | None


def _read_item(item: Any) -> tuple[_Item | None, list[tuple[str, str]]]:
    """An item of any shape, field by field: (its values, or None when its fields cannot be
    read at all; the problems found, in field order)."""
    if not isinstance(item, dict):
        return None, [("item", "each item must be an object")]
    problems: list[tuple[str, str]] = []
    unknown = sorted(set(item) - ITEM_FIELDS)
    if unknown:
        problems.append((unknown[0], f"unknown field; allowed: {', '.join(sorted(ITEM_FIELDS))}"))
    for name, limit in _LIMITS:
        try:
            _text(item, name, limit)
        except ValueError as exc:
            problems.append((name, str(exc)))
    if problems:
        return None, problems
    kind = item.get("kind")
    if kind is not None and kind not in {k.value for k in IdentityKind}:
        problems.append(("kind", "kind must be email, phone or another identity kind"))
    state = item.get("state")
    if state is not None and state.upper() not in calling_hours.STATE_CODES.values():
        problems.append(("state", "state must be a USPS code such as TX"))
    zone = item.get("time_zone")
    if zone is not None and not calling_hours.known_zone(zone):
        problems.append(("time_zone", "time_zone must be an IANA zone name"))
    raw_at = item.get("at")
    at = None
    if raw_at is not None:
        at = _parse_at(raw_at)
        if at is None:
            problems.append(("at", _AT_MESSAGE))
    read = _Item(
        identity=item.get("identity") or "",
        purpose=item.get("purpose") or "",
        channel=item.get("channel") or "",
        kind=kind,
        sender=item.get("sender"),
        state=state.upper() if state else None,
        zone=zone,
        at=at,
    )
    return read, problems
