"""Signed email unsubscribe links (RFC 8058 one-click) and the headers that carry them.

A token names the organization, the person (as kind + blind index + match key, never the
address), the list, and when it was issued; an HMAC-SHA256 with a key derived from the master
key seals it. Nothing is stored per link, so links for millions of messages cost nothing, and
a link works for `unsubscribe_link_valid_days` (400 by default; CAN-SPAM asks for 30).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from typing import Protocol

from honorbound.consent.identity import IdentityRef
from honorbound.db.base import utcnow
from honorbound.errors import HonorboundError
from honorbound.vault.identities import IdentityKind

_LIST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")


class Keys(Protocol):
    def derived(self, label: str) -> bytes: ...


class LinkError(HonorboundError, ValueError):
    """A token that was altered, expired, or not issued here."""

    status = 400
    title = "Link not accepted"


@dataclass(frozen=True)
class Unsubscribe:
    organization_id: int
    identity: IdentityRef
    list_id: str
    subject_id: int | None
    issued_at: dt.datetime

    @property
    def fingerprint(self) -> str:
        """Stable id of this (person, list) choice, for idempotent recording."""
        raw = f"{self.organization_id}:{self.identity.index}:{self.list_id}".encode()
        return hashlib.sha256(raw).hexdigest()[:40]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(keys: Keys, body: str) -> str:
    key = keys.derived("consent-unsubscribe-link")
    return _b64(hmac.new(key, body.encode("ascii"), hashlib.sha256).digest()[:20])


def check_list_id(list_id: str) -> str:
    if not _LIST_ID.match(list_id):
        raise ValueError("list_id must be 1-100 letters, digits or . _ : -")
    return list_id


def issue(
    keys: Keys,
    organization_id: int,
    identity: IdentityRef,
    list_id: str,
    subject_id: int | None = None,
    now: dt.datetime | None = None,
) -> str:
    payload = {
        "o": organization_id,
        "k": identity.kind.value,
        "i": identity.index,
        "m": identity.match_key,
        "l": check_list_id(list_id),
        "s": subject_id,
        "t": int((now or utcnow()).timestamp()),
    }
    body = _b64(json.dumps(payload, separators=(",", ":")).encode())
    return f"{body}.{_mac(keys, body)}"


def read(keys: Keys, token: str, valid_days: int, now: dt.datetime | None = None) -> Unsubscribe:
    body, sep, mac = token.partition(".")
    if not sep or len(token) > 1000 or not hmac.compare_digest(mac, _mac(keys, body)):
        raise LinkError("This unsubscribe link is not valid (it may have been altered).")
    try:
        payload = json.loads(_unb64(body))
        issued = dt.datetime.fromtimestamp(int(payload["t"]), dt.UTC)
        identity = IdentityRef(IdentityKind(payload["k"]), str(payload["i"]), int(payload["m"]))
        result = Unsubscribe(
            int(payload["o"]), identity, str(payload["l"]), payload.get("s"), issued
        )
    except (ValueError, KeyError, TypeError):
        raise LinkError("This unsubscribe link is not valid.") from None
    if (now or utcnow()) - issued > dt.timedelta(days=valid_days):
        raise LinkError(
            "This unsubscribe link has expired. Use the link in a recent message, "
            "or reply to the message and ask to be removed."
        )
    return result


def url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/u/{token}"


def list_unsubscribe_headers(
    base_url: str, token: str, mailto: str | None = None
) -> dict[str, str]:
    """`List-Unsubscribe` (RFC 2369) and `List-Unsubscribe-Post` (RFC 8058) for one message."""
    targets = [f"<{url(base_url, token)}>"]
    if mailto:
        targets.append(f"<mailto:{mailto}?subject=unsubscribe>")
    return {
        "List-Unsubscribe": ", ".join(targets),
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
