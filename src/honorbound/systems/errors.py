"""Errors of the connected-systems package.

SystemsError              base: `system` and `field` name what went wrong, `status` the HTTP
 |                        status an adapter answers with; the message never holds a value
 +-- MapError             a map that cannot be used (not found, invalid: `problems`)
 +-- ConnectionFailed     the system cannot be reached: credentials, network, time-out
 +-- SystemAnswerError    the system answered, but not as the protocol says (garbage)
 +-- ExecutionError       the map and the system disagree (a missing table or column)
"""

from __future__ import annotations

from honorbound.policy.problems import Problem


class SystemsError(Exception):
    def __init__(self, system: str, message: str, field: str = "", status: int = 422) -> None:
        where = f"system '{system}'" + (f", {field}" if field else "")
        super().__init__(f"{where}: {message}")
        self.system = system
        self.field = field
        self.message = message
        self.status = status


class MapError(SystemsError):
    def __init__(self, system: str, message: str, problems: list[Problem] | None = None) -> None:
        super().__init__(system, message, status=422)
        self.problems = problems or []


class ConnectionFailed(SystemsError):
    def __init__(self, system: str, message: str, field: str = "") -> None:
        super().__init__(system, message, field, status=502)


class SystemAnswerError(SystemsError):
    def __init__(self, system: str, message: str, field: str = "") -> None:
        super().__init__(system, message, field, status=502)


class ExecutionError(SystemsError):
    def __init__(self, system: str, message: str, field: str = "") -> None:
        super().__init__(system, message, field, status=409)
