"""Values sealed with a subject's data key, bound to where they belong.

The associated data names the organization, the subject's key id and the field (for example
`record:user.contact.email` or `interaction:body`), so a ciphertext moved to another subject,
organization or field fails authentication instead of decrypting in the wrong place.
"""

from __future__ import annotations

from collections.abc import Callable

from honorbound.crypto.aead import open_sealed, opener, seal


def associated_data(organization_id: int, key_id: str, field: str) -> bytes:
    return f"vault|{organization_id}|{key_id}|{field}".encode()


def seal_text(dek: bytes, organization_id: int, key_id: str, field: str, text: str) -> bytes:
    return seal(dek, text.encode("utf-8"), associated_data(organization_id, key_id, field))


def open_text(dek: bytes, organization_id: int, key_id: str, field: str, sealed: bytes) -> str:
    return open_sealed(dek, sealed, associated_data(organization_id, key_id, field)).decode("utf-8")


def text_opener(dek: bytes, organization_id: int, key_id: str) -> Callable[[str, bytes], str]:
    """`open_text` for many values of one subject, `(field, sealed) -> text`: the cipher set up
    once and the associated data built once per field."""
    open_one = opener(dek)
    bound: dict[str, bytes] = {}

    def open_field(field: str, sealed: bytes) -> str:
        data = bound.get(field)
        if data is None:
            data = bound[field] = associated_data(organization_id, key_id, field)
        return open_one(sealed, data).decode("utf-8")

    return open_field
