"""The language of the portal's and the console's pages: the switch on every page (a plain link,
no script) remembered by a cookie, else the browser's Accept-Language, else English
(honorbound.i18n). A staff member's choice is the same cookie: it sticks across pages and
sign-ins on that browser."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from honorbound import i18n

router = APIRouter(include_in_schema=False)
COOKIE = "honorbound_lang"
COOKIE_DAYS = 400  # the longest lifetime browsers keep (RFC 6265bis)


def chosen(request: Request) -> str:
    """The language of this portal page."""
    return i18n.supported(request.cookies.get(COOKIE)) or i18n.from_accept_language(
        request.headers.get("accept-language")
    )


def switch_target(request: Request, slug: str) -> str:
    """Where the switch brings the person back: this page, when a GET can show it again (a
    page answering a form cannot be fetched again; that goes to the portal's first page)."""
    if request.method != "GET":
        return f"/p/{slug}" if slug else "/"
    query = f"?{request.url.query}" if request.url.query else ""
    return request.url.path + query


def switch_links(
    request: Request, current: str, slug: str | None = None
) -> list[tuple[str, str, str]]:
    """(language, its name, the switch's address) for each language but the current one. The
    slug is the route's, or the page's (an error page answered outside any route)."""
    slug = slug or str(request.path_params.get("slug", ""))
    back = quote(switch_target(request, slug), safe="")
    return [
        (lang, name, f"/p/{slug}/language?to={lang}&next={back}")
        for lang, name in i18n.LANGUAGES.items()
        if lang != current
    ]


CONSOLE = "/console"


def console_switch_links(request: Request, current: str) -> list[tuple[str, str, str]]:
    """As `switch_links`, for a console (or sign-in) page: back to the same page."""
    back = quote(switch_target(request, "") if request.method == "GET" else CONSOLE, safe="")
    return [
        (lang, name, f"{CONSOLE}/language?to={lang}&next={back}")
        for lang, name in i18n.LANGUAGES.items()
        if lang != current
    ]


def _safe_next(slug: str, target: str, homes: tuple[str, ...] = ()) -> str:
    """Only a page of this portal (or of the console and its sign-in pages): never another
    site (no open redirect)."""
    parts = urlsplit(target)
    homes = homes or (f"/p/{slug}",)
    if (
        parts.scheme
        or parts.netloc
        or "\\" in target
        or not any(parts.path == home or parts.path.startswith(home + "/") for home in homes)
    ):
        return homes[0]
    return target


@router.get("/p/{slug}/language")
def switch_language(
    request: Request,
    slug: str,
    to: Annotated[str, Query(max_length=16)] = "",
    next: Annotated[str, Query(max_length=600)] = "",
) -> Response:
    return _remember(request, to, _safe_next(slug[:63], next))


@router.get("/console/language")
def switch_console_language(
    request: Request,
    to: Annotated[str, Query(max_length=16)] = "",
    next: Annotated[str, Query(max_length=600)] = "",
) -> Response:
    return _remember(request, to, _safe_next("", next, (CONSOLE, "/login", "/invite")))


def _remember(request: Request, to: str, target: str) -> Response:
    lang = i18n.supported(to) or i18n.DEFAULT
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        COOKIE,
        lang,
        max_age=COOKIE_DAYS * 86400,
        path="/",
        httponly=True,
        samesite="lax",
        secure=request.app.state.runtime.settings.secure_cookies,
    )
    return response
