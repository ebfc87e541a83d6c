"""Values sealed with a subject's data key, bound to where they belong.

The associated data names the organization, the subject's key id and the field (for example
`record:user.contact.email` or `interaction:body`), so a ciphertext moved to another subject,
organization or field fails authentication instead of decrypting in the wrong place.
"""

from __future__ import annotations

from honorbound.crypto.aead import open_sealed, seal


def associated_data(organization_id: int, key_id: str, field: str) -> bytes:
    return f"vault|{organization_id}|{key_id}|{field}".encode()


def seal_text(dek: bytes, organization_id: int, key_id: str, field: str, text: str) -> bytes:
    return seal(dek, text.encode("utf-8"), associated_data(organization_id, key_id, field))


def open_text(dek: bytes, organization_id: int, key_id: str, field: str, sealed: bytes) -> str:
    return open_sealed(dek, sealed, associated_data(organization_id, key_id, field)).decode("utf-8")
