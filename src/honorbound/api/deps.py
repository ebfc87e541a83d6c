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


def get_read_session(runtime: Annotated[Runtime, Depends(get_runtime)]) -> Iterator[Session]:
    """For routes that only read: never waits for a writer (see `Database.read_session`)."""
    with runtime.db.read_session() as session:
        yield session


async def form_fields(request: Request) -> dict[str, str]:
    """The form body as text fields, read on the event loop (reading is not blocking work),
    so the route itself can be a plain `def` that runs in a worker thread."""
    form = await request.form()
    return {key: str(value) for key, value in form.items()}


async def raw_body(request: Request) -> bytes:
    """The request body as bytes, read on the event loop (see `form_fields`)."""
    return await request.body()


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
ReadSessionDep = Annotated[Session, Depends(get_read_session, scope="function")]
FormFields = Annotated[dict[str, str], Depends(form_fields)]
RawBody = Annotated[bytes, Depends(raw_body)]
# Row ids are 32-bit integers on every database we support; a larger number in a path is bad
# input (422 naming the parameter), never a database error.
RowId = Annotated[int, Path(ge=1, le=2_147_483_647)]
# scope="function": the unit of work commits before the response is sent. FastAPI's default
# ends a yield dependency after the response, so a client could be told 201 for a write whose
# commit then failed (a lock timeout, a crash): an acknowledged write lost.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def _token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.headers.get("x-api-key")


def get_principal(request: Request, runtime: RuntimeDep) -> Principal:
    """Who is calling, read in a short read-only unit of work of its own: authentication never
    waits for a writer, and holds no connection while the route waits for its turn."""
    token = _token(request)
    if not token:
        raise Problem(
            401,
            "Not authenticated",
            "Send an API key as 'Authorization: Bearer hb_...'.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    with runtime.db.read_session() as session:
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
