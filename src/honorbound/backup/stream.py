"""Encrypting a byte stream in chunks (AES-256-GCM, the STREAM construction).

    file   = MAGIC | u32 header length | header (JSON) | chunk*
    chunk  = u32 ciphertext length | AES-GCM(key, nonce, plaintext, aad)
    nonce  = 8 random bytes from the header | u32 chunk counter
    aad    = MAGIC | header | u32 counter | 1 byte: 1 on the last chunk, else 0

Every chunk is authenticated together with its position and the header, so a chunk reordered,
dropped, altered or cut off at the end is detected; the last chunk is marked, so a file truncated
at a chunk boundary is detected too. Memory is bounded by the chunk size.
"""

from __future__ import annotations

import json
import os
import struct
from collections.abc import Iterator
from typing import IO, Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from honorbound.errors import HonorboundError

MAGIC = b"HBBACKUP1"
CHUNK = 1 << 20
_LEN = struct.Struct(">I")
_MAX_HEADER = 64 * 1024


class StreamError(HonorboundError, ValueError):
    """The encrypted file is damaged, truncated, not ours, or under another key."""

    status = 422
    title = "Invalid backup stream"


def _aad(header: bytes, counter: int, last: bool) -> bytes:
    return MAGIC + header + _LEN.pack(counter) + (b"\x01" if last else b"\x00")


def _chunks(source: IO[bytes], size: int) -> Iterator[tuple[bytes, bool]]:
    """The source in chunks of `size`, each with whether it is the last (one look-ahead)."""
    current = source.read(size)
    while True:
        following = source.read(size) if len(current) == size else b""
        yield current, not following
        if not following:
            return
        current = following


def encrypt(
    key: bytes,
    source: IO[bytes],
    target: IO[bytes],
    header: dict[str, Any],
    chunk_size: int = CHUNK,
) -> int:
    """Encrypt everything `source` yields into `target`; returns the plaintext size."""
    prefix = os.urandom(8)
    head = json.dumps({**header, "nonce_prefix": prefix.hex(), "chunk": chunk_size}).encode()
    target.write(MAGIC + _LEN.pack(len(head)) + head)
    aead = AESGCM(key)
    total = 0
    for counter, (plain, last) in enumerate(_chunks(source, chunk_size)):
        if counter >= 2**32 - 1:
            raise StreamError("the stream is too long for one file (4 PiB)")
        sealed = aead.encrypt(prefix + _LEN.pack(counter), plain, _aad(head, counter, last))
        target.write(_LEN.pack(len(sealed)) + sealed)
        total += len(plain)
    return total


def read_header(source: IO[bytes]) -> tuple[bytes, dict[str, Any]]:
    """The raw and parsed header of an encrypted file (leaves `source` after it)."""
    if source.read(len(MAGIC)) != MAGIC:
        raise StreamError("not a Honorbound backup file (wrong magic bytes)")
    raw_len = source.read(_LEN.size)
    if len(raw_len) != _LEN.size:
        raise StreamError("the file ends inside its header")
    (length,) = _LEN.unpack(raw_len)
    if length > _MAX_HEADER:
        raise StreamError("the header is implausibly large: the file is damaged")
    head = source.read(length)
    if len(head) != length:
        raise StreamError("the file ends inside its header")
    try:
        parsed = json.loads(head)
    except ValueError:
        raise StreamError("the header is not JSON: the file is damaged") from None
    if not isinstance(parsed, dict):
        raise StreamError("the header is not a JSON object: the file is damaged")
    return head, parsed


def decrypt(key: bytes, source: IO[bytes], target: IO[bytes]) -> dict[str, Any]:
    """Decrypt into `target`, checking every chunk; returns the header. On any damage raises
    `StreamError` (what was written to `target` so far must then be discarded)."""
    head, header = read_header(source)
    try:
        prefix = bytes.fromhex(str(header["nonce_prefix"]))
        chunk = int(header["chunk"])
    except (KeyError, ValueError, TypeError):
        raise StreamError("the header lacks its nonce or chunk size: the file is damaged") from None
    if len(prefix) != 8 or not 0 < chunk <= 64 * CHUNK:
        raise StreamError("the header's nonce or chunk size is invalid: the file is damaged")
    aead = AESGCM(key)
    counter = 0
    while True:
        raw_len = source.read(_LEN.size)
        if not raw_len:
            raise StreamError("the file is truncated (its last chunk is missing)")
        if len(raw_len) != _LEN.size:
            raise StreamError(f"the file is truncated inside chunk {counter}")
        (length,) = _LEN.unpack(raw_len)
        if length > chunk + 16:
            raise StreamError(f"chunk {counter} is larger than the header allows: damaged")
        sealed = source.read(length)
        if len(sealed) != length:
            raise StreamError(f"the file is truncated inside chunk {counter}")
        nonce = prefix + _LEN.pack(counter)
        at_end = not source.peek(1) if hasattr(source, "peek") else _at_end(source)
        try:
            plain = aead.decrypt(nonce, sealed, _aad(head, counter, at_end))
        except InvalidTag:
            if not at_end:
                try:
                    aead.decrypt(nonce, sealed, _aad(head, counter, True))
                except InvalidTag:
                    pass
                else:
                    raise StreamError("data follows the last chunk: the file is damaged") from None
            raise StreamError(
                f"chunk {counter} does not decrypt: the file is damaged, truncated, or "
                "encrypted under another key"
            ) from None
        target.write(plain)
        counter += 1
        if at_end:
            return header


def _at_end(source: IO[bytes]) -> bool:
    position = source.tell()
    more = source.read(1)
    source.seek(position)
    return not more
