"""The organization's declaration: adopt versions, read them, compare them; the public notice."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import HTMLResponse, PlainTextResponse
from pydantic import BaseModel, ConfigDict, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from honorbound import i18n
from honorbound.accounts.models import Organization
from honorbound.accounts.service import Principal
from honorbound.api.deps import PublicRead, RowId, RuntimeDep, SessionDep, require
from honorbound.api.problems import Problem
from honorbound.policy import store
from honorbound.policy.applicability import report as applicability_report
from honorbound.policy.diff import diff
from honorbound.policy.models import PolicyVersion
from honorbound.policy.render import render
from honorbound.validation import field_path
from honorbound.web.rendering import standalone_headers

router = APIRouter(prefix="/v1/policy", tags=["policy"])
public = APIRouter(prefix="/v1/public/orgs", tags=["policy (public)"], dependencies=[PublicRead])
Reader = Annotated[Principal, Depends(require("policy.read"))]
Manager = Annotated[Principal, Depends(require("policy.manage"))]

YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "text/plain")


class VersionOut(BaseModel):
    id: int
    number: int
    content_hash: str
    effective_date: dt.date
    adopted_at: dt.datetime
    adopted_by: str
    material: bool


class VersionDetail(VersionOut):
    changes: list[dict[str, Any]]
    declaration: dict[str, Any]


class AdoptedOut(VersionDetail):
    # What `policy check` warns about with the jurisdiction rules (adoption goes ahead).
    warnings: list[dict[str, Any]]


class AdoptIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str


class DiffOut(BaseModel):
    from_number: int | None
    to_number: int
    material: bool
    changes: list[dict[str, Any]]


def _out(row: PolicyVersion) -> VersionOut:
    return VersionOut.model_validate(row, from_attributes=True)


def _detail(row: PolicyVersion) -> VersionDetail:
    return VersionDetail(
        **_out(row).model_dump(), changes=list(row.changes or []), declaration=row.document
    )


def _row(session: Session, organization_id: int, version_id: int) -> PolicyVersion:
    row = session.scalar(
        select(PolicyVersion).where(
            PolicyVersion.id == version_id, PolicyVersion.organization_id == organization_id
        )
    )
    if row is None:
        raise Problem(404, "Not found", f"No policy version {version_id} in this organization.")
    return row


def _current_row(session: Session, organization_id: int) -> PolicyVersion:
    rows = store.versions(session, organization_id)
    if not rows:
        raise Problem(404, "No notice adopted", "This organization has not adopted a notice yet.")
    return rows[-1]


async def _declaration_text(request: Request) -> str:
    """The body: YAML text as is, or JSON `{"text": "..."}`."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    raw = await request.body()
    try:
        body = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Problem(400, "Body is not UTF-8", "Send the declaration as UTF-8 text.") from None
    if kind == "application/json":
        try:
            return AdoptIn.model_validate(json.loads(body)).text
        except json.JSONDecodeError:
            raise Problem(
                400,
                "Request body is not valid JSON",
                "The body could not be parsed as JSON.",
                errors=[{"field": "body", "message": "is not valid JSON"}],
            ) from None
        except ValidationError as exc:
            errors = [
                {"field": field_path(("body", *e["loc"])), "message": e["msg"]}
                for e in exc.errors()
            ]
            raise Problem(
                422,
                "Invalid request",
                f"{errors[0]['field']}: {errors[0]['message']}.",
                errors=errors,
            ) from None
    if kind and kind not in YAML_TYPES:
        raise Problem(
            415,
            "Unsupported media type",
            f'Send the declaration as YAML ({YAML_TYPES[0]}) or as JSON {{"text": ...}}.',
        )
    return body


@router.get("", response_model=VersionDetail)
def current_policy(principal: Reader, session: SessionDep) -> VersionDetail:
    """The version in force: its metadata, changes from the previous one, and the declaration."""
    return _detail(_current_row(session, principal.organization_id))


class LawOut(BaseModel):
    state: str
    law: str
    status: Literal["applies", "may_apply", "does_not_apply"]
    effective: dt.date
    in_force: bool
    reasons: list[str]
    cure: str | None
    confirmed: bool
    unconfirmed: list[str]


class DueOut(BaseModel):
    what: str
    due: dt.date
    note: str | None


