"""Request dependencies: the runtime, a database session, and who is calling."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import Annotated

from fastapi import Depends, Path, Query, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from honorbound.accounts.models import Organization
from honorbound.accounts.roles import allowed
from honorbound.accounts.service import Principal
from honorbound.api.problems import Problem
from honorbound.consent.identity import identify
from honorbound.ratelimit import address_key, identity_key
from honorbound.runtime import Runtime
from honorbound.vault.identities import InvalidIdentity


# Dependencies without I/O are `async def`: FastAPI runs a plain `def` dependency in a worker
# thread, and each such hop costs more than the work (issue 22: six hops per decision).
async def get_runtime(request: Request) -> Runtime:
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
        principal = runtime.api_keys.authenticate(session, token)
    if principal is None:
        raise Problem(
            401,
            "Not authenticated",
            "The API key is unknown or revoked.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def require(permission: str) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency that lets the call through only when the caller's role has `permission`."""

    async def check(principal: PrincipalDep) -> Principal:
        if not allowed(principal.role, permission):
            raise Problem(
                403,
                "Forbidden",
                f"The role '{principal.role.value}' may not do this (needs '{permission}').",
            )
        return principal

    return check


# -- public routes: one rate limiter (honorbound.ratelimit), per address and per identity ----
def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def rate_limit(runtime: Runtime, name: str, key: str) -> None:
    """Count one hit of `key` against the shared limiter `name`; 429 with Retry-After when
    over. Call it before the route's own unit of work writes (the limiter writes in its own)."""
    limiter = runtime.rate_limits[name]
    if not limiter.hit(key):
        wait = limiter.retry_after(key)
        raise Problem(
            429,
            "Too many requests",
            f"Too many requests from your address or about this person; try again in {wait} "
            "seconds.",
            headers={"Retry-After": str(wait)},
        )


def _public_org(name: str) -> Callable[..., int]:
    def dependency(
        org_slug: Annotated[str, Path(min_length=1, max_length=64)],
        request: Request,
        runtime: RuntimeDep,
    ) -> int:
        """The organization named in the path, after counting this request against the
        per-address limit `name` (an unknown organization is a 404, and counted too)."""
        with runtime.db.read_session() as session:
            org_id = session.scalar(select(Organization.id).where(Organization.slug == org_slug))
        rate_limit(runtime, name, address_key(org_id, client_address(request)))
        if org_id is None:
            raise Problem(404, "Not found", "No organization with that name.")
        return int(org_id)

    return dependency


# Public routes that write or send mail, and public reads: the organization id, counted.
PublicOrg = Annotated[int, Depends(_public_org("ip"))]
PublicReadOrg = Annotated[int, Depends(_public_org("read"))]


def limit_identity(runtime: Runtime, organization_id: int, contact: str | None) -> None:
    """Count a request about `contact` (an email or phone) against the per-identity limit.
    A contact that is not a valid identity is left to the route's own check (a 422)."""
    if not contact:
        return
    try:
        ref = identify(runtime.keys, organization_id, contact)
    except InvalidIdentity:
        return
    rate_limit(runtime, "identity", identity_key(organization_id, ref.index))


# Paging: a number past what the database holds is bad input (422 naming the parameter), never
# an out-of-range parameter reaching the database (a 500).
Offset = Annotated[int, Query(ge=0, le=2_147_483_647, description="Rows to skip.")]
# seq is a 32-bit column on PostgreSQL (the parameter is sent as INTEGER there).
AfterSeq = Annotated[
    int, Query(ge=0, le=2_147_483_647, description="Entries after this sequence number.")
]


def public_read(request: Request, runtime: RuntimeDep) -> None:
    """Count a public read (a notice, a receipt, a GPC ping) against the per-address limit."""
    rate_limit(runtime, "read", address_key(None, client_address(request)))


PublicRead = Depends(public_read)
