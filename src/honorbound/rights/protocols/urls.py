"""Callback addresses an agent or a controller gives us, checked before we ever call them.

A callback is an outbound request from inside the BPO's network to an address someone
outside chose: without a check it could reach the BPO's own services (server-side request
forgery). An address is refused when its host resolves to a private, loopback, link-local,
multicast, reserved or unspecified address, unless that address falls in a network the
operator allow-listed (`HONORBOUND_CALLBACK_ALLOW_NETWORKS`). Plain `http://` is refused too,
except to an allow-listed network (tests on loopback). The check runs when the request is
taken and again right before each call (the name may resolve elsewhere by then).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable, Sequence
from urllib.parse import urlsplit

from honorbound.errors import HonorboundError

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class CallbackRefused(HonorboundError, ValueError):
    """The callback URL may not be called; the message says why (no personal data in it)."""

    status = 422
    title = "Callback address refused"


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """The allow-list from its setting (CIDR strings); `ValueError` names a bad entry."""
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError:
            raise ValueError(f"{value!r} is not a network such as 127.0.0.0/8 or ::1/128") from None
    return tuple(networks)


def _internal(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


def _addresses(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        raise CallbackRefused("the callback host does not resolve") from None
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]


def check_callback(url: str, allow: Sequence[Network], max_chars: int = 2048) -> str:
    """`url` if it may be called, else `CallbackRefused` saying why."""
    if len(url) > max_chars:
        raise CallbackRefused(f"the callback URL is longer than {max_chars} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise CallbackRefused("the callback URL is not a valid URL") from None
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise CallbackRefused("the callback URL must be an https:// URL with a host")
    if parts.username or parts.password:
        raise CallbackRefused("the callback URL must not carry a user name or password")
    host = parts.hostname
    found = _addresses(host, port or (443 if parts.scheme == "https" else 80))
    if not found:
        raise CallbackRefused("the callback host does not resolve")
    for address in found:
        allowed = any(address in network for network in allow)
        if _internal(address) and not allowed:
            raise CallbackRefused(
                "the callback host is a private, loopback or link-local address; an operator "
                "can allow it with HONORBOUND_CALLBACK_ALLOW_NETWORKS"
            )
        if parts.scheme == "http" and not allowed:
            raise CallbackRefused("the callback URL must use https://")
    return url
