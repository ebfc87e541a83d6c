from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import select

from honorbound.accounts.models import Organization
from honorbound.accounts.roles import PERMISSIONS
from honorbound.api.deps import PrincipalDep, ReadSessionDep

router = APIRouter(prefix="/v1", tags=["accounts"])


class Me(BaseModel):
    organization_id: int
    organization_slug: str
    role: str
    actor: str
    permissions: list[str]


@router.get("/me", response_model=Me)
def me(principal: PrincipalDep, session: ReadSessionDep) -> Me:
    slug = (
        session.scalar(
            select(Organization.slug).where(Organization.id == principal.organization_id)
        )
        or ""
    )
    return Me(
        organization_id=principal.organization_id,
        organization_slug=slug,
        role=principal.role.value,
        actor=principal.actor.id,
        permissions=sorted(p for p, roles in PERMISSIONS.items() if principal.role in roles),
    )
