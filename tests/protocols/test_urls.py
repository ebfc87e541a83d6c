"""Callback URLs: internal addresses refused unless allow-listed (no request forgery)."""

from __future__ import annotations

import pytest

from honorbound.rights.protocols.urls import CallbackRefused, check_callback, parse_networks

LOOPBACK = parse_networks(["127.0.0.0/8", "::1/128"])


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("https://127.0.0.1/cb", "loopback"),
        ("https://localhost/cb", "loopback"),
        ("https://[::1]/cb", "loopback"),
        ("https://[::ffff:127.0.0.1]/cb", "loopback"),
        ("https://10.0.0.8/cb", "private"),
        ("https://172.16.4.4/cb", "private"),
        ("https://192.168.0.1/cb", "private"),
        ("https://169.254.169.254/latest/meta-data", "link-local"),
        ("https://[fe80::1]/cb", "link-local"),
        ("https://0.0.0.0/cb", "private"),
        ("http://93.184.216.34/cb", "https"),
        ("ftp://93.184.216.34/cb", "https"),
        ("https://user:pw@93.184.216.34/cb", "password"),
        ("https://does-not-exist.invalid/cb", "resolve"),
        ("https://93.184.216.34/" + "a" * 2100, "longer"),
        ("https://[not-an-ip/cb", "valid URL"),
    ],
)
def test_internal_or_odd_addresses_are_refused(url: str, words: str) -> None:
    with pytest.raises(CallbackRefused, match=words):
        check_callback(url, ())


def test_public_https_is_allowed_and_an_allow_list_opens_loopback() -> None:
    assert check_callback("https://93.184.216.34/cb", ()) == "https://93.184.216.34/cb"
    assert check_callback("http://127.0.0.1:8080/cb", LOOPBACK)
    with pytest.raises(CallbackRefused):
        check_callback("https://10.0.0.8/cb", LOOPBACK)


def test_a_bad_allow_list_entry_is_named() -> None:
    with pytest.raises(ValueError, match="'not-a-net'"):
        parse_networks(["not-a-net"])
