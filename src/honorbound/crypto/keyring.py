"""Keys derived from the master key, one per purpose and organization."""

from __future__ import annotations

from functools import lru_cache

from honorbound.crypto.keys import derive


class KeyRing:
    def __init__(self, master: bytes) -> None:
        if len(master) != 32:
            raise ValueError("master key must be 32 bytes")
        self._master = master

    @lru_cache(maxsize=4096)  # noqa: B019 - the ring lives as long as the process
    def derived(self, label: str) -> bytes:
        return derive(self._master, label)

    def outbox_key(self, organization_id: int) -> bytes:
        return self.derived(f"org:{organization_id}:outbox")

    def blind_index_key(self, organization_id: int) -> bytes:
        return self.derived(f"org:{organization_id}:blind-index")

    @property
    def session_secret(self) -> str:
        return self.derived("session-signing").hex()

    @property
    def link_secret(self) -> str:
        return self.derived("link-signing").hex()
