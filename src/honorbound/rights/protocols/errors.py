"""One error type for both protocols: the HTTP status, a sentence naming what was wrong, and
what the protocol's error body needs (DRP s.3.06 `fatal`; OpenDSR s.7.6 `errors[]`)."""

from __future__ import annotations

from honorbound.errors import HonorboundError


class ProtocolError(HonorboundError):
    status = 422  # each instance names its own
    title = "Refused"

    def __init__(
        self,
        status: int,
        message: str,
        *,
        field: str = "",
        fatal: bool = False,
        empty: bool = False,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field
        self.fatal = fatal
        # DRP s.2.05.1: a failed pair-wise key setup is "403 Forbidden with no response body".
        self.empty = empty
