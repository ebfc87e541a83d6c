"""Downloading the access package through its signed, expiring link; every download audited."""

from __future__ import annotations

from sqlalchemy.orm import Session

from honorbound.rights.context import Services
from honorbound.rights.models import RightsRequest, TokenPurpose
from honorbound.rights.outgoing import organization
from honorbound.rights.package import Package, build_package
from honorbound.rights.timeline import CONSUMER, log_event
from honorbound.rights.tokens import check_link


def download(
    session: Session, svc: Services, organization_id: int, token: str, client: str = ""
) -> tuple[RightsRequest, Package]:
    row = check_link(
        session,
        svc.keys,
        organization_id,
        token,
        TokenPurpose.DOWNLOAD,
        svc.rules.settings.max_attempts,
        single_use=False,
        client=client,
    )
    request = session.get(RightsRequest, row.request_id)
    assert request is not None
    org = organization(session, organization_id)
    package = build_package(
        session, svc.vault_keys, svc.laws, request, org.name, svc.recordings_dir
    )
    row.uses += 1
    log_event(
        session,
        request,
        "package_downloaded",
        CONSUMER,
        {
            "records": package.records,
            "categories": package.categories,
            "withheld": package.withheld,
            "download": row.uses,
        },
    )
    return request, package
