"""The one error retention functions raise for bad input."""

from __future__ import annotations


class RetentionInputError(ValueError):
    """Bad input (a hold, a withdrawal, a sweep request); `field` names it, `status` is the HTTP
    status an adapter should answer with. Nothing was written."""

    def __init__(self, field: str, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
        self.status = status
