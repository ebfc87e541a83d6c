"""API key format: `hb_<prefix>_<secret>`. The prefix finds the row; the secret's SHA-256 is
stored (keys carry 256 bits of entropy, so a slow hash adds nothing)."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

KEY_PATTERN = re.compile(r"^hb_([a-z0-9]{8})_([A-Za-z0-9_-]{43})$")


@dataclass(frozen=True)
class NewKey:
    prefix: str
    secret_hash: str
    plaintext: str  # shown once, never stored


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def generate() -> NewKey:
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    prefix = "".join(secrets.choice(alphabet) for _ in range(8))
    secret = secrets.token_urlsafe(32)
    return NewKey(prefix, _hash(secret), f"hb_{prefix}_{secret}")


def parse(token: str) -> tuple[str, str] | None:
    match = KEY_PATTERN.match(token.strip())
    return (match.group(1), match.group(2)) if match else None


def secret_matches(secret: str, secret_hash: str) -> bool:
    return hmac.compare_digest(_hash(secret), secret_hash)
