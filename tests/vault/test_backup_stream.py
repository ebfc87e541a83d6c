"""The chunked encryption of backups: round trips of every size around chunk boundaries, and
every kind of damage refused (checked against the plaintext, not against the code's own view)."""

from __future__ import annotations

import io
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from honorbound.backup.stream import StreamError, decrypt, encrypt

KEY = bytes(range(32))
CHUNK = 64


def _sealed(plain: bytes, key: bytes = KEY) -> bytes:
    out = io.BytesIO()
    encrypt(key, io.BytesIO(plain), out, {"part": "data"}, chunk_size=CHUNK)
    return out.getvalue()


def _open(sealed: bytes, key: bytes = KEY) -> bytes:
    out = io.BytesIO()
    decrypt(key, io.BufferedReader(io.BytesIO(sealed)), out)  # type: ignore[arg-type]
    return out.getvalue()


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=5 * CHUNK + 3))
def test_round_trip_of_any_length(plain: bytes) -> None:
    sealed = _sealed(plain)
    assert len(plain) < 16 or plain not in sealed
    assert _open(sealed) == plain


@pytest.mark.parametrize("length", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK])
def test_every_cut_is_refused(length: int) -> None:
    sealed = _sealed(os.urandom(length))
    for cut in range(len(sealed)):
        with pytest.raises(StreamError):
            _open(sealed[:cut])


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=0), st.integers(min_value=0, max_value=7))
def test_any_flipped_bit_is_refused(where: int, bit: int) -> None:
    sealed = bytearray(_sealed(os.urandom(3 * CHUNK + 5)))
    sealed[where % len(sealed)] ^= 1 << bit
    with pytest.raises(StreamError):
        _open(bytes(sealed))


def test_reordered_chunks_extra_data_and_another_key_are_refused() -> None:
    plain = os.urandom(2 * CHUNK)
    sealed = _sealed(plain + os.urandom(CHUNK // 2))
    head_end = sealed.index(b"}") + 1
    body = sealed[head_end:]
    size = 4 + CHUNK + 16
    first, second = body[:size], body[size : 2 * size]
    with pytest.raises(StreamError):
        _open(sealed[:head_end] + second + first + body[2 * size :])
    with pytest.raises(StreamError, match="follows the last chunk|does not decrypt"):
        _open(sealed + sealed[head_end : head_end + size])
    with pytest.raises(StreamError, match="another key"):
        _open(sealed, key=bytes(32))
    with pytest.raises(StreamError, match="magic"):
        _open(b"PK\x03\x04" + sealed[4:])
