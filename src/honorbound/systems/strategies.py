"""Erasure strategies, registered by name (Fides' names): what erasure does to one value.

    delete          the whole row (or file line, or object) goes; set on the collection
    null_rewrite    the value becomes null
    string_rewrite  the value becomes a fixed mask (`configuration.rewrite_value`, default ***)
    hmac            the value becomes a keyed pseudonym `hb:` + 32 hex digits: the same input
                    gives the same pseudonym (joins and counts keep working), and without the
                    organization's key it cannot be reversed or recomputed
    keep            keys, references and non-personal fields are left as they are

Every strategy is idempotent: running it again on an erased value changes nothing, which is
what makes a retried or resumed erasure safe.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from typing import Any

from honorbound.systems.maps import Strategy

HMAC_PREFIX = "hb:"
NAMES = ("delete", "null_rewrite", "string_rewrite", "hmac", "keep")


def pseudonym(key: bytes, value: Any) -> str:
    digest = hmac.new(key, str(value).encode("utf-8"), hashlib.sha256).hexdigest()
    return HMAC_PREFIX + digest[:32]


def is_erased(strategy: Strategy, value: Any) -> bool:
    if strategy.name == "null_rewrite":
        return value is None
    if strategy.name == "string_rewrite":
        return value is None or value == strategy.rewrite_value
    if strategy.name == "hmac":
        return value is None or (isinstance(value, str) and value.startswith(HMAC_PREFIX))
    return strategy.name == "keep"


def rewriter(strategy: Strategy, key: bytes) -> Callable[[Any], Any]:
    """The function that turns a value into its erased form (for files and rows in memory)."""
    if strategy.name == "null_rewrite":
        return lambda _v: None
    if strategy.name == "string_rewrite":
        return lambda v: None if v is None else strategy.rewrite_value
    if strategy.name == "hmac":
        return lambda v: v if is_erased(strategy, v) else pseudonym(key, v)
    return lambda v: v


def hmac_key(derive: Callable[[str], bytes], organization_id: int) -> bytes:
    """The organization's pseudonym key, derived from the master key (nothing to back up)."""
    return derive(f"org:{organization_id}:systems-hmac")
