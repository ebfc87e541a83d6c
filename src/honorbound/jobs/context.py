"""What a job handler is handed: the parts of the composition root it may use, typed.

`honorbound.runtime.Runtime` satisfies this protocol; handlers take it instead of the whole
runtime so a handler's needs are visible in its signature. `rules` is the one jurisdiction
rules object (shipped rules with the `HONORBOUND_RULES_FILE` override merged in), built once at
start-up: no handler loads rules itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from honorbound.config import Settings
    from honorbound.crypto.keyring import KeyRing
    from honorbound.db.engine import Database
    from honorbound.jobs.queue import JobQueue
    from honorbound.policy.jurisdictions import JurisdictionRules
    from honorbound.vault.keystore import KeyStore


class JobContext(Protocol):
    @property
    def settings(self) -> Settings: ...
    @property
    def db(self) -> Database: ...
    @property
    def keys(self) -> KeyRing: ...
    @property
    def vault_keys(self) -> KeyStore: ...
    @property
    def jobs(self) -> JobQueue: ...
    @property
    def rules(self) -> JurisdictionRules: ...
