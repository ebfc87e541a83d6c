"""Consent receipts: the Kantara Consent Receipt v1.1 shape, signed as a JWS (EdDSA, Ed25519).

Every opt-in and opt-out event has a receipt id (a random UUID the person keeps). The receipt
is built from the event on demand and signed with a key derived from the master key, so the
same event always yields a receipt that verifies against the key published at
`/.well-known/jwks.json`. `piiPrincipalId` is the pseudonymous blind index, never the address.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from honorbound.consent.models import Action, ConsentEvent, Purpose
from honorbound.errors import HonorboundError

VERSION = "KI-CR-v1.1.0"
_COLLECTION = {
    "web_form": "web form",
    "sms_keyword": "SMS keyword reply",
    "email_one_click": "email one-click unsubscribe (RFC 8058)",
    "email_link": "email unsubscribe link",
    "agent_verbal": "verbal request recorded by an agent",
    "ivr_keypad": "IVR keypad",
    "gpc_signal": "Global Privacy Control signal",
    "rights_request": "privacy rights request",
    "controller_api": "controller API",
    "transcript_intent": "request found in a call transcript",
    "conversation": "said in a call or chat with us",
    "import": "import",
    "email": "email received by staff",
    "phone_call": "phone call taken by staff",
    "letter": "letter received by staff",
}
_THIRD_PARTY = frozenset({Purpose.SALE.value, Purpose.SHARING.value})


class Keys(Protocol):
    def derived(self, label: str) -> bytes: ...


class ReceiptError(HonorboundError, ValueError):
    """A token that is not a receipt signed by this installation."""

    status = 422
    title = "Invalid receipt"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def signing_key(keys: Keys) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(keys.derived("consent-receipt-signing")[:32])


def _public_raw(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(public: Ed25519PublicKey) -> str:
    return hashlib.sha256(_public_raw(public)).hexdigest()[:16]


def jwks(keys: Keys) -> dict[str, Any]:
    """The JSON Web Key Set that verifies every receipt (RFC 8037 OKP key)."""
    public = signing_key(keys).public_key()
    return {
        "keys": [
            {
                "kty": "OKP",
                "crv": "Ed25519",
                "x": _b64(_public_raw(public)),
                "kid": key_id(public),
                "use": "sig",
                "alg": "EdDSA",
            }
        ]
    }


def build(
    event: ConsentEvent,
    controller: str,
    controller_url: str,
    contact_email: str,
    jurisdiction: str = "US",
    current: ConsentEvent | None = None,
) -> dict[str, Any]:
    """The receipt claims for one event, in the Kantara v1.1 field names. `current` is the
    event that decides the same purpose, channel and scope now (`ledger.effective_action`):
    the receipt says whether its own choice is the one in effect. A late opt-in dated before a
    newer opt-out gets a receipt that says it is not."""
    evidence = json.loads(event.evidence or "{}")
    opt_in = event.action == Action.OPT_IN.value
    return {
        "version": VERSION,
        "jurisdiction": evidence.get("jurisdiction", jurisdiction),
        "consentTimestamp": int(event.occurred_at.timestamp()),
        "collectionMethod": _COLLECTION.get(event.source, event.source),
        "consentReceiptID": event.receipt_id,
        "language": evidence.get("language", "en"),
        "piiPrincipalId": f"{event.identity_kind}:{event.identity_index}",
        "piiControllers": [
            {
                "piiController": controller,
                "onBehalf": False,
                "contact": "Privacy team",
                "address": "",
                "email": contact_email,
                "phone": "",
                "piiControllerUrl": controller_url,
            }
        ],
        "policyUrl": f"{controller_url.rstrip('/')}/privacy",
        "services": [
            {
                "service": f"{event.channel} communications",
                "purposes": [
                    {
                        "purpose": event.purpose,
                        "purposeCategory": [event.purpose],
                        "consentType": "EXPLICIT" if opt_in else "WITHDRAWN",
                        "piiCategory": [event.identity_kind],
                        "primaryPurpose": False,
                        "termination": "until withdrawn" if opt_in else "withdrawn",
                        "thirdPartyDisclosure": event.purpose in _THIRD_PARTY,
                        "thirdPartyName": "",
                    }
                ],
            }
        ],
        "sensitive": event.purpose == Purpose.SENSITIVE_DATA_USE.value,
        "spiCat": ["sensitive data"] if event.purpose == Purpose.SENSITIVE_DATA_USE.value else [],
        # Extensions (ignored by plain v1.1 readers): what exactly was chosen, when we learned
        # of it, and whether it is the choice in effect now (choices are ordered by when the
        # person made them: consentTimestamp).
        "hb": {
            "action": event.action,
            "channel": event.channel,
            "scope": event.scope,
            "source": event.source,
            "recordedAt": int(event.recorded_at.timestamp()),
            "policyVersion": evidence.get("policy_version"),
            "inEffect": current is None or current.action == event.action,
            "currentAction": (current or event).action,
        },
    }


def sign(keys: Keys, claims: dict[str, Any]) -> str:
    """Compact JWS (`header.payload.signature`), EdDSA over Ed25519."""
    key = signing_key(keys)
    header = {"alg": "EdDSA", "typ": "JWT", "kid": key_id(key.public_key())}
    signing_input = (
        _b64(json.dumps(header, separators=(",", ":")).encode())
        + "."
        + _b64(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode())
    )
    return signing_input + "." + _b64(key.sign(signing_input.encode("ascii")))


def verify(jwk_set: dict[str, Any], token: str) -> dict[str, Any]:
    """Check a compact JWS against a published key set; returns the claims."""
    parts = token.split(".")
    if len(parts) != 3:
        raise ReceiptError("a receipt has three dot-separated parts")
    try:
        header = json.loads(_unb64(parts[0]))
        signature = _unb64(parts[2])
    except (ValueError, UnicodeDecodeError):
        raise ReceiptError("the receipt header or signature is not base64url JSON") from None
    if header.get("alg") != "EdDSA":
        raise ReceiptError("only EdDSA receipts are issued here")
    for jwk in jwk_set.get("keys", []):
        if jwk.get("kid") != header.get("kid") or jwk.get("crv") != "Ed25519":
            continue
        public = Ed25519PublicKey.from_public_bytes(_unb64(jwk["x"]))
        try:
            public.verify(signature, f"{parts[0]}.{parts[1]}".encode("ascii"))
        except InvalidSignature:
            raise ReceiptError("the receipt signature does not verify") from None
        claims: dict[str, Any] = json.loads(_unb64(parts[1]))
        return claims
    raise ReceiptError("no published key matches the receipt's key id")
