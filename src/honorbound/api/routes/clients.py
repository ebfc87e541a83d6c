"""/v1/clients: a BPO's administrators onboard, staff, disable and offboard client organizations.

The caller's key is the BPO's (role admin). A client id that is not one of this BPO's clients
is 404, whoever else it belongs to. Each route calls one function of bpo.clients.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import FileResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from honorbound.accounts.models import Organization
from honorbound.accounts.service import Principal
from honorbound.api.deps import ReadSessionDep, RowId, RuntimeDep, SessionDep, require
from honorbound.api.problems import Problem
from honorbound.bpo import clients, datamap, desk
from honorbound.consent import overrides
from honorbound.disclosures import subprocessors
from honorbound.policy import client_rules
from honorbound.policy.store import prepare
from honorbound.retention.certificates import document

router = APIRouter(prefix="/v1/clients", tags=["clients"])
BpoAdmin = Annotated[Principal, Depends(require("clients.manage"))]
NOT_FOUND = "No client with that id at your BPO."


class NewClient(BaseModel):
    model_config = ConfigDict(extra="forbid")
    slug: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=clients.MAX_NAME)
    privacy_contact: str = Field(min_length=1, max_length=clients.MAX_CONTACT)
    notice: str | None = Field(
        default=None,
        max_length=clients.MAX_NOTICE_BYTES,
        description="The client's notice: a declaration in YAML, adopted as its first version.",
    )


class ClientOut(BaseModel):
    id: int
    slug: str
    name: str
    privacy_contact: str
    state: str
    created_at: dt.datetime
    disabled_at: dt.datetime | None
    offboarded_at: dt.datetime | None


class NewClientKey(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=clients.MAX_NAME)
    role: str = Field(min_length=1, max_length=32)


class IssuedClientKey(BaseModel):
    id: int
    prefix: str
    role: str
    key: str = Field(description="The key itself. Shown once; store it now.")


class NewInvitation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str = Field(min_length=1, max_length=320)
    role: str = Field(min_length=1, max_length=32)
    display_name: str = Field(default="", max_length=200)


class Invitation(BaseModel):
    user_id: int
    username: str
    link: str = Field(description="The one-use link, also mailed. Shown once.")


class NewAccess(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=320)
    role: str = Field(min_length=1, max_length=32)


class Access(BaseModel):
    user_id: int
    organization_id: int
    role: str


class Offboarding(BaseModel):
    package_name: str
    package_sha256: str
    certificate: dict[str, Any]


def _out(org: Organization) -> ClientOut:
    row = clients.ClientRow(
        org.id, org.slug, org.name, org.privacy_contact, org.created_at, org.disabled_at,
        org.offboarded_at,
    )  # fmt: skip
    return ClientOut(**{k: getattr(row, k) for k in ClientOut.model_fields})


def _client(session: Session, principal: Principal, client_id: int) -> Organization:
    try:
        return clients.client_of(session, principal.organization_id, client_id)
    except LookupError:
        raise Problem(404, "Not found", NOT_FOUND) from None


def owned_client(client_id: RowId, principal: BpoAdmin, session: ReadSessionDep) -> int:
    """The client id when it is this BPO's client; 404 before the body is even read."""
    try:
        return clients.client_of(session, principal.organization_id, client_id).id
    except LookupError:
        raise Problem(404, "Not found", NOT_FOUND) from None


OwnedClient = Annotated[int, Depends(owned_client)]


@router.get("", response_model=list[ClientOut])
def list_clients(principal: BpoAdmin, session: SessionDep) -> list[ClientOut]:
    rows = clients.clients(session, principal.organization_id)
    return [ClientOut(**{k: getattr(r, k) for k in ClientOut.model_fields}) for r in rows]


