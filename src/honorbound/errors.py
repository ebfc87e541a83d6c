"""The one base of every error a person can meet, and what each says over HTTP.

Every exception class a domain package raises for bad input or a refused action derives from
`HonorboundError`, which carries what the adapters answer with:

- `status`: the HTTP status (a class default; a few errors choose it per instance, e.g. a
  `RightsError` about a request in the wrong state is a 409),
- `title`: the problem's short title (RFC 9457 s.3.1.3),
- `type`: the problem type URI (RFC 9457 s.3.1.1), `urn:honorbound:problem:<class-name>` in
  kebab case unless the class names its own; not meant to be dereferenced,
- `detail()`, `errors()` and `extra()`: the sentence, the fields at fault, and any extension
  members of the problem document.

The API registers one handler for the base (`honorbound.api.problems`): every subclass answers
as a problem document without a try/except in the router. The web layer registers one handler
that answers an HTML error page in the frame of the portal or the console
(`honorbound.web.errors`). A protocol with its own error body answers through its route class
(`api.problems.ProtocolRoute`), a form shown again through `web.forms.shown_again`; the few
routers that still catch a domain error by hand are listed in `tests/foundation/test_errors.py`.

    HonorboundError                   base (500 unless a subclass says otherwise)
     +-- FieldError                   bad input; `field` names it, status 422 unless given
     |    +-- RightsError, RetentionInputError, DisclosureInputError, IntentError
     +-- every other domain error (see `tests/foundation/test_errors.py`, which walks them)

Domain packages import this module; it imports nothing of the project (so `detect`, which
stands alone, keeps its own errors outside the tree).
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

TYPE_PREFIX = "urn:honorbound:problem:"
TITLES = {404: "Not found", 409: "Conflict", 410: "Gone", 501: "Not available"}


def _kebab(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "-", name).lower()


class HonorboundError(Exception):
    """Base of the project's errors. The message is a sentence naming what was wrong and what
    to do; it never holds personal data."""

    status: int = 500
    title: str = "Internal error"
    type: ClassVar[str] = TYPE_PREFIX + "honorbound-error"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "type" not in cls.__dict__:
            cls.type = TYPE_PREFIX + _kebab(cls.__name__)

    def detail(self) -> str:
        return str(self)

    def errors(self) -> list[dict[str, str]]:
        return []

    def extra(self) -> dict[str, Any]:
        return {}


class FieldError(HonorboundError):
    """Bad input; `field` names it (or "request" for a state conflict), `status` is 422 unless
    the caller says 404 or 409. Nothing was written."""

    status = 422
    title = "Invalid request"
    # The title of a non-422 answer, by status (otherwise `title`).
    titles: ClassVar[dict[int, str]] = TITLES

    def __init__(self, field: str, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
        self.status = status
        self.title = self.titles.get(status, type(self).title)

    def detail(self) -> str:
        return self.message

    def errors(self) -> list[dict[str, str]]:
        return [{"field": self.field, "message": self.message}]
