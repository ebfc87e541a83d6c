"""The job context of handlers that read or change the vault (see `honorbound.jobs.context`)."""

from __future__ import annotations

from typing import Protocol

from honorbound.jobs.context import JobContext
from honorbound.vault.keystore import KeyStore


class VaultJobContext(JobContext, Protocol):
    @property
    def vault_keys(self) -> KeyStore: ...
