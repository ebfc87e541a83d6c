"""What the rights services need from the composition root, passed in explicitly."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from honorbound.policy.jurisdictions import JurisdictionRules
from honorbound.rights.rules import RightsRules, load_rights_rules
from honorbound.systems.context import SystemsContext
from honorbound.vault.keystore import KeyStore


class KeyRingLike(Protocol):
    def derived(self, label: str) -> bytes: ...
    def outbox_key(self, organization_id: int) -> bytes: ...
    def blind_index_key(self, organization_id: int) -> bytes: ...


@dataclass(frozen=True)
class Services:
    keys: KeyRingLike
    vault_keys: KeyStore
    jobs: Any  # honorbound.jobs.JobQueue (or None: messages are delivered by the outbox sweep)
    base_url: str
    laws: JurisdictionRules
    rules: RightsRules
    # Connected systems (CRM, files, webhooks, manual): where requests are carried out too.
    systems: SystemsContext
    # The recording store (honorbound.recordings): a person's stored calls go with them.
    recordings_dir: Path | str | None = None

    @classmethod
    def build(
        cls,
        keys: KeyRingLike,
        vault_keys: KeyStore,
        jobs: Any,
        base_url: str,
        laws: JurisdictionRules,
        recordings_dir: Path | str | None = None,
    ) -> Services:
        """`laws` is the runtime's one rules object (`Runtime.rules`), never a fresh load."""
        base = base_url.rstrip("/")
        return cls(
            keys,
            vault_keys,
            jobs,
            base,
            laws,
            load_rights_rules(),
            SystemsContext(keys.derived, base),
            recordings_dir,
        )
