"""Problems found in a declaration or a rules file, each tied to `FILE:LINE`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from honorbound.errors import HonorboundError

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Problem:
    """One finding. `str()` gives the `FILE:LINE: message` form the CLI prints."""

    file: str
    line: int
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        prefix = "warning: " if self.severity == "warning" else ""
        return f"{self.file}:{self.line}: {prefix}{self.message}"


class DeclarationError(HonorboundError):
    """A file could not be turned into a valid model; `problems` says where and why."""

    status = 422
    title = "Declaration has errors"

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))
