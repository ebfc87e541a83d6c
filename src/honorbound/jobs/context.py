"""What a job handler is handed: the parts of the composition root it may use, typed.

`honorbound.runtime.Runtime` satisfies these protocols; a handler takes the narrowest one it
needs instead of the whole runtime, so its needs are visible in its signature. `JobContext` is
the base (settings, database, key ring, queue); packages higher up add what they own:
`vault.context.VaultJobContext` (the vault's key store), `policy.context.RulesJobContext` (the
one jurisdiction rules object, shipped rules with the `HONORBOUND_RULES_FILE` override merged in,
built once at start-up: no handler loads rules itself), and the rights package's
`rights.jobs.RightsJobContext` (both).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from honorbound.config import Settings
    from honorbound.crypto.keyring import KeyRing
    from honorbound.db.engine import Database
    from honorbound.jobs.queue import JobQueue


class JobContext(Protocol):
    @property
    def settings(self) -> Settings: ...
    @property
    def db(self) -> Database: ...
    @property
    def keys(self) -> KeyRing: ...
    @property
    def jobs(self) -> JobQueue: ...
