"""All server-rendered pages on one router: sign-in, the staff console and the public portal.

`api/app.py` includes `router` and calls `mount_static`; each page family lives in its own
module under `web/console/` or `web/portal/`.
"""

from __future__ import annotations

from fastapi import APIRouter

from honorbound.web import login
from honorbound.web.console import (
    audit,
    breach,
    client_settings,
    clients,
    consent,
    dashboard,
    desk,
    disclosures,
    dnc_lists,
    intents,
    outbox,
    policy,
    reports,
    requests,
    retention,
    scrub,
    subjects,
    systems,
    team,
)
from honorbound.web.portal import choices, language, notice, preferences, status
from honorbound.web.portal import requests as portal_requests
from honorbound.web.rendering import mount_static

router = APIRouter(include_in_schema=False)
for module in (
    login,
    dashboard,
    desk,
    requests,
    subjects,
    consent,
    intents,
    scrub,
    policy,
    retention,
    systems,
    disclosures,
    breach,
    reports,
    audit,
    outbox,
    team,
    clients,
    client_settings,
    dnc_lists,
    notice,
    choices,
    preferences,
    portal_requests,
    language,
    status,
):
    router.include_router(module.router)

__all__ = ["mount_static", "router"]
