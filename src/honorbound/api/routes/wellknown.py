"""`/.well-known/` documents: the receipt signing keys (JWKS) and the GPC site declaration."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from honorbound.api.deps import RuntimeDep
from honorbound.consent import receipts

router = APIRouter(tags=["well-known"])

# The date this installation's GPC behaviour last changed (GPC spec: `lastUpdate`).
GPC_LAST_UPDATE = "2026-11-24"


@router.get("/.well-known/jwks.json")
def jwks(runtime: RuntimeDep) -> JSONResponse:
    body: dict[str, Any] = receipts.jwks(runtime.keys)
    return JSONResponse(body, headers={"Cache-Control": "public, max-age=3600"})


@router.get("/.well-known/gpc.json")
def gpc_declaration() -> JSONResponse:
    return JSONResponse({"gpc": True, "lastUpdate": GPC_LAST_UPDATE})
