"""Systems without an API: the work is a task for a named owner, with its own deadline, done
when the owner uploads evidence (see `honorbound.systems.tasks`). Nothing is reached here."""

from __future__ import annotations

from collections.abc import Mapping

from honorbound.systems.connectors.base import ConnectorSettings, LiveProblem
from honorbound.systems.maps import SystemMap


class ManualConnector:
    def __init__(
        self,
        system: SystemMap,
        settings: ConnectorSettings,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.system = system
        self.settings = settings

    def check_live(self, lookups: dict[str, set[str]] | None = None) -> list[LiveProblem]:
        return []

    def close(self) -> None:
        pass
