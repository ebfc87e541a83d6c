"""AES-256-GCM sealing with a one-byte version prefix and a random 96-bit nonce."""

from __future__ import annotations

import os
from collections.abc import Callable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from honorbound.errors import HonorboundError

VERSION = b"\x01"
NONCE_BYTES = 12


class DecryptionError(HonorboundError):
    """The ciphertext was not made with this key (or was altered)."""

    status = 500
    title = "Decryption failed"


def seal(key: bytes, plaintext: bytes, associated_data: bytes = b"") -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return VERSION + nonce + AESGCM(key).encrypt(nonce, plaintext, associated_data or None)


def open_sealed(key: bytes, sealed: bytes, associated_data: bytes = b"") -> bytes:
    return opener(key)(sealed, associated_data)


def opener(key: bytes) -> Callable[[bytes, bytes], bytes]:
    """`open_sealed` with `key` for many values: the cipher is set up once (an access package
    opens every record of a person with the same key; setting it up was half the cost)."""
    cipher = AESGCM(key)

    def open_one(sealed: bytes, associated_data: bytes = b"") -> bytes:
        if len(sealed) < 1 + NONCE_BYTES + 16 or sealed[:1] != VERSION:
            raise DecryptionError("not a sealed value of a known version")
        nonce = sealed[1 : 1 + NONCE_BYTES]
        try:
            return cipher.decrypt(nonce, sealed[1 + NONCE_BYTES :], associated_data or None)
        except InvalidTag:
            raise DecryptionError("wrong key or altered data") from None

    return open_one