@router.post("", response_model=ClientOut, status_code=201)
def onboard(
    body: NewClient, principal: BpoAdmin, runtime: RuntimeDep, session: SessionDep
) -> ClientOut:
    prepared = None
    if body.notice is not None:
        prepared = prepare(body.notice, "notice.yaml")  # AdoptionError names each line
    org = clients.onboard_client(
        session, principal.organization_id, body.slug, body.name, body.privacy_contact,
        principal.actor, prepared, runtime.jobs,
    )  # fmt: skip
    return _out(org)


@router.get("/data-map", response_model=None)
def data_map(
    principal: Annotated[Principal, Depends(require("desk.read"))],
    session: ReadSessionDep,
    format: Annotated[Literal["json", "csv"], Query(description="json (default) or csv.")] = "json",
) -> dict[str, Any] | Response:
    """The adopted notices of the BPO and every client it operates, side by side by data
    category (purposes, recipients, retention; `values` null where a notice lacks the
    category), with the rows that differ marked. A client's key sees its own notice only."""
    found = datamap.compare(session, desk.organizations_of_bpo(session, principal.organization_id))
    if format == "csv":
        return Response(
            datamap.as_csv(found),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="clients-data-map.csv"'},
        )
    return datamap.as_json(found)


@router.get("/{client_id}", response_model=ClientOut)
def get_client(client_id: RowId, principal: BpoAdmin, session: SessionDep) -> ClientOut:
    return _out(_client(session, principal, client_id))


@router.post("/{client_id}/api-keys", response_model=IssuedClientKey, status_code=201)
def issue_key(
    client_id: OwnedClient, body: NewClientKey, principal: BpoAdmin, session: SessionDep
) -> IssuedClientKey:
    key, plaintext = clients.issue_client_key(
        session, principal.organization_id, client_id, body.role, body.name, principal.actor
    )
    return IssuedClientKey(id=key.id, prefix=key.prefix, role=key.role, key=plaintext)


@router.post("/{client_id}/invitations", response_model=Invitation, status_code=201)
def invite(
    client_id: OwnedClient,
    body: NewInvitation,
    principal: BpoAdmin,
    runtime: RuntimeDep,
    session: SessionDep,
) -> Invitation:
    user, link = clients.invite_to_client(
        session, runtime.keys, runtime.jobs, principal.organization_id, client_id,
        body.email, body.role, body.display_name, principal.actor,
        runtime.settings.base_url.rstrip("/") + "/invite",
    )  # fmt: skip
    return Invitation(user_id=user.id, username=user.username, link=link)


@router.post("/{client_id}/members", response_model=Access, status_code=201)
def grant(
    client_id: OwnedClient, body: NewAccess, principal: BpoAdmin, session: SessionDep
) -> Access:
    membership = clients.grant_client_access(
        session, principal.organization_id, client_id, body.username, body.role,
        principal.actor,
    )  # fmt: skip
    return Access(
        user_id=membership.user_id,
        organization_id=membership.organization_id,
        role=membership.role,
    )


@router.post("/{client_id}/disable", response_model=ClientOut)
def disable(client_id: RowId, principal: BpoAdmin, session: SessionDep) -> ClientOut:
    org = _client(session, principal, client_id)
    clients.disable_client(session, principal.organization_id, client_id, principal.actor)
    return _out(org)


@router.post("/{client_id}/enable", response_model=ClientOut)
def enable(client_id: RowId, principal: BpoAdmin, session: SessionDep) -> ClientOut:
    org = _client(session, principal, client_id)
    clients.enable_client(session, principal.organization_id, client_id, principal.actor)
    return _out(org)


def offboarding_dir(runtime: Any) -> Any:
    return runtime.settings.data_dir / "offboarding"


