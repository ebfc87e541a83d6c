"""The one error retention functions raise for bad input."""

from __future__ import annotations

from honorbound.errors import FieldError


class RetentionInputError(FieldError, ValueError):
    """Bad input (a hold, a withdrawal, a sweep request); `field` names it, `status` is the HTTP
    status an adapter should answer with. Nothing was written."""

    def errors(self) -> list[dict[str, str]]:
        field = f"body.{self.field}" if self.status == 422 else self.field
        return [{"field": field, "message": self.message}]
