"""Identity normalisation and blind indexes.

An identity (email, phone, account id, cookie id, device id, external id) is normalised, then
looked up through a keyed HMAC of its normalised form (a blind index): the database can find
`+14155550100` without holding it in clear. The key is per organization, so the same phone in
two organizations gives unrelated index values.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from enum import StrEnum

import phonenumbers

from honorbound.errors import HonorboundError


class IdentityKind(StrEnum):
    EMAIL = "email"
    PHONE = "phone"
    ACCOUNT_ID = "account_id"
    COOKIE_ID = "cookie_id"
    DEVICE_ID = "device_id"
    EXTERNAL_ID = "external_id"


class InvalidIdentity(HonorboundError, ValueError):
    """The value cannot be an identity of that kind. The message never quotes the value."""

    status = 422
    title = "Invalid identity"

    def __init__(self, message: str, field: str = "identity") -> None:
        super().__init__(message)
        # The input at fault: the value ("identity") or, for an unknown kind, "kind".
        self.field = field

    def errors(self) -> list[dict[str, str]]:
        return [{"field": self.field, "message": str(self)}]


_LOCAL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}$")
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def normalize_email(value: str) -> str:
    """Lower-case the whole address; encode the domain with IDNA (xn--) so one spelling wins."""
    text = value.strip()
    local, sep, domain = text.rpartition("@")
    if not sep or not local or not domain:
        raise InvalidIdentity("email must have a name, an @ and a domain")
    if not _LOCAL.match(local) or ".." in local or local.startswith(".") or local.endswith("."):
        raise InvalidIdentity("email has characters that are not allowed before the @")
    try:
        ascii_domain = domain.rstrip(".").encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise InvalidIdentity("email domain is not a valid domain name") from None
    labels = ascii_domain.split(".")
    if len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
        raise InvalidIdentity("email domain is not a valid domain name")
    return f"{local.lower()}@{ascii_domain}"


def normalize_phone(value: str, default_region: str = "US") -> str:
    """E.164 (`+14155550100`). Numbers without a country code are read in `default_region`."""
    try:
        parsed = phonenumbers.parse(value.strip(), default_region)
    except phonenumbers.NumberParseException:
        raise InvalidIdentity("phone is not a phone number") from None
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidIdentity("phone is not a valid number for its country")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


_OPAQUE = re.compile(r"^[\x21-\x7e]{1,200}$")


def guess_kind(value: str) -> IdentityKind:
    """What a single typed-in identity is: an email when it has an @, otherwise a phone."""
    return IdentityKind.EMAIL if "@" in value else IdentityKind.PHONE


def normalize(kind: IdentityKind | str, value: str, default_region: str = "US") -> str:
    kind = IdentityKind(kind)
    if kind is IdentityKind.EMAIL:
        return normalize_email(value)
    if kind is IdentityKind.PHONE:
        return normalize_phone(value, default_region)
    text = value.strip()
    if not _OPAQUE.match(text):
        raise InvalidIdentity(f"{kind.value} must be 1-200 visible ASCII characters")
    return text


def blind_index(key: bytes, kind: IdentityKind | str, normalized: str) -> str:
    """Keyed HMAC-SHA256 of `kind:value`, hex. Same input and key, same output; else unrelated."""
    message = f"{IdentityKind(kind).value}:{normalized}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()