class ObligationOut(BaseModel):
    id: str
    state: str
    title: str
    status: Literal["applies", "may_apply", "does_not_apply"]
    starts: dt.date
    duties: list[str]
    deadlines: list[DueOut]
    reasons: list[str]
    request_types: list[str]
    confirmed: bool


class ApplicabilityOut(BaseModel):
    on: dt.date
    version: int
    laws: list[LawOut]
    obligations: list[ObligationOut]
    unconfirmed: list[str]


@router.get("/applicability", response_model=ApplicabilityOut)
def applicability(
    principal: Reader,
    session: SessionDep,
    runtime: RuntimeDep,
    on: Annotated[dt.date | None, Query(description="Date to judge on (default: today).")] = None,
) -> ApplicabilityOut:
    """Which state laws apply to the organization, and which dated obligations (CA risk
    assessments, cybersecurity audits, ADMT) it has, from the facts its notice in force declares
    (`applicability`). Each law says `applies`, `may_apply` (a fact is not declared: the reason
    names it) or `does_not_apply`, with its cure period; `unconfirmed` lists rules relied on
    that are not confirmed."""
    row = _current_row(session, principal.organization_id)
    adopted = store.get_version(session, principal.organization_id, row.id)
    assert adopted is not None
    found = applicability_report(runtime.rules, adopted.declaration, on or dt.date.today())
    return ApplicabilityOut(
        on=found.on,
        version=row.number,
        laws=[LawOut.model_validate(law, from_attributes=True) for law in found.laws],
        obligations=[
            ObligationOut(
                **{k: getattr(o, k) for k in ObligationOut.model_fields if k != "deadlines"},
                deadlines=[DueOut.model_validate(d, from_attributes=True) for d in o.deadlines],
            )
            for o in found.obligations
        ],
        unconfirmed=found.unconfirmed,
    )


@router.get("/versions", response_model=list[VersionOut])
def list_versions(principal: Reader, session: SessionDep) -> list[VersionOut]:
    return [_out(v) for v in store.versions(session, principal.organization_id)]


@router.get("/versions/{version_id}", response_model=VersionDetail)
def get_version(version_id: RowId, principal: Reader, session: SessionDep) -> VersionDetail:
    return _detail(_row(session, principal.organization_id, version_id))


@router.post(
    "/versions",
    response_model=AdoptedOut,
    status_code=201,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/yaml": {"schema": {"type": "string"}},
                "application/json": {"schema": AdoptIn.model_json_schema()},
            },
        }
    },
)
def adopt(
    principal: Manager,
    runtime: RuntimeDep,
    response: Response,
    text: Annotated[str, Depends(_declaration_text)],
) -> AdoptedOut:
    """Adopt a declaration. 201 with the new version; 200 when the same content is in force
    already; 422 listing every problem as `line` + `message` when it does not pass the check.
    `warnings` lists, as `line` + `message`, what the check warns about with the jurisdiction
    rules (the same as `honorbound policy check`); they do not block adoption."""
    # Parsed and checked before the unit of work opens: no parse holds the database. An
    # AdoptionError lists each line at fault; the handler answers it.
    prepared = store.prepare(text, "declaration.yaml", runtime.rules)
    warned = [{"line": p.line, "message": p.message} for p in prepared.warnings]
    with runtime.db.session() as session:
        adopted, created = store.adopt(
            session, principal.organization_id, prepared, principal.actor, jobs=runtime.jobs
        )
        detail = _detail(_row(session, principal.organization_id, adopted.version_id))
    if not created:
        response.status_code = 200
    return AdoptedOut(**detail.model_dump(), warnings=warned)


@router.get("/versions/{version_id}/diff", response_model=DiffOut)
def version_diff(
    version_id: RowId,
    principal: Reader,
    session: SessionDep,
    against: Annotated[int | None, Query(ge=1, le=2_147_483_647)] = None,
) -> DiffOut:
    """Changes from the previous version (or from version id `against`) to this one."""
    org = principal.organization_id
    row = _row(session, org, version_id)
    new = store.get_version(session, org, row.id)
    if against is not None:
        base = store.get_version(session, org, _row(session, org, against).id)
    else:
        previous = [v for v in store.versions(session, org) if v.number < row.number]
        base = store.get_version(session, org, previous[-1].id) if previous else None
    assert new is not None
    changes = [] if base is None else [c.as_dict() for c in diff(base.declaration, new.declaration)]
    return DiffOut(
        from_number=base.number if base else None,
        to_number=row.number,
        material=any(c["material"] for c in changes),
        changes=changes,
    )


