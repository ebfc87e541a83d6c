"""Which job names exist and what runs them. Filled explicitly by the composition root."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Handler = Callable[[Any, dict[str, Any]], dict[str, Any] | None]


@dataclass(frozen=True)
class Periodic:
    """A job queued on a schedule (crontab fields as huey reads them)."""

    name: str
    minute: str = "*"
    hour: str = "*"
    day: str = "*"
    month: str = "*"
    day_of_week: str = "*"


class JobRegistry:
    def __init__(self) -> None:
        self._handlers: dict[str, Handler] = {}
        self.periodic: list[Periodic] = []

    def register(self, name: str, handler: Handler) -> None:
        if name in self._handlers:
            raise ValueError(f"job {name!r} is registered twice")
        self._handlers[name] = handler

    def schedule(self, periodic: Periodic) -> None:
        if periodic.name not in self._handlers:
            raise ValueError(f"cannot schedule unknown job {periodic.name!r}")
        self.periodic.append(periodic)

    def handler(self, name: str) -> Handler:
        try:
            return self._handlers[name]
        except KeyError:
            raise LookupError(f"no handler for job {name!r}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._handlers

    @property
    def names(self) -> list[str]:
        return sorted(self._handlers)
