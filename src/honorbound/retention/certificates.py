"""Signed disposal certificates: proof, checkable offline, that a batch was disposed of.

Each organization has an Ed25519 key derived from the master key (so nothing extra to back
up). A certificate is canonical JSON (sorted keys, no spaces, UTF-8) signed as bytes; it holds
counts, categories, times, a hash of the disposed ids and no personal values. An auditor needs
only the certificate file and the organization's public key (`honorbound retention public-key`).
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from honorbound.crypto.keyring import KeyRing
from honorbound.errors import HonorboundError

CERTIFICATE_TYPE = "honorbound/disposal-certificate/v1"


class CertificateError(HonorboundError, ValueError):
    """A certificate file or public key that cannot be read; the message says which part."""

    status = 422
    title = "Invalid certificate"


def canonical(document: dict[str, Any]) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def signing_key(keys: KeyRing, organization_id: int) -> Ed25519PrivateKey:
    seed = keys.derived(f"org:{organization_id}:disposal-certificates")
    return Ed25519PrivateKey.from_private_bytes(seed[:32])


def public_key_pem(keys: KeyRing, organization_id: int) -> str:
    return (
        signing_key(keys, organization_id)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def key_fingerprint(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def ids_digest(ids: list[int]) -> str:
    """SHA-256 over the sorted ids, one per line: names what was disposed without values."""
    return hashlib.sha256("\n".join(str(i) for i in sorted(ids)).encode()).hexdigest()


def sign(keys: KeyRing, organization_id: int, certificate: dict[str, Any]) -> tuple[str, str]:
    """Returns (canonical JSON text, base64 signature)."""
    private = signing_key(keys, organization_id)
    body = dict(certificate, type=CERTIFICATE_TYPE, key=key_fingerprint(private.public_key()))
    data = canonical(body)
    return data.decode(), base64.b64encode(private.sign(data)).decode()


def document(certificate_text: str, signature: str) -> dict[str, Any]:
    """The file an auditor gets."""
    return {
        "certificate": json.loads(certificate_text),
        "signature": signature,
        "algorithm": "Ed25519",
    }


def load_public_key(text: str) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(text.encode())
    except ValueError as exc:
        raise CertificateError("the public key is not a PEM 'PUBLIC KEY' block") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise CertificateError("the public key is not an Ed25519 key")
    return key


def verify_document(doc: object, public_key: Ed25519PublicKey) -> dict[str, Any]:
    """Check a certificate file's signature; returns the certificate or raises
    CertificateError naming what is wrong."""
    if not isinstance(doc, dict):
        raise CertificateError("a certificate file is a JSON object")
    certificate, signature = doc.get("certificate"), doc.get("signature")
    if not isinstance(certificate, dict):
        raise CertificateError("field 'certificate' is missing or not an object")
    if not isinstance(signature, str):
        raise CertificateError("field 'signature' is missing or not a string")
    if certificate.get("type") != CERTIFICATE_TYPE:
        raise CertificateError(f"field 'certificate.type' is not {CERTIFICATE_TYPE!r}")
    try:
        raw = base64.b64decode(signature, validate=True)
    except ValueError as exc:
        raise CertificateError("field 'signature' is not base64") from exc
    if certificate.get("key") != key_fingerprint(public_key):
        raise CertificateError(
            "the certificate was signed with another key (fingerprint "
            f"{certificate.get('key')!r}, yours is {key_fingerprint(public_key)!r})"
        )
    try:
        public_key.verify(raw, canonical(certificate))
    except InvalidSignature as exc:
        raise CertificateError("the signature does not match: the certificate was altered") from exc
    return certificate
