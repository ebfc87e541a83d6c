"""/v1/desk: the cross-client desk for a BPO's key (the BPO and every client it operates).

A key belongs to one organization; a BPO's key sees its clients here (and only here: every
other route acts in the key's own organization). `client` filters by slug; a slug that is not
the BPO's or one of its clients is 404. Pages are keyset pages: follow `next_cursor`.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from honorbound.accounts.service import Principal
from honorbound.api.deps import ReadSessionDep, RuntimeDep, require
from honorbound.api.problems import Problem
from honorbound.bpo import desk

router = APIRouter(prefix="/v1/desk", tags=["desk"])
Reader = Annotated[Principal, Depends(require("desk.read"))]
ClientFilter = Annotated[
    str | None, Query(max_length=64, description="Only this organization (slug).")
]


class OrganizationOut(BaseModel):
    id: int
    slug: str
    name: str
    state: str


class OrganizationSummaryOut(BaseModel):
    organization: OrganizationOut
    open_requests: int
    overdue: int
    due_soon: int
    opt_outs_not_honored: int
    opt_outs_open: int
    said_opt_outs_review: int
    outbox_failed: int
    retention_last_started_at: dt.datetime | None
    retention_running: int
    audit_ok: bool | None
    audit_checked_at: dt.datetime | None
    owner_notices_due: int = Field(description="Breach notices owed to this client, not sent.")
    owner_notices_overdue: int


class OwnerNoticeOut(BaseModel):
    organization: str = Field(description="The client owed the notice (slug).")
    processor: str = Field(description="Whose incident it is (slug).")
    incident_id: int
    incident_title: str
    state: str
    due_at: dt.datetime
    rule: str
    status: str = Field(description="due, overdue or sent (its client document submitted).")
    confirmed: bool


class SummaryOut(BaseModel):
    organizations: list[OrganizationSummaryOut]
    owner_notices: list[OwnerNoticeOut]
    totals: dict[str, int]
    audit_problems: int
    audit_unchecked: int


class DueItemOut(BaseModel):
    id: int
    organization: str
    reference: str
    type: str
    status: str
    due_at: dt.datetime
    overdue: bool


class PageOut(BaseModel):
    items: list[DueItemOut]
    next_cursor: str | None


def _organizations(
    session: ReadSessionDep, principal: Principal, client: str | None
) -> list[desk.DeskOrganization]:
    return _visible_and_chosen(session, principal, client)[1]


def _visible_and_chosen(
    session: ReadSessionDep, principal: Principal, client: str | None
) -> tuple[list[desk.DeskOrganization], list[desk.DeskOrganization]]:
    visible = desk.organizations_of_bpo(session, principal.organization_id)
    try:
        return visible, desk.only(visible, client)
    except LookupError as exc:
        raise Problem(404, "Not found", str(exc)) from None


def _org(o: desk.DeskOrganization) -> OrganizationOut:
    return OrganizationOut(id=o.id, slug=o.slug, name=o.name, state=o.state)


@router.get("", response_model=SummaryOut)
def summary(
    principal: Reader, session: ReadSessionDep, runtime: RuntimeDep, client: ClientFilter = None
) -> SummaryOut:
    visible, chosen = _visible_and_chosen(session, principal, client)
    owed = desk.owner_notices(session, runtime.rule_book, visible, chosen)
    found = desk.summary(session, chosen, owed=owed, counts=runtime.desk_counts)
    return SummaryOut(
        owner_notices=[
            OwnerNoticeOut(
                organization=n.organization.slug,
                processor=n.processor.slug,
                incident_id=n.incident_id,
                incident_title=n.incident_title,
                state=n.state,
                due_at=n.due_at,
                rule=n.rule,
                status=n.status,
                confirmed=n.confirmed,
            )  # fmt: skip
            for n in owed
        ],
        organizations=[
            OrganizationSummaryOut(
                organization=_org(r.organization),
                opt_outs_not_honored=r.opt_outs_not_honored,
                **{
                    name: getattr(r, name)
                    for name in OrganizationSummaryOut.model_fields
                    if name not in ("organization", "opt_outs_not_honored")
                },
            )
            for r in found.organizations
        ],
        totals=found.totals,
        audit_problems=found.audit_problems,
        audit_unchecked=found.audit_unchecked,
    )


@router.get("/requests", response_model=PageOut)
def requests(
    principal: Reader,
    session: ReadSessionDep,
    client: ClientFilter = None,
    cursor: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=desk.MAX_PAGE_SIZE)] = desk.PAGE_SIZE,
    overdue: bool = False,
) -> PageOut:
    organizations = _organizations(session, principal, client)
    page = desk.due_requests(session, organizations, cursor, limit, overdue)
    return PageOut(
        items=[
            DueItemOut(
                id=i.id,
                organization=i.organization.slug,
                reference=i.reference,
                type=i.type,
                status=i.status,
                due_at=i.due_at,
                overdue=i.overdue,
            )  # fmt: skip
            for i in page.items
        ],
        next_cursor=page.next_cursor,
    )


class HintIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    identity: str = Field(min_length=1, max_length=254)
    kind: str | None = Field(default=None, max_length=16)


@router.post("/dnc-hints")
def dnc_hints(
    body: HintIn, principal: Reader, session: ReadSessionDep, runtime: RuntimeDep
) -> dict[str, list[str]]:
    """Which of the desk's organizations hold this number (or email) on their own company
    do-not-call list: a hint for BPO staff, never applied to another client's decisions.
    POST so the identity stays out of URLs and access logs."""
    organizations = _organizations(session, principal, None)
    try:
        found = desk.dnc_hints(session, runtime.keys, organizations, body.identity, body.kind)
    except ValueError as exc:
        field = "kind" if body.kind and "IdentityKind" in str(exc) else "identity"
        raise Problem(
            422, "Invalid identity", str(exc), errors=[{"field": field, "message": str(exc)}]
        ) from None
    return {"organizations": [o.slug for o in found]}