@router.post("/{client_id}/offboarding", response_model=Offboarding, status_code=201)
def offboard(client_id: RowId, principal: BpoAdmin, runtime: RuntimeDep) -> Offboarding:
    """Export the disabled client's data as a package for the controller, erase it, and
    answer with the signed certificate. The package waits at /offboarding/package."""
    bpo_id = principal.organization_id
    with runtime.db.read_session() as session:
        _client(session, principal, client_id)
        export = clients.export_client(
            session, runtime.vault_keys, runtime.rules, bpo_id, client_id,
            offboarding_dir(runtime), runtime.settings.recordings_store,
        )  # fmt: skip
    with runtime.db.session() as session:
        row = clients.offboard_client(
            session, runtime.keys, runtime.vault_keys, bpo_id, client_id, export,
            principal.actor,
        )  # fmt: skip
        return Offboarding(
            package_name=row.package_name,
            package_sha256=row.package_sha256,
            certificate=document(row.certificate, row.signature),
        )


@router.get("/{client_id}/offboarding/certificate")
def certificate(client_id: RowId, principal: BpoAdmin, session: SessionDep) -> JSONResponse:
    try:
        row = clients.offboarding_of(session, principal.organization_id, client_id)
    except LookupError:
        raise Problem(404, "Not found", "No offboarding of that client at your BPO.") from None
    return JSONResponse(document(row.certificate, row.signature))


@router.get("/{client_id}/offboarding/package", response_model=None)
def package(
    client_id: RowId, principal: BpoAdmin, runtime: RuntimeDep, session: SessionDep
) -> FileResponse:
    try:
        row = clients.offboarding_of(session, principal.organization_id, client_id)
    except LookupError:
        raise Problem(404, "Not found", "No offboarding of that client at your BPO.") from None
    path = offboarding_dir(runtime) / row.package_name
    if not path.is_file():
        raise Problem(
            410, "Gone", "The package was removed from the server after it was handed over."
        )
    return FileResponse(path, media_type="application/zip", filename=row.package_name)


class CallingHoursIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    start: str = Field(max_length=5, description="HH:MM in the callee's local time.")
    end: str = Field(max_length=5)


class OverridesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    calling_hours: CallingHoursIn
    note: str = Field(
        default="", max_length=overrides.MAX_NOTE, description="The counsel position it follows."
    )


def _overrides_out(row: overrides.ContactOverride | None) -> dict[str, Any]:
    if row is None:
        return {"calling_hours": None, "note": "", "updated_at": None}
    return {
        "calling_hours": {"start": row.calling_start, "end": row.calling_end},
        "note": row.note,
        "updated_at": row.updated_at.isoformat(),
    }


@router.get("/{client_id}/overrides")
def get_overrides(client_id: OwnedClient, session: ReadSessionDep) -> dict[str, Any]:
    return _overrides_out(session.get(overrides.ContactOverride, client_id))


@router.put("/{client_id}/overrides")
def put_overrides(
    client_id: OwnedClient,
    body: OverridesIn,
    principal: BpoAdmin,
    session: SessionDep,
    runtime: RuntimeDep,
) -> dict[str, Any]:
    """The client's own calling hours, stricter than the law (inside the federal window);
    the law's windows keep applying on top."""
    row = overrides.set_calling_hours(
        session,
        client_id,
        runtime.contact_rules,
        body.calling_hours.start,
        body.calling_hours.end,
        body.note,
        principal.actor,
    )
    return _overrides_out(row)


@router.delete("/{client_id}/overrides", status_code=204)
def delete_overrides(client_id: OwnedClient, principal: BpoAdmin, session: SessionDep) -> None:
    overrides.clear(session, client_id, principal.actor)


class ClientRulesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rules: str = Field(
        min_length=1,
        max_length=client_rules.MAX_OVERRIDE_CHARS,
        description="The override in YAML, the format of HONORBOUND_RULES_FILE; only the "
        "families honoured per client (docs/bpo.md), each no later than the installation's.",
    )
    name: str = Field(
        default=client_rules.DEFAULT_NAME,
        max_length=client_rules.MAX_NAME,
        description="The file name the problems point into (FILE:LINE: message).",
    )


