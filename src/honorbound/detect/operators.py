"""What redaction puts in place of a finding. Operators are registered by name:

- `replace`   `<CREDIT_CARD>`
- `redact`    nothing (the value is cut out)
- `mask`      every letter and digit but the last four becomes `*` (spoken numbers are
              masked as digits: "four one one one ... one one one one" -> "************1111")
- `pseudonym` `<CREDIT_CARD_3f9a0c1be2d47a55>`: HMAC-SHA256 with an organization key over the
              type and the canonical value (digits for numbers, lower case for emails), so the
              same card written or spoken gives the same token in every document
- `encrypt`   `<enc:CREDIT_CARD:...>`: AES-256-GCM with the key, the type as associated data;
              `reveal()` turns the tokens back into the values
- `synthetic` a made-up value of the same shape (Faker; Luhn-valid cards, 555-01xx phones),
              the same surrogate for the same value within one document
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from honorbound.detect.digits import to_digits
from honorbound.detect.findings import Finding

NUMERIC = frozenset(
    {
        "CREDIT_CARD",
        "CVV",
        "CARD_EXPIRY",
        "US_SSN",
        "US_ITIN",
        "PHONE_NUMBER",
        "US_BANK_NUMBER",
        "ABA_ROUTING_NUMBER",
    }
)
NAMES = ("replace", "redact", "mask", "pseudonym", "encrypt", "synthetic")
_TOKEN = re.compile(r"<enc:([A-Z_]{1,40}):([A-Za-z0-9_\-]{20,4096})>")


class OperatorError(ValueError):
    """A redaction cannot be made as asked (unknown operator, missing or bad key)."""


def canonical(kind: str, value: str) -> str:
    """The value a pseudonym is computed over: spoken and written forms agree."""
    if kind in NUMERIC:
        return to_digits(value) or value
    if kind == "EMAIL_ADDRESS":
        lowered = value.lower()
        lowered = re.sub(r"\s+(?:dot|period|punto)\s+", ".", lowered)
        lowered = re.sub(r"\s+(?:at|arroba)\s+", "@", lowered)
        lowered = re.sub(r"\s+underscore\s+", "_", lowered)
        lowered = re.sub(r"\s+(?:dash|hyphen|guion)\s+", "-", lowered)
        return lowered.replace(" ", "")
    return " ".join(value.casefold().split())


@dataclass
class Context:
    """Per-document state: keys, and the surrogates already handed out."""

    key: bytes | None = None
    surrogates: dict[tuple[str, str], str] = field(default_factory=dict)
    rng: random.Random = field(default_factory=lambda: random.Random(os.urandom(16)))
    _faker: Any = None

    def need_key(self, operator: str) -> bytes:
        if not self.key:
            raise OperatorError(f"the '{operator}' operator needs a key (bytes)")
        return self.key

    def faker(self) -> Any:
        if self._faker is None:
            from faker import Faker

            self._faker = Faker("en_US")
            self._faker.seed_instance(self.rng.getrandbits(64))
        return self._faker


def _replace(finding: Finding, value: str, ctx: Context) -> str:
    return f"<{finding.type}>"


def _redact(finding: Finding, value: str, ctx: Context) -> str:
    return ""


def _mask(finding: Finding, value: str, ctx: Context) -> str:
    if finding.type in NUMERIC and any(ch.isalpha() for ch in value):
        number = to_digits(value)
        if number:
            return "*" * max(0, len(number) - 4) + number[-4:]
    positions = [i for i, ch in enumerate(value) if ch.isalnum()]
    keep = set(positions[-4:]) if len(positions) > 4 else set()
    return "".join("*" if ch.isalnum() and i not in keep else ch for i, ch in enumerate(value))


def mask_piece(finding: Finding, value: str) -> str:
    """`mask` for a piece of a value said in several pieces that is not the last one: nothing
    kept, or each piece would show its own last four."""
    if finding.type in NUMERIC and any(ch.isalpha() for ch in value):
        number = to_digits(value)
        if number:
            return "*" * len(number)
    return "".join("*" if ch.isalnum() else ch for ch in value)


def _pseudonym(finding: Finding, value: str, ctx: Context) -> str:
    key = ctx.need_key("pseudonym")
    message = f"{finding.type}\x00{canonical(finding.type, value)}".encode()
    digest = hmac.new(key, message, hashlib.sha256).hexdigest()[:16]
    return f"<{finding.type}_{digest}>"


def _encrypt(finding: Finding, value: str, ctx: Context) -> str:
    key = ctx.need_key("encrypt")
    try:
        aead = AESGCM(key)
    except ValueError:
        raise OperatorError("the 'encrypt' operator needs a 16, 24 or 32 byte key") from None
    nonce = os.urandom(12)
    sealed = nonce + aead.encrypt(nonce, value.encode(), finding.type.encode())
    return f"<enc:{finding.type}:{base64.urlsafe_b64encode(sealed).decode().rstrip('=')}>"


def reveal(text: str, key: bytes) -> str:
    """Text with every `<enc:TYPE:...>` token made by `encrypt` replaced by its value.

    Raises OperatorError when a token was not made with this key (or was altered)."""
    from cryptography.exceptions import InvalidTag

    aead = AESGCM(key)

    def one(match: re.Match[str]) -> str:
        raw = match.group(2)
        sealed = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
        try:
            return aead.decrypt(sealed[:12], sealed[12:], match.group(1).encode()).decode()
        except InvalidTag:
            raise OperatorError(
                "an encrypted value does not open with this key (wrong key or altered text)"
            ) from None

    return _TOKEN.sub(one, text)


def _luhn_complete(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        n = int(ch)
        if i % 2 == 0:
            n *= 2
            if n > 9:
                n -= 9
        total += n
    return body + str((10 - total % 10) % 10)


def _reshape(template: str, digits_out: str) -> str:
    """`digits_out` laid into the separators of a written `template`."""
    if any(ch.isalpha() for ch in template) or sum(ch.isdigit() for ch in template) != len(
        digits_out
    ):
        return digits_out
    it = iter(digits_out)
    return "".join(next(it) if ch.isdigit() else ch for ch in template)


def _shape(value: str, rng: random.Random) -> str:
    out = []
    for ch in value:
        if ch.isdigit():
            out.append(str(rng.randrange(10)))
        elif ch.isalpha():
            letter = chr(rng.randrange(26) + 97)
            out.append(letter.upper() if ch.isupper() else letter)
        else:
            out.append(ch)
    return "".join(out)


def _surrogate(kind: str, value: str, ctx: Context) -> str:
    rng = ctx.rng
    number = to_digits(value) if kind in NUMERIC else ""
    if kind == "CREDIT_CARD" and number:
        body = number[0] + "".join(str(rng.randrange(10)) for _ in range(len(number) - 2))
        return _reshape(value, _luhn_complete(body))
    if kind == "PHONE_NUMBER" and number:
        made = "".join(str(rng.randrange(10)) for _ in range(len(number)))
        if len(number) >= 10:  # 555-0100..0199 are set aside for fiction
            made = made[:-10] + str(rng.randrange(2, 10)) + made[-9:-7] + "55501" + made[-2:]
        return _reshape(value, made)
    if kind == "US_SSN" and number:
        # Area 9xx is never issued as an SSN, so a surrogate cannot be someone's number.
        return _reshape(value, "9" + "".join(str(rng.randrange(10)) for _ in range(8)))
    if number:
        return _reshape(value, "".join(str(rng.randrange(10)) for _ in range(len(number))))
    fake = ctx.faker()
    if kind == "EMAIL_ADDRESS":
        return str(fake.safe_email())
    if kind == "PERSON":
        parts = len(value.split())
        if parts <= 1:
            return str(fake.first_name())
        if parts == 2:
            return f"{fake.first_name()} {fake.last_name()}"
        return f"{fake.first_name()} {fake.first_name()} {fake.last_name()}"
    if kind == "STREET_ADDRESS":
        return str(fake.street_address())
    if kind == "IBAN_CODE":
        return str(fake.iban())
    if kind == "IP_ADDRESS":
        return str(fake.ipv6() if ":" in value else fake.ipv4())
    if kind in ("DATE_TIME", "DATE_OF_BIRTH") and re.fullmatch(r"[\d/.\-]+", value):
        return _shape(value, rng) if not value[:1].isdigit() else _date_like(value, rng)
    if kind in ("DATE_TIME", "DATE_OF_BIRTH"):
        return str(fake.date_of_birth().strftime("%B %d, %Y"))
    return _shape(value, rng)


def _date_like(value: str, rng: random.Random) -> str:
    parts = re.split(r"([/.\-])", value)
    numbers = parts[0::2]
    made = []
    for index, part in enumerate(numbers):
        width = len(part)
        if width == 4:
            made.append(str(rng.randrange(1940, 2005)))
        elif index == 0 or (index == 1 and width <= 2):
            made.append(str(rng.randrange(1, 13 if index == 0 else 29)).zfill(width))
        else:
            made.append(str(rng.randrange(0, 100)).zfill(width))
    out = []
    for index, part in enumerate(parts):
        out.append(made[index // 2] if index % 2 == 0 else part)
    return "".join(out)


def _synthetic(finding: Finding, value: str, ctx: Context) -> str:
    slot = (finding.type, canonical(finding.type, value))
    if slot not in ctx.surrogates:
        made = _surrogate(finding.type, value, ctx)
        for _ in range(20):  # a common surname can come back from Faker: draw again
            if not _shares_a_part(value, made):
                break
            made = _surrogate(finding.type, value, ctx)
        ctx.surrogates[slot] = made
    return ctx.surrogates[slot]


def _shares_a_part(original: str, made: str) -> bool:
    """True when the surrogate repeats a word (3+ letters) or the whole of the original."""
    if made.casefold() == original.casefold():
        return True
    words = set(re.findall(r"[^\W\d_]{3,}", made.casefold()))
    return any(word in words for word in re.findall(r"[^\W\d_]{3,}", original.casefold()))


Operator = Callable[[Finding, str, Context], str]
OPERATORS: dict[str, Operator] = {
    "replace": _replace,
    "redact": _redact,
    "mask": _mask,
    "pseudonym": _pseudonym,
    "encrypt": _encrypt,
    "synthetic": _synthetic,
}


def get(name: str) -> Operator:
    try:
        return OPERATORS[name]
    except KeyError:
        raise OperatorError(
            f"unknown operator '{name}'; use one of: {', '.join(OPERATORS)}"
        ) from None
