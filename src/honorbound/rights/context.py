"""What the rights services need from the composition root, passed in explicitly."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy.orm import Session

from honorbound.policy.client_rules import RuleBook
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
    # The rules of each organization (a client's override merged in); None: `laws` for all.
    book: RuleBook | None = None

    def laws_of(self, session: Session, organization_id: int) -> JurisdictionRules:
        """The rules a request of `organization_id` is clocked by (`policy.client_rules`)."""
        return self.book.of(session, organization_id) if self.book is not None else self.laws

    @classmethod
    def build(
        cls,
        keys: KeyRingLike,
        vault_keys: KeyStore,
        jobs: Any,
        base_url: str,
        laws: JurisdictionRules,
        recordings_dir: Path | str | None = None,
        book: RuleBook | None = None,
    ) -> Services:
        """`laws` is the runtime's one rules object (`Runtime.rules`), never a fresh load;
        `book` the runtime's `rule_book`."""
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
            book,
        )
