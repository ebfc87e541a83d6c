"""One record at a time: what `honorbound scan` / `honorbound redact` and `honorbound.spark` do
to each input text, so that the command line and a Spark job give the same output for the same
input. Also the two inputs both take from their users: the entity types to act on, and the key.

    >>> from honorbound.detect.records import redact_record, select_entities
    >>> phones = select_entities("PHONE_NUMBER")
    >>> record = redact_record(7, "call 212 555 0147", "mask", None, phones)
    >>> record["text"], [f["type"] for f in record["findings"]]
    ('call *** *** 0147', ['PHONE_NUMBER'])

Errors are `ValueError`s whose message is a sentence naming what was wrong, never the value.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping

from honorbound.detect import ENTITIES, INTENT_TYPES, redact, scan
from honorbound.detect.findings import Finding
from honorbound.detect.operators import Context

KNOWN_TYPES = frozenset(ENTITIES) | INTENT_TYPES
KEY_OPERATORS = frozenset({"pseudonym", "encrypt"})
KEY_SIZES = (16, 24, 32)


def check_entities(names: Iterable[str]) -> frozenset[str]:
    """`names` as a set, or ValueError naming the first unknown type."""
    chosen = []
    for name in names:
        if name not in KNOWN_TYPES:
            raise ValueError(f"unknown type '{name[:40]}'; known: {', '.join(sorted(KNOWN_TYPES))}")
        chosen.append(name)
    return frozenset(chosen)


def select_entities(spec: str | None) -> frozenset[str] | None:
    """A comma-separated list of types (`CREDIT_CARD,US_SSN`), or None for every type."""
    if spec is None:
        return None
    chosen = check_entities(part.strip() for part in spec.split(",") if part.strip())
    if not chosen:
        raise ValueError("no entity type given; name at least one, or leave the option out")
    return chosen


def parse_key(raw: bytes) -> bytes:
    """A key given as raw bytes or as hex digits (surrounding whitespace ignored)."""
    text = raw.strip()
    try:
        key = bytes.fromhex(text.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        key = raw
    if len(key) not in KEY_SIZES:
        raise ValueError("a key is 16, 24 or 32 bytes (or twice as many hex digits)")
    return key


def read_key(
    operator: str, path: str | None, env: str | None, environ: Mapping[str, str]
) -> bytes | None:
    """The key `operator` needs, from a file or an environment variable, or None when it needs
    none. Never taken from the command line itself (it would show in the process list)."""
    if operator not in KEY_OPERATORS:
        return None
    if path is not None and env is not None:
        raise ValueError("give the key one way: --key-file or --key-env, not both")
    if path is None and env is None:
        raise ValueError(
            f"the '{operator}' operator needs --key-file or --key-env "
            "(32 bytes, raw or as 64 hex digits)"
        )
    if path is not None:
        where = path
        try:
            with open(path, "rb") as handle:
                raw = handle.read(4096)
        except OSError as exc:
            raise ValueError(f"{path}: cannot read the key file ({exc.strerror})") from None
    else:
        assert env is not None
        where = f"environment variable {env}"
        value = environ.get(env)
        if not value:
            raise ValueError(f"{where} is not set or empty; put the key in it (64 hex digits)")
        raw = value.encode()
    try:
        return parse_key(raw)
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None


def parse_line(raw: bytes) -> tuple[object, str] | str:
    """(id, text) of one JSON Lines input line, or a sentence saying what is wrong with it."""
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"not valid UTF-8 (byte {exc.start + 1})"
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        return f"not valid JSON ({exc.msg} at column {exc.colno})"
    if not isinstance(record, dict):
        return "expected a JSON object with 'id' and 'text'"
    if "text" not in record or not isinstance(record["text"], str):
        return "field 'text' is missing or not a string"
    if "id" not in record:
        return "field 'id' is missing"
    ident = record["id"]
    if ident is not None and not isinstance(ident, str | int | float):
        return "field 'id' must be a string, a number or null"
    return ident, record["text"]


def scan_text(text: str, entities: frozenset[str] | None) -> list[Finding]:
    return scan(text, entities=entities)


def redact_text(
    text: str,
    operator: str,
    key: bytes | None,
    entities: frozenset[str] | None,
    context: Context | None = None,
) -> tuple[str, list[Finding]]:
    """The redacted text and the findings reported for it (only the chosen types, if any).

    `context` carries synthetic surrogates between texts of one document (a row's columns)."""
    found = scan(text, entities=entities)
    done = redact(text, operator, key=key, findings=found, context=context)
    return done.text, found


def scan_record(ident: object, text: str, entities: frozenset[str] | None) -> dict[str, object]:
    return {"id": ident, "findings": [f.to_dict() for f in scan_text(text, entities)]}


def redact_record(
    ident: object,
    text: str,
    operator: str,
    key: bytes | None,
    entities: frozenset[str] | None,
) -> dict[str, object]:
    redacted, found = redact_text(text, operator, key, entities)
    return {"id": ident, "text": redacted, "findings": [f.to_dict() for f in found]}
