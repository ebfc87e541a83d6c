"""The job context of handlers that apply the jurisdiction rules (see `honorbound.jobs.context`).

`rules` is the runtime's one rules object (`Runtime.rules`), never a fresh load; `rule_book`
gives an organization's (with its client override, `policy.client_rules`).
"""

from __future__ import annotations

from typing import Protocol

from honorbound.jobs.context import JobContext
from honorbound.policy.client_rules import RuleBook
from honorbound.policy.jurisdictions import JurisdictionRules


class RulesJobContext(JobContext, Protocol):
    @property
    def rules(self) -> JurisdictionRules: ...

    @property
    def rule_book(self) -> RuleBook: ...
