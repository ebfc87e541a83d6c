"""Signatures of the protocols: Ed25519 on what agents send (DRP s.3.07), ECDSA P-256 with
SHA-256 on what we send controllers (OpenDSR s.4.2, FIPS 186-4)."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.x509.oid import NameOID

from honorbound.errors import HonorboundError


class BadSignature(HonorboundError, ValueError):
    """The message is not signed by the key it claims; the message says which check failed."""

    status = 403
    title = "Bad signature"


def parse_verify_key(text: str, size: int = 32) -> Ed25519PublicKey:
    """An agent's `verify_key` (base64 of the raw key, DRP s.3.05.1 since 0.9.1)."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("verify_key must be base64") from None
    if len(raw) != size:
        raise ValueError(f"verify_key must be {size} bytes (an Ed25519 public key)")
    return Ed25519PublicKey.from_public_bytes(raw)


def open_signed(body: bytes, key: Ed25519PublicKey, signature_bytes: int = 64) -> bytes:
    """The JSON inside a DRP signed body: base64 of signature || message (libsodium combined
    mode, s.3.07.1), checked in the order s.3.07 gives (decode, then signature)."""
    try:
        buffer = base64.b64decode(body.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise BadSignature(
            "the body is not base64 (DRP s.3.07: signed bodies are base64)"
        ) from None
    if len(buffer) <= signature_bytes:
        raise BadSignature("the body is too short to hold a signature and a message")
    signature, message = buffer[:signature_bytes], buffer[signature_bytes:]
    try:
        key.verify(signature, message)
    except InvalidSignature:
        raise BadSignature("the signature does not verify with the agent's key") from None
    return message


# -- our signing key for controllers (OpenDSR) -----------------------------------------------
@dataclass(frozen=True)
class ProcessorKey:
    key: ec.EllipticCurvePrivateKey
    certificate_pem: bytes

    def sign(self, body: bytes) -> str:
        """Base64 of the DER ECDSA signature over SHA-256 of `body` (the raw bytes sent)."""
        return base64.b64encode(self.key.sign(body, ec.ECDSA(hashes.SHA256()))).decode("ascii")


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def _self_signed(key: ec.EllipticCurvePrivateKey, domain: str) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, domain)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=825))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(domain)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


def load_processor_key(key_file: Path, certificate_file: Path | None, domain: str) -> ProcessorKey:
    """The key in `key_file` (PEM, created 0600 when missing) and the certificate controllers
    verify with: `certificate_file` when the operator gave one (OpenDSR s.4.1 wants one issued
    by a trusted CA), else a self-signed one made once for `domain` and kept beside the key as
    `<key_file>.crt` (not what s.4.1 asks: see docs/protocols.md)."""
    if key_file.exists():
        loaded = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
        if not isinstance(loaded, ec.EllipticCurvePrivateKey) or loaded.curve.name != "secp256r1":
            raise ValueError(f"{key_file}: not an ECDSA P-256 private key (PEM)")
        key = loaded
    else:
        key = ec.generate_private_key(ec.SECP256R1())
        _write_private(
            key_file,
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
        )
    if certificate_file is None:
        # Kept beside the key, so every process serves the same certificate.
        certificate_file = key_file.with_name(key_file.name + ".crt")
        if not certificate_file.exists():
            _write_private(certificate_file, _self_signed(key, domain))
    pem = certificate_file.read_bytes()
    cert = x509.load_pem_x509_certificate(pem)
    public = cert.public_key()
    if not isinstance(public, ec.EllipticCurvePublicKey) or (
        public.public_numbers() != key.public_key().public_numbers()
    ):
        raise ValueError(f"{certificate_file}: the certificate is not for the signing key")
    return ProcessorKey(key, pem)
