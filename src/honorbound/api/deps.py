"""Request dependencies: the runtime, a database session, and who is calling."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Path, Request
from sqlalchemy.orm import Session

from honorbound.accounts.roles import allowed
from honorbound.accounts.service import Principal, authenticate_api_key
from honorbound.api.problems import Problem
from honorbound.runtime import Runtime


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def get_session(runtime: Annotated[Runtime, Depends(get_runtime)]) -> Iterator[Session]:
    with runtime.db.session() as session:
        yield session


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
# Row ids are 32-bit integers on every database we support; a larger number in a path is bad
# input (422 naming the parameter), never a database error.
RowId = Annotated[int, Path(ge=1, le=2_147_483_647)]
SessionDep = Annotated[Session, Depends(get_session)]


def _token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.headers.get("x-api-key")


def get_principal(request: Request, session: SessionDep) -> Principal:
    token = _token(request)
    if not token:
        raise Problem(
            401,
            "Not authenticated",
            "Send an API key as 'Authorization: Bearer hb_...'.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    principal = authenticate_api_key(session, token)
    if principal is None:
        raise Problem(
            401,
            "Not authenticated",
            "The API key is unknown or revoked.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def require(permission: str) -> Callable[[Principal], Principal]:
    """A dependency that lets the call through only when the caller's role has `permission`."""

    def check(principal: PrincipalDep) -> Principal:
        if not allowed(principal.role, permission):
            raise Problem(
                403,
                "Forbidden",
                f"The role '{principal.role.value}' may not do this (needs '{permission}').",
            )
        return principal

    return check
