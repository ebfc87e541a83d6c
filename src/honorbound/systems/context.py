"""What the systems work needs from the composition root, passed in (never read from settings)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from honorbound.systems.connectors.base import ConnectorSettings
from honorbound.systems.strategies import hmac_key


@dataclass(frozen=True)
class SystemsContext:
    """`derive` is the key ring's `derived` (HMAC pseudonym key, callback tokens); `base_url`
    is where webhook systems call back; `environ` where connection secrets are read (default:
    the process environment)."""

    derive: Callable[[str], bytes]
    base_url: str
    environ: Mapping[str, str] | None = None

    def connector_settings(self, organization_id: int) -> ConnectorSettings:
        return ConnectorSettings(hmac_key=hmac_key(self.derive, organization_id))

    def callback_token(self, execution_id: int) -> str:
        key = self.derive("systems:callbacks")
        return hmac.new(key, f"execution:{execution_id}".encode(), hashlib.sha256).hexdigest()
