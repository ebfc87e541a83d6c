"""What the protocol services need from the composition root, passed in explicitly."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from honorbound.rights.context import Services
from honorbound.rights.protocols.rules import ProtocolRules
from honorbound.rights.protocols.signing import ProcessorKey
from honorbound.rights.protocols.urls import Network


@dataclass(frozen=True)
class ProtocolContext:
    rights: Services
    rules: ProtocolRules
    # Built on first use (a key file read or created), so processes that never sign do not.
    processor_key: Callable[[], ProcessorKey]
    allow_networks: tuple[Network, ...]
    callback_timeout: float

    @property
    def domain(self) -> str:
        """Our OpenDSR processor domain: the host of the public base URL (s.8.3)."""
        return urlsplit(self.rights.base_url).hostname or "localhost"
