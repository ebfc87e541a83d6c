"""Identity keying: every identity of a batch to its organization's match key (the ledger's,
`consent.identity.match_key`) and, for NANP phone numbers, its 10 digits.

Plainly written NANP numbers (the bulk of a campaign list) are parsed vectorised and keyed from
one keyed BLAKE2b state; everything else goes through the vault's normalisation one by one."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from honorbound.consent.decisions.model import Int64Array, Same
from honorbound.consent.identity import guess_kind, match_key, nanp_digits, plain_nanp
from honorbound.vault.identities import IdentityKind, InvalidIdentity, normalize

Errors = dict[int, list[tuple[str, str]]]


def phone_keys(secret: bytes, numbers: Int64Array) -> npt.NDArray[Any]:
    """Match keys of 10-digit NANP numbers (big-endian int64 view), as `match_key` computes
    them for "+1" numbers."""
    # A keyed BLAKE2b state already fed "phone:+1": copying it skips the key setup.
    phone_state = hashlib.blake2b(b"phone:+1", key=secret, digest_size=8)
    raw = numbers.astype("S10").tobytes()
    copy = phone_state.copy
    digests: list[bytes] = []
    add = digests.append
    for offset in range(0, len(raw), 10):
        state = copy()
        state.update(raw[offset : offset + 10])
        add(state.digest())
    return np.frombuffer(b"".join(digests), dtype=">i8")


def key_identities(
    secret: bytes,
    identities: Sequence[Any],
    kinds: Sequence[str | None],
    item_errors: Errors,
    errors: Errors,
) -> tuple[Int64Array, Int64Array]:
    """(match keys, NANP numbers; 0 where not a NANP phone) per item. An identity that cannot
    be read adds its problem to `errors` (unless the item already failed when read)."""
    n = len(identities)
    mk = np.zeros(n, dtype=np.int64)
    numbers = np.zeros(n, dtype=np.int64)
    if isinstance(kinds, Same) and kinds.value in (None, "phone"):
        fast, fast_numbers = plain_nanp(identities)
    else:
        fast, fast_numbers = np.zeros(n, dtype=bool), np.zeros(0, dtype=np.int64)
    if fast.any():
        mk[fast] = phone_keys(secret, fast_numbers)
        numbers[fast] = fast_numbers
    for i in np.flatnonzero(~fast).tolist():
        problem = _key_one(secret, identities[i], kinds[i], mk, numbers, i)
        if problem is None:
            continue
        if problem[1] is not None or i not in item_errors:
            errors.setdefault(i, []).append(("identity", problem[0]))
    return mk, numbers


def _key_one(
    secret: bytes, value: Any, kind: str | None, mk: Int64Array, numbers: Int64Array, i: int
) -> tuple[str, Exception | None] | None:
    """Key item `i` into `mk` / `numbers`; its problem (message, exception) when it has one.
    A missing identity has no exception: it is reported only if the item had no error yet."""
    if not isinstance(value, str) or not value:
        return "identity must be a non-empty string", None
    if kind is None or kind == "phone":
        slow = nanp_digits(value) if (kind or "@" not in value) else None
        if slow is not None:
            digest = hashlib.blake2b(b"phone:+1" + slow.encode(), key=secret, digest_size=8)
            mk[i] = int.from_bytes(digest.digest(), "big", signed=True)
            numbers[i] = int(slow)
            return None
    try:
        resolved = IdentityKind(kind) if kind else guess_kind(value)
        normalized = normalize(resolved, value)
    except (InvalidIdentity, ValueError) as exc:
        return str(exc), exc
    if resolved is IdentityKind.PHONE and normalized.startswith("+1"):
        numbers[i] = int(normalized[2:])
    mk[i] = match_key(secret, resolved.value, normalized)
    return None