# -- public, no key ----------------------------------------------------------------------------


def _org_id(session: Session, slug: str) -> int:
    org_id = session.scalar(select(Organization.id).where(Organization.slug == slug))
    if org_id is None:
        raise Problem(404, "Not found", "No organization with that address.")
    return int(org_id)


def _notice_url(request: Request, slug: str) -> str:
    return str(request.url_for("public_notice", slug=slug))


def _language(
    request: Request,
    lang: Annotated[
        str | None,
        Query(
            description=f"The notice's language: {', '.join(i18n.LANGUAGES)}. Without it, "
            "the best of Accept-Language, else English."
        ),
    ] = None,
) -> str:
    """`?lang=` when given (an unknown one is refused, naming the languages offered), else the
    reader's Accept-Language (a preference: one the notice is not offered in is passed over)."""
    if lang is not None:
        return i18n.offered(lang, "query.lang")
    return i18n.from_accept_language(request.headers.get("accept-language"))


NoticeLanguage = Annotated[str, Depends(_language)]


def _language_headers(lang: str) -> dict[str, str]:
    return {"Content-Language": lang, "Vary": "Accept-Language"}


@public.get("/{slug}/notice", response_class=HTMLResponse, name="public_notice")
def public_notice(
    slug: str,
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    lang: NoticeLanguage,
    format: Annotated[str, Query(pattern="^(html|md)$")] = "html",
) -> Response:
    """The privacy notice in force, rendered from the adopted declaration, in English or
    Spanish (`?lang=`, else Accept-Language)."""
    row = _current_row(session, _org_id(session, slug))
    version = store.get_version(session, row.organization_id, row.id)
    assert version is not None
    text = render(
        version.declaration,
        "md" if format == "md" else "html",
        _notice_url(request, slug),
        runtime.rules.state_names,
        lang,
    )
    # One representation per version and language (the ETag names both).
    headers = {
        "ETag": f'"{row.content_hash}-{lang}"',
        **standalone_headers(text),
        **_language_headers(lang),
    }
    if format == "md":
        return PlainTextResponse(text, media_type="text/markdown; charset=utf-8", headers=headers)
    return HTMLResponse(text, headers=headers)


@public.get("/{slug}/notice.json")
def public_notice_json(slug: str, session: SessionDep) -> dict[str, Any]:
    """The declaration in force, as JSON (the form the content hash covers)."""
    row = _current_row(session, _org_id(session, slug))
    return {
        "version": row.number,
        "effective_date": row.effective_date.isoformat(),
        "content_hash": row.content_hash,
        "declaration": row.document,
    }


class PublicVersion(BaseModel):
    number: int
    effective_date: dt.date
    adopted_at: dt.datetime
    content_hash: str
    material: bool
    changes: list[str]


@public.get("/{slug}/notice/versions", response_model=list[PublicVersion])
def public_history(slug: str, session: SessionDep) -> list[PublicVersion]:
    """Every version the organization adopted, newest first, with what changed."""
    rows = store.versions(session, _org_id(session, slug))
    return [
        PublicVersion(
            number=r.number,
            effective_date=r.effective_date,
            adopted_at=r.adopted_at,
            content_hash=r.content_hash,
            material=r.material,
            changes=[str(c.get("message", "")) for c in (r.changes or [])],
        )
        for r in reversed(rows)
    ]


@public.get("/{slug}/notice/versions/{number}", response_class=HTMLResponse)
def public_past_notice(
    slug: str,
    number: RowId,
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    lang: NoticeLanguage,
) -> Response:
    """An earlier version of the notice, as it read then (in the language chosen as for the
    notice in force)."""
    org_id = _org_id(session, slug)
    row = next((r for r in store.versions(session, org_id) if r.number == number), None)
    if row is None:
        raise Problem(404, "Not found", f"No version {number} of this notice.")
    version = store.get_version(session, org_id, row.id)
    assert version is not None
    html = render(
        version.declaration, "html", _notice_url(request, slug), runtime.rules.state_names, lang
    )
    return HTMLResponse(html, headers={**standalone_headers(html), **_language_headers(lang)})
