"""Errors a rights service raises for bad input or a request in the wrong state."""

from __future__ import annotations

from honorbound.errors import FieldError, HonorboundError


class RightsError(FieldError, ValueError):
    """`field` names the input at fault (`body.email`), or "request" for a state conflict."""

    def errors(self) -> list[dict[str, str]]:
        # A state conflict (409) names no field of the body.
        return super().errors() if self.status == 422 else []


class RequestNotFound(HonorboundError, LookupError):
    status = 404
    title = "Not found"

    def detail(self) -> str:
        return "No rights request with that id in your organization."
