"""Personal values a request must keep (where to answer, the declaration's typed name,
correction values), sealed under an organization key derived for rights requests."""

from __future__ import annotations

import json
from typing import Any

from honorbound.crypto.aead import open_sealed, seal
from honorbound.rights.context import KeyRingLike


def _key(keys: KeyRingLike, organization_id: int) -> bytes:
    return keys.derived(f"org:{organization_id}:rights")


def _aad(organization_id: int, request_reference: str, field: str) -> bytes:
    return f"rights|{organization_id}|{request_reference}|{field}".encode()


def seal_value(
    keys: KeyRingLike, organization_id: int, reference: str, field: str, value: Any
) -> bytes:
    data = json.dumps(value, sort_keys=True).encode()
    return seal(_key(keys, organization_id), data, _aad(organization_id, reference, field))


def open_value(
    keys: KeyRingLike, organization_id: int, reference: str, field: str, sealed: bytes
) -> Any:
    data = open_sealed(_key(keys, organization_id), sealed, _aad(organization_id, reference, field))
    return json.loads(data)
