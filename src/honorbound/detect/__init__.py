"""`honorbound.detect`: PII and intent detection for contact-center text, spoken forms
included, and redaction. A standalone library: it imports nothing else from Honorbound.

    >>> from honorbound.detect import scan, redact
    >>> [f.type for f in scan("card four one one one, one one one one, one one one one, 1111")]
    ['CREDIT_CARD']
    >>> redact("call me at 212 555 0100", operator="replace").text
    'call me at <PHONE_NUMBER>'
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from honorbound.detect import build

build.check_fresh()

from honorbound.detect.engine import INTENT_TYPES, scan, scan_many  # noqa: E402
from honorbound.detect.findings import Finding  # noqa: E402
from honorbound.detect.operators import NAMES as OPERATORS  # noqa: E402
from honorbound.detect.operators import (  # noqa: E402
    Context,
    OperatorError,
    get,
    mask_piece,
    reveal,
)

__all__ = [
    "ENTITIES",
    "INTENT_TYPES",
    "OPERATORS",
    "Finding",
    "OperatorError",
    "Redacted",
    "redact",
    "redact_many",
    "reveal",
    "scan",
    "scan_many",
]

ENTITIES = (
    "CREDIT_CARD",
    "CVV",
    "CARD_EXPIRY",
    "US_SSN",
    "US_ITIN",
    "PHONE_NUMBER",
    "EMAIL_ADDRESS",
    "DATE_OF_BIRTH",
    "DATE_TIME",
    "STREET_ADDRESS",
    "PERSON",
    "US_BANK_NUMBER",
    "ABA_ROUTING_NUMBER",
    "US_DRIVER_LICENSE",
    "US_PASSPORT",
    "IBAN_CODE",
    "IP_ADDRESS",
    "MEDICAL_RECORD",
)


@dataclass(frozen=True)
class Redacted:
    """The redacted text, and the findings with offsets into the ORIGINAL text."""

    text: str
    findings: list[Finding]


def redact(
    text: str,
    operator: str = "replace",
    *,
    key: bytes | None = None,
    findings: list[Finding] | None = None,
    entities: Iterable[str] | None = None,
    context: Context | None = None,
) -> Redacted:
    """`text` with every PII finding replaced by `operator` (intents are reported, not cut).

    `key` is required by `pseudonym` (HMAC key) and `encrypt` (16/24/32-byte AES key).
    `context` is the document's state when a document is several texts (a row's columns): the
    `synthetic` operator then gives one value the same surrogate in all of them.
    """
    apply = get(operator)
    found = scan(text) if findings is None else findings
    wanted = None if entities is None else frozenset(entities)
    ctx = Context(key=key) if context is None else context
    if key is not None:
        ctx.key = key
    if operator in ("pseudonym", "encrypt"):
        ctx.need_key(operator)
    # A value said in pieces (value_id): `mask` keeps the last four of the last piece only.
    last_piece: dict[int, int] = {}
    for finding in found:
        if finding.value_id is not None:
            last_piece[finding.value_id] = max(last_piece.get(finding.value_id, -1), finding.start)
    parts: list[str] = []
    cursor = 0
    for finding in found:
        if finding.type in INTENT_TYPES or (wanted is not None and finding.type not in wanted):
            continue
        if finding.start < cursor:
            continue
        parts.append(text[cursor : finding.start])
        value = text[finding.start : finding.end]
        if (
            operator == "mask"
            and finding.value_id is not None
            and finding.start != last_piece[finding.value_id]
        ):
            parts.append(mask_piece(finding, value))
        else:
            parts.append(apply(finding, value, ctx))
        cursor = finding.end
    parts.append(text[cursor:])
    return Redacted("".join(parts), found)


def redact_many(
    texts: Iterable[str], operator: str = "replace", *, key: bytes | None = None
) -> list[Redacted]:
    return [redact(text, operator, key=key) for text in texts]
