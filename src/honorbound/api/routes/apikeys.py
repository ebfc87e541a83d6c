from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from honorbound.accounts.models import ApiKey
from honorbound.accounts.roles import Role
from honorbound.accounts.service import Principal, issue_api_key, revoke_api_key
from honorbound.api.deps import RowId, SessionDep, require
from honorbound.api.problems import Problem

router = APIRouter(prefix="/v1/api-keys", tags=["accounts"])
Admin = Annotated[Principal, Depends(require("apikeys.manage"))]


class NewApiKey(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    role: Role


class ApiKeyOut(BaseModel):
    id: int
    prefix: str
    name: str
    role: str
    created_at: dt.datetime
    revoked_at: dt.datetime | None


class IssuedApiKey(ApiKeyOut):
    key: str = Field(description="The key itself. Shown once; store it now.")


def _out(key: ApiKey) -> ApiKeyOut:
    return ApiKeyOut(
        id=key.id,
        prefix=key.prefix,
        name=key.name,
        role=key.role,
        created_at=key.created_at,
        revoked_at=key.revoked_at,
    )


@router.get("", response_model=list[ApiKeyOut])
def list_keys(principal: Admin, session: SessionDep) -> list[ApiKeyOut]:
    keys = session.scalars(
        select(ApiKey)
        .where(ApiKey.organization_id == principal.organization_id)
        .order_by(ApiKey.id)
    )
    return [_out(k) for k in keys]


@router.post("", response_model=IssuedApiKey, status_code=201)
def create_key(body: NewApiKey, principal: Admin, session: SessionDep) -> IssuedApiKey:
    key, plaintext = issue_api_key(
        session, principal.organization_id, body.role, body.name, principal.actor
    )
    return IssuedApiKey(**_out(key).model_dump(), key=plaintext)


@router.get("/{key_id}", response_model=ApiKeyOut)
def get_key(key_id: RowId, principal: Admin, session: SessionDep) -> ApiKeyOut:
    key = session.scalar(
        select(ApiKey).where(
            ApiKey.id == key_id, ApiKey.organization_id == principal.organization_id
        )
    )
    if key is None:
        raise Problem(404, "Not found", "No API key with that id in your organization.")
    return _out(key)


@router.delete("/{key_id}", response_model=ApiKeyOut)
def revoke_key(key_id: RowId, principal: Admin, session: SessionDep) -> ApiKeyOut:
    try:
        key = revoke_api_key(session, principal.organization_id, key_id, principal.actor)
    except LookupError:
        raise Problem(404, "Not found", "No API key with that id in your organization.") from None
    return _out(key)
