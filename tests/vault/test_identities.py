from __future__ import annotations

import pytest

from honorbound.vault.identities import (
    IdentityKind,
    InvalidIdentity,
    blind_index,
    normalize,
    normalize_email,
    normalize_phone,
)


def test_email_lower_cased_with_idna_domain() -> None:
    assert normalize_email("  Ann.Lee@Bücher.Example ") == "ann.lee@xn--bcher-kva.example"
    assert normalize_email("ANN@EXAMPLE.COM") == normalize_email("ann@example.com")


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "no-at-sign",
        "@example.com",
        "a@",
        "a@b",
        "a..b@example.com",
        "a b@example.com",
        "a@-bad-.com",
    ],
)
def test_bad_emails_are_refused_without_echo(bad: str) -> None:
    with pytest.raises(InvalidIdentity) as info:
        normalize_email(bad)
    assert bad.strip() == "" or bad not in str(info.value)


def test_phone_to_e164() -> None:
    assert normalize_phone("(415) 555-0132") == "+14155550132"
    assert normalize_phone("+44 20 7946 0958") == "+442079460958"
    with pytest.raises(InvalidIdentity):
        normalize_phone("12345")
    with pytest.raises(InvalidIdentity):
        normalize_phone("call me")


def test_opaque_ids() -> None:
    assert normalize(IdentityKind.COOKIE_ID, " abc-123 ") == "abc-123"
    with pytest.raises(InvalidIdentity):
        normalize(IdentityKind.ACCOUNT_ID, "has space inside")


def test_blind_index_is_keyed() -> None:
    a = blind_index(b"k" * 32, IdentityKind.EMAIL, "ann@example.com")
    assert a == blind_index(b"k" * 32, "email", "ann@example.com")
    assert a != blind_index(b"j" * 32, IdentityKind.EMAIL, "ann@example.com")
    assert a != blind_index(b"k" * 32, IdentityKind.PHONE, "ann@example.com")
    assert "ann" not in a


def test_guess_kind_reads_an_at_sign_as_email_and_anything_else_as_phone() -> None:
    from honorbound.vault.identities import IdentityKind, guess_kind

    assert guess_kind("someone@example.org") is IdentityKind.EMAIL
    assert guess_kind("+1 212 555 0100") is IdentityKind.PHONE
