"""How the consent package names a person without holding their email or number.

`IdentityRef` = (kind, blind index, match key). The blind index is the vault's keyed
HMAC-SHA256 (what the ledger is keyed on); the match key is a 64-bit keyed BLAKE2b of the same
normalised value, used only by the in-memory decision snapshot, because it is about three times
cheaper per item (measured 0.7 us vs 2.1 us here) and fits a numpy int64 array.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

import numpy as np
import numpy.typing as npt
import phonenumbers

from honorbound.vault.identities import (
    IdentityKind,
    InvalidIdentity,
    blind_index,
    guess_kind,
    normalize,
    normalize_phone,
)


class Keys(Protocol):
    def derived(self, label: str) -> bytes: ...
    def blind_index_key(self, organization_id: int) -> bytes: ...


@dataclass(frozen=True)
class IdentityRef:
    kind: IdentityKind
    index: str
    match_key: int


def match_secret(keys: Keys, organization_id: int) -> bytes:
    return keys.derived(f"org:{organization_id}:consent-match")


def match_key(secret: bytes, kind: str, normalized: str) -> int:
    digest = hashlib.blake2b(f"{kind}:{normalized}".encode(), key=secret, digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def identify(
    keys: Keys, organization_id: int, value: str, kind: IdentityKind | str | None = None
) -> IdentityRef:
    """Normalise and index one identity. Raises InvalidIdentity (message never quotes it)."""
    resolved = IdentityKind(kind) if kind else guess_kind(value)
    normalized = normalize(resolved, value)
    return IdentityRef(
        resolved,
        blind_index(keys.blind_index_key(organization_id), resolved, normalized),
        match_key(match_secret(keys, organization_id), resolved, normalized),
    )


@lru_cache(maxsize=2048)
def _valid_area_code(npa: str) -> bool:
    """phonenumbers' verdict on an area code, asked once per code with a neutral exchange."""
    for exchange in ("2", "5", "8"):
        try:
            number = phonenumbers.parse(f"+1{npa}{exchange}550100")
        except phonenumbers.NumberParseException:
            return False
        if phonenumbers.is_valid_number(number):
            return True
    return False


@lru_cache(maxsize=1)
def valid_area_codes() -> frozenset[str]:
    """Every NANP area code phonenumbers accepts (asked once, for the decision hot loop)."""
    return frozenset(f"{npa}" for npa in range(200, 1000) if _valid_area_code(f"{npa}"))


@lru_cache(maxsize=1)
def _area_code_table() -> npt.NDArray[np.bool_]:
    table = np.zeros(1000, dtype=bool)
    for code in valid_area_codes():
        table[int(code)] = True
    return table


_POWERS = 10 ** np.arange(9, -1, -1, dtype=np.int64)


def plain_nanp(values: Sequence[object]) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.int64]]:
    """Vectorised `nanp_digits` for the exact shapes `+1NXXNXXXXXX`, `1NXXNXXXXXX` and
    `NXXNXXXXXX` (no separators): (mask of the values in that shape, their numbers as
    integers, in mask order). Anything else is left for the one-by-one path."""
    n = len(values)
    short = [v if type(v) is str and 10 <= len(v) <= 12 else "" for v in values]
    if not n or not any(short):
        return np.zeros(n, dtype=bool), np.zeros(0, dtype=np.int64)
    codes = np.array(short, dtype="U12").view(np.uint32).reshape(n, 12)
    length = np.count_nonzero(codes, axis=1)
    offset = np.full(n, -1, dtype=np.int64)
    offset[length == 10] = 0
    offset[(length == 11) & (codes[:, 0] == ord("1"))] = 1
    offset[(length == 12) & (codes[:, 0] == ord("+")) & (codes[:, 1] == ord("1"))] = 2
    shaped = offset >= 0
    rows = np.flatnonzero(shaped)
    digits = codes[rows[:, None], offset[rows][:, None] + np.arange(10)].astype(np.int64) - 48
    ok = ((digits >= 0) & (digits <= 9)).all(axis=1) & (digits[:, 3] >= 2)
    number = digits @ _POWERS
    ok &= _area_code_table()[np.clip(number // 10_000_000, 0, 999)]
    mask = np.zeros(n, dtype=bool)
    mask[rows[ok]] = True
    return mask, number[ok]


def nanp_digits(value: str) -> str | None:
    """The 10 NANP digits of `value` if it is plainly written, else None (use the slow path).

    Accepts `+1NXXNXXXXXX`, `1NXXNXXXXXX` and `NXXNXXXXXX`, with the usual separators. The area
    code is checked against phonenumbers once per code (cached), so this agrees with
    `normalize_phone` on plainly written numbers at a fraction of its cost.
    """
    digits = value
    if not digits.isdigit():
        digits = "".join(c for c in value if c.isdigit())
        if not digits or any(c not in "0123456789+-(). " for c in value):
            return None
    if len(digits) == 11 and digits[0] == "1":
        digits = digits[1:]
    if len(digits) != 10 or digits[0] in "01" or digits[3] in "01":
        return None
    return digits if _valid_area_code(digits[:3]) else None


def normalize_phone_fast(value: str) -> str:
    digits = nanp_digits(value)
    return f"+1{digits}" if digits is not None else normalize_phone(value)


__all__ = [
    "IdentityKind",
    "IdentityRef",
    "InvalidIdentity",
    "guess_kind",
    "identify",
    "match_key",
    "match_secret",
    "nanp_digits",
    "plain_nanp",
    "normalize_phone_fast",
]