def _rules_out(runtime: Any, row: client_rules.ClientRulesOverride | None) -> dict[str, Any]:
    if row is None:
        return {"override": None, "in_force": False, "problem": None, "periods": {}}
    book = runtime.rule_book
    problem = book.in_force(row)
    paths = client_rules.paths_of(book, row.source_text)
    rules = book.installation if problem else book.built(row)
    return {
        "override": {
            "name": row.name,
            "sha256": row.sha256,
            "rules": row.source_text,
            "updated_at": row.updated_at.isoformat(),
            "updated_by": row.updated_by,
        },
        "in_force": problem is None,
        "problem": problem,
        "periods": client_rules.periods(rules, paths),
    }


@router.get("/{client_id}/rules")
def get_client_rules(
    client_id: OwnedClient, session: ReadSessionDep, runtime: RuntimeDep
) -> dict[str, Any]:
    """The client's override of the jurisdiction rules, whether it is in force, and the
    periods it sets."""
    return _rules_out(runtime, client_rules.override_of(session, client_id))


@router.put("/{client_id}/rules")
def put_client_rules(
    client_id: OwnedClient,
    body: ClientRulesIn,
    principal: BpoAdmin,
    session: SessionDep,
    runtime: RuntimeDep,
) -> dict[str, Any]:
    """Set the client's own rules (counsel's deadlines, stricter than the installation's);
    a bad or looser file is a 422 with every problem as FILE:LINE, nothing stored."""
    row = client_rules.set_override(
        session, runtime.rule_book, client_id, body.rules, body.name, principal.actor
    )
    return _rules_out(runtime, row)


@router.delete("/{client_id}/rules", status_code=204)
def delete_client_rules(client_id: OwnedClient, principal: BpoAdmin, session: SessionDep) -> None:
    client_rules.clear_override(session, client_id, principal.actor)


class SubprocessorIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=subprocessors.MAX_NAME)
    purpose: str = Field(min_length=1, max_length=subprocessors.MAX_PURPOSE)
    location: str = Field(min_length=1, max_length=subprocessors.MAX_LOCATION)
    categories: list[str] = Field(default_factory=list, max_length=subprocessors.MAX_CATEGORIES)
    objection_days: int = Field(
        default=subprocessors.DEFAULT_OBJECTION_DAYS,
        ge=0,
        le=365,
        description="The contract's objection window, named in the change notice.",
    )


def _change_out(change: subprocessors.Change) -> dict[str, Any]:
    return {
        **subprocessors.out(change.subprocessor),
        "objection_deadline": change.objection_deadline.isoformat(),
        "notice_id": change.notice_id,
    }


@router.get("/{client_id}/subprocessors")
def list_subprocessors(client_id: OwnedClient, session: ReadSessionDep) -> dict[str, Any]:
    return {"items": [subprocessors.out(s) for s in subprocessors.current(session, client_id)]}


@router.post("/{client_id}/subprocessors", status_code=201)
def add_subprocessor(
    client_id: OwnedClient,
    body: SubprocessorIn,
    principal: BpoAdmin,
    session: SessionDep,
    runtime: RuntimeDep,
) -> dict[str, Any]:
    """Register a sub-processor for this client; the change notice goes to the client's
    privacy contact."""
    org = _client(session, principal, client_id)
    change = subprocessors.add(
        session, runtime.keys, runtime.jobs, client_id, org.privacy_contact, body.name,
        body.purpose, body.location, body.categories, principal.actor, body.objection_days,
    )  # fmt: skip
    return _change_out(change)


@router.delete("/{client_id}/subprocessors/{subprocessor_id}")
def remove_subprocessor(
    client_id: OwnedClient,
    subprocessor_id: RowId,
    principal: BpoAdmin,
    session: SessionDep,
    runtime: RuntimeDep,
) -> dict[str, Any]:
    org = _client(session, principal, client_id)
    try:
        change = subprocessors.remove(
            session, runtime.keys, runtime.jobs, client_id, org.privacy_contact,
            subprocessor_id, principal.actor,
        )  # fmt: skip
    except LookupError:
        raise Problem(404, "Not found", "No such sub-processor for this client.") from None
    return _change_out(change)
