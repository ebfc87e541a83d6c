"""Errors a rights service raises for bad input or a request in the wrong state."""

from __future__ import annotations


class RightsError(ValueError):
    """`field` names the input at fault (`body.email`), or "request" for a state conflict."""

    def __init__(self, field: str, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
        self.status = status


class RequestNotFound(LookupError):
    pass
