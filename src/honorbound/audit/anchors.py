"""Anchoring the audit chains outside the database, so that truncation, deletion of a whole
chain, and a rewrite with recomputed hashes are detected.

The chain alone proves each entry follows the one before it; whoever can write the table can
still cut off its tail, drop a chain, or rebuild one from scratch with consistent hashes. An
anchor is a signed statement "organization O's chain had entry SEQ with hash H at time T",
signed with an Ed25519 key kept in a file outside the database (`Settings.audit_key_file`)
and written to an append-only file (or sent anywhere: a line of JSON is self-contained).
`check` then holds the live chains to every anchor: an anchored entry must still be there with
the same hash (else: truncated, deleted, or rewritten), and the chain must be intact (walk).

What anchoring cannot show: changes to entries appended after the newest anchor (anchor
often), and an attacker who holds the signing key as well as the database.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import select
from sqlalchemy.orm import Session

from honorbound.audit.chain import GENESIS, ChainProblem, head, walk
from honorbound.audit.models import AuditEntry
from honorbound.db.base import utcnow
from honorbound.errors import HonorboundError

VERSION = "honorbound/audit-anchor/v1"


class AnchorError(HonorboundError, ValueError):
    """The key or the anchor file cannot be used; the message says why."""

    status = 422
    title = "Invalid anchor"


# -- the signing key (a file, never the database) -------------------------------------------
def load_or_create_key(path: Path) -> Ed25519PrivateKey:
    """The signing key in `path` (32 raw bytes as hex), created mode 0600 when missing."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        key = Ed25519PrivateKey.generate()
        raw = key.private_bytes_raw().hex()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(raw + "\n")
        return key
    return load_key(path)


def load_key(path: Path) -> Ed25519PrivateKey:
    try:
        raw = bytes.fromhex(path.read_text(encoding="ascii").strip())
        return Ed25519PrivateKey.from_private_bytes(raw)
    except FileNotFoundError:
        raise AnchorError(f"{path}: no audit signing key there") from None
    except ValueError:
        raise AnchorError(f"{path}: not an audit signing key (64 hex characters)") from None


def public_key_hex(key: Ed25519PublicKey) -> str:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw).hex()


def key_id(key: Ed25519PublicKey) -> str:
    return hashlib.sha256(key.public_bytes(Encoding.Raw, PublicFormat.Raw)).hexdigest()[:16]


def parse_public_key(text: str) -> Ed25519PublicKey:
    try:
        return Ed25519PublicKey.from_public_bytes(bytes.fromhex(text.strip()))
    except ValueError:
        raise AnchorError("the public key must be 64 hex characters") from None


# -- signed heads --------------------------------------------------------------------------
@dataclass(frozen=True)
class SignedHead:
    organization_id: int
    seq: int
    hash: str
    at: str
    key_id: str
    signature: str

    def statement(self) -> dict[str, Any]:
        return {
            "v": VERSION,
            "organization_id": self.organization_id,
            "seq": self.seq,
            "hash": self.hash,
            "at": self.at,
            "key_id": self.key_id,
        }

    def line(self) -> str:
        return json.dumps({**self.statement(), "signature": self.signature}, sort_keys=True)


def _canonical(statement: dict[str, Any]) -> bytes:
    return json.dumps(statement, sort_keys=True, separators=(",", ":")).encode()


def sign_head(
    key: Ed25519PrivateKey, organization_id: int, seq: int, digest: str, at: dt.datetime
) -> SignedHead:
    unsigned = SignedHead(
        organization_id,
        seq,
        digest,
        at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        key_id(key.public_key()),
        "",
    )
    signature = base64.b64encode(key.sign(_canonical(unsigned.statement()))).decode()
    return SignedHead(**{**unsigned.__dict__, "signature": signature})


def signed_heads(
    session: Session, key: Ed25519PrivateKey, organization_id: int | None = None
) -> list[SignedHead]:
    """The signed head of every organization's chain (or of one)."""
    if organization_id is None:
        org_ids = list(
            session.scalars(
                select(AuditEntry.organization_id).distinct().order_by(AuditEntry.organization_id)
            )
        )
    else:
        org_ids = [organization_id]
    now = utcnow()
    return [sign_head(key, org_id, *head(session, org_id), now) for org_id in org_ids]


def append_anchors(path: Path, heads: Iterable[SignedHead]) -> int:
    """Append one JSON line per head to `path` (created 0600), flushed to disk."""
    lines = [h.line() + "\n" for h in heads]
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as handle:
        handle.writelines(lines)
        handle.flush()
        os.fsync(handle.fileno())
    return len(lines)


def read_anchors(path: Path, public_key: Ed25519PublicKey) -> list[SignedHead]:
    """Every anchor in the file, each signature checked; AnchorError names a bad line."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise AnchorError(f"{path}: no such anchor file") from None
    except UnicodeDecodeError:
        raise AnchorError(f"{path}: not a UTF-8 anchor file") from None
    anchors = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            anchor = SignedHead(
                int(data["organization_id"]),
                int(data["seq"]),
                str(data["hash"]),
                str(data["at"]),
                str(data["key_id"]),
                str(data["signature"]),
            )
            if data.get("v") != VERSION:
                raise ValueError
            public_key.verify(base64.b64decode(anchor.signature), _canonical(anchor.statement()))
        except InvalidSignature:
            raise AnchorError(
                f"{path}:{number}: the signature does not match (edited, or another key)"
            ) from None
        except (ValueError, KeyError, TypeError):
            raise AnchorError(f"{path}:{number}: not an audit anchor line") from None
        anchors.append(anchor)
    return anchors


def check(session: Session, anchors: list[SignedHead]) -> list[ChainProblem]:
    """Hold the live chains to the anchors: each anchored entry must still exist with the
    anchored hash, and the chain up to it must be intact. One problem per organization."""
    newest: dict[int, SignedHead] = {}
    for anchor in anchors:  # the highest seq anchored per organization covers the lower ones
        if anchor.organization_id not in newest or anchor.seq > newest[anchor.organization_id].seq:
            newest[anchor.organization_id] = anchor
    problems: list[ChainProblem] = []
    for org_id, anchor in sorted(newest.items()):
        if anchor.seq == 0:
            continue
        found = session.scalar(
            select(AuditEntry).where(
                AuditEntry.organization_id == org_id, AuditEntry.seq == anchor.seq
            )
        )
        if found is None:
            current, _ = head(session, org_id)
            reason = (
                "the whole chain is gone (deleted)"
                if current == 0
                else f"the chain ends at entry {current}: entries after it were removed (truncated)"
            )
            problems.append(
                ChainProblem(org_id, anchor.seq, -1, f"anchored {anchor.at}, but {reason}")
            )
            continue
        if found.hash != anchor.hash:
            problems.append(
                ChainProblem(
                    org_id,
                    anchor.seq,
                    found.id,
                    f"its hash differs from the one anchored {anchor.at} (the chain was rewritten)",
                )
            )
            continue
        result = walk(session, org_id, 0, GENESIS, limit=anchor.seq)
        if result.problem is not None:
            problems.append(result.problem)
    return problems
