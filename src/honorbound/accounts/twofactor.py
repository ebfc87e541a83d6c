"""TOTP two-factor sign-in for staff (RFC 6238, through pyotp), and one-use recovery codes.

Which roles must use it is a setting (`Settings.two_factor_roles`, by default administrators and
privacy officers: they can reveal personal data and change who may). Enrollment has two steps:
`begin` stores a new secret, sealed, not yet in force, and returns it with a QR code to show once;
`confirm` checks a first code from the person's app, puts the secret in force and returns ten
recovery codes, shown once and kept as SHA-256 hashes. At sign-in `check_code` accepts a current
code (one step of clock drift either way) once, or an unused recovery code, which is then spent.
Wrong codes count in the same per-username lock as wrong passwords (the adapter does that).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

import pyotp
import segno
from sqlalchemy import ForeignKey, String, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from honorbound.accounts.models import User
from honorbound.audit import Actor, append
from honorbound.crypto.aead import open_sealed, seal
from honorbound.db.base import Base, utcnow
from honorbound.errors import HonorboundError
from honorbound.i18n import N_

ISSUER = "Honorbound"
RECOVERY_CODES = 10
# One 30-second step either side: a phone clock a little off still works.
VALID_WINDOW = 1
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


class TwoFactorError(HonorboundError, ValueError):
    """A code or enrollment step that cannot be accepted; the message says what to do."""

    status = 422
    title = "Code not accepted"


class RecoveryCode(Base):
    """A one-use code for signing in without the authenticator app. Only its hash is kept."""

    __tablename__ = "staff_recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[dt.datetime | None] = mapped_column(default=None)


@dataclass(frozen=True)
class Enrollment:
    secret: str  # base32, for typing into an app by hand
    uri: str  # otpauth:// URI, what the QR code holds
    qr_svg: str  # the QR code as an inline SVG


def _key(keys: object) -> bytes:
    key: bytes = keys.derived("staff:totp")  # type: ignore[attr-defined]
    return key


def _aad(user: User) -> bytes:
    return f"accounts|user:{user.id}|totp".encode()


def _hash(code: str) -> str:
    return hashlib.sha256(_normal(code).encode()).hexdigest()


def _normal(code: str) -> str:
    return "".join(ch for ch in code.lower() if ch.isalnum())


def enabled(user: User) -> bool:
    return user.totp_enabled_at is not None and user.totp_sealed is not None


def begin(session: Session, keys: object, user: User) -> Enrollment:
    """A new secret for `user`, sealed on their row but not in force until `confirm`."""
    secret = pyotp.random_base32()
    user.totp_sealed = seal(_key(keys), secret.encode(), _aad(user))
    user.totp_enabled_at = None
    session.flush()
    return enrollment_of(secret, user.username)


def enrollment_of(secret: str, username: str) -> Enrollment:
    uri = pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)
    qr = segno.make(uri, error="m")
    return Enrollment(secret, uri, qr.svg_inline(scale=4, title="QR code for your authenticator"))


def pending_secret(keys: object, user: User) -> str | None:
    if user.totp_sealed is None:
        return None
    return open_sealed(_key(keys), user.totp_sealed, _aad(user)).decode()


def _step_ok(keys: object, user: User, code: str, now: dt.datetime) -> bool:
    secret = pending_secret(keys, user)
    digits = _normal(code)
    if secret is None or len(digits) != 6 or not digits.isdigit():
        return False
    totp = pyotp.TOTP(secret)
    step = int(now.timestamp()) // totp.interval
    for candidate in range(step - VALID_WINDOW, step + VALID_WINDOW + 1):
        if candidate <= user.totp_last_step:
            continue  # a code is good once
        expected = totp.generate_otp(candidate)
        if hmac.compare_digest(expected, digits):
            user.totp_last_step = candidate
            return True
    return False


def confirm(
    session: Session, keys: object, user: User, code: str, actor: Actor, organization_id: int
) -> list[str]:
    """Put the pending secret in force with a first code; returns the recovery codes."""
    if user.totp_sealed is None:
        raise TwoFactorError(
            N_("Start the set-up again: no authenticator is waiting to be confirmed.")
        )
    if not _step_ok(keys, user, code, utcnow()):
        raise TwoFactorError(
            N_("That code did not match. Enter the 6 digits your authenticator app shows now.")
        )
    user.totp_enabled_at = utcnow()
    codes = new_recovery_codes(session, user)
    append(session, organization_id, actor, "user.two_factor_enabled", "user", user.id)
    return codes


def new_recovery_codes(session: Session, user: User) -> list[str]:
    """Replace the user's recovery codes with fresh ones (returned once, stored hashed)."""
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [
        "-".join("".join(secrets.choice(_ALPHABET) for _ in range(5)) for _ in range(2))
        for _ in range(RECOVERY_CODES)
    ]
    for code in codes:
        session.add(RecoveryCode(user_id=user.id, code_hash=_hash(code)))
    session.flush()
    return codes


def check_code(session: Session, keys: object, user: User, code: str) -> str | None:
    """How the code signs the user in ("totp" or "recovery"), or None when it does not."""
    if not enabled(user) or len(code) > 40:
        return None
    if _step_ok(keys, user, code, utcnow()):
        return "totp"
    hashed = _hash(code)
    for row in session.scalars(
        select(RecoveryCode).where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    ):
        if hmac.compare_digest(row.code_hash, hashed):
            row.used_at = utcnow()
            return "recovery"
    return None


def recovery_codes_left(session: Session, user_id: int) -> int:
    return len(
        list(
            session.scalars(
                select(RecoveryCode.id).where(
                    RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None)
                )
            )
        )
    )


def reset(session: Session, user: User, actor: Actor, organization_id: int) -> None:
    """An administrator removes a lost authenticator: the user enrolls again at next sign-in."""
    user.totp_sealed = None
    user.totp_enabled_at = None
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    append(session, organization_id, actor, "user.two_factor_reset", "user", user.id)
