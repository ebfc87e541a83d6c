"""The master key and the keys derived from it.

The master key (32 random bytes) comes from HONORBOUND_MASTER_KEY or a 0600 key file made by
`honorbound init`. Everything else is derived with HKDF-SHA256 under a purpose label, so one
secret on disk yields independent keys for signing, blind indexes and organization keys.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from honorbound.errors import HonorboundError


class MasterKeyError(HonorboundError):
    """The master key is missing or unreadable; the message says what to do."""

    status = 500
    title = "Master key unusable"


def generate_master_key() -> bytes:
    return secrets.token_bytes(32)


def write_key_file(path: Path, key: bytes) -> None:
    """Create the key file with mode 0600; never overwrite an existing one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key.hex() + "\n")


def read_key_file(path: Path) -> bytes:
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise MasterKeyError(
            f"no master key: {path} does not exist; run `honorbound init` or set "
            "HONORBOUND_MASTER_KEY."
        ) from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise MasterKeyError(f"{path} is readable by other users; run `chmod 600 {path}`.")
    text = path.read_text(encoding="ascii").strip()
    try:
        key = bytes.fromhex(text)
    except ValueError:
        raise MasterKeyError(f"{path} does not hold 64 hexadecimal characters.") from None
    if len(key) != 32:
        raise MasterKeyError(f"{path} does not hold 64 hexadecimal characters.")
    return key


def derive(master: bytes, label: str, length: int = 32) -> bytes:
    """A key for one purpose, e.g. `session-signing` or `org:12:blind-index`."""
    return HKDF(
        algorithm=hashes.SHA256(), length=length, salt=b"honorbound/v1", info=label.encode()
    ).derive(master)
