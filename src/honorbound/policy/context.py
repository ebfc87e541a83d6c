"""The job context of handlers that apply the jurisdiction rules (see `honorbound.jobs.context`).

`rules` is the runtime's one rules object (`Runtime.rules`), never a fresh load.
"""

from __future__ import annotations

from typing import Protocol

from honorbound.jobs.context import JobContext
from honorbound.policy.jurisdictions import JurisdictionRules


class RulesJobContext(JobContext, Protocol):
    @property
    def rules(self) -> JurisdictionRules: ...
