"""Errors of the connected-systems package.

SystemsError              base: `system` and `field` name what went wrong, `status` the HTTP
 |                        status an adapter answers with; the message never holds a value
 +-- MapError             a map that cannot be used (not found, invalid: `problems`)
 +-- ConnectionFailed     the system cannot be reached: credentials, network, time-out
 +-- SystemAnswerError    the system answered, but not as the protocol says (garbage)
 +-- ExecutionError       the map and the system disagree (a missing table or column)
"""

from __future__ import annotations

from honorbound.errors import HonorboundError
from honorbound.policy.problems import Problem

TITLES = {404: "Not found", 409: "Conflict", 401: "Unauthorized", 413: "Too large"}


class SystemsError(HonorboundError):
    status = 422

    def __init__(self, system: str, message: str, field: str = "", status: int = 422) -> None:
        where = f"system '{system}'" + (f", {field}" if field else "")
        super().__init__(f"{where}: {message}")
        self.system = system
        self.field = field
        self.message = message
        self.status = status
        self.title = TITLES.get(status, "Invalid request" if status < 500 else "System failed")

    def errors(self) -> list[dict[str, str]]:
        return [{"field": self.field or self.system, "message": self.message}]


class MapError(SystemsError):
    title = "Invalid map"

    def __init__(self, system: str, message: str, problems: list[Problem] | None = None) -> None:
        super().__init__(system, message, status=422)
        self.problems = problems or []
        self.title = "Invalid map"

    def errors(self) -> list[dict[str, str]]:
        return [{"field": f"{p.file}:{p.line}", "message": p.message} for p in self.problems]


class ConnectionFailed(SystemsError):
    status = 502

    def __init__(self, system: str, message: str, field: str = "") -> None:
        super().__init__(system, message, field, status=502)


class SystemAnswerError(SystemsError):
    status = 502

    def __init__(self, system: str, message: str, field: str = "") -> None:
        super().__init__(system, message, field, status=502)


class ExecutionError(SystemsError):
    status = 409

    def __init__(self, system: str, message: str, field: str = "") -> None:
        super().__init__(system, message, field, status=409)
