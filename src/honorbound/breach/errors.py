"""What can go wrong in breach response, as sentences a privacy officer can act on.

BreachError
 +-- BreachInputError   a field of the incident or the selection is wrong (422)
 +-- SelectionEmpty     the selection matches nobody in the vault (422)
 +-- IncidentNotFound   no such incident in this organization (404)
"""

from __future__ import annotations

from honorbound.errors import HonorboundError


class BreachError(HonorboundError):
    title = "Invalid request"
    status = 422

    def detail(self) -> str:
        return f"{self}."


class BreachInputError(BreachError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field} {message}")
        self.field = field
        self.message = message

    def errors(self) -> list[dict[str, str]]:
        return [{"field": self.field, "message": self.message}]


class SelectionEmpty(BreachError):
    pass


class IncidentNotFound(BreachError, LookupError):
    status = 404
    title = "Not found"
