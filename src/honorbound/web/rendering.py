"""Templates and static files for the server-rendered pages. Nothing is loaded from elsewhere."""

from __future__ import annotations

import base64
import contextvars
import hashlib
import re
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from honorbound import i18n
from honorbound.web import csrf
from honorbound.web.console.words import say as _say

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
# `{% trans %}` and `_()` in templates speak the language of the page being rendered: the
# portal's and the console's pages follow the person's choice (web/portal/language.py: the
# switch's cookie, else Accept-Language); the console's pages not yet translated are English.
_LANG: contextvars.ContextVar[str] = contextvars.ContextVar("page_language", default="en")
templates.env.add_extension("jinja2.ext.i18n")
templates.env.install_gettext_callables(  # type: ignore[attr-defined]
    lambda message: i18n.gettext(_LANG.get(), message),
    lambda singular, plural, n: i18n.ngettext(_LANG.get(), singular, plural, n),
    newstyle=True,
)
templates.env.filters["day"] = lambda value: i18n.format_day(value, _LANG.get())
# The text alone, for places markup cannot go (<title>, attributes): a declaration's text
# shown in another language renders marked with its language (policy/translations.Foreign).
templates.env.filters["text"] = str
# A message made in code (a form's error, a type's label), marked there with N_: translated
# when shown, escaped like any value (never formatted, never trusted as markup).
templates.env.filters["t"] = lambda message: i18n.translate(_LANG.get(), message)
templates.env.globals["say"] = lambda group, code: _say(_LANG.get(), group, code)
templates.env.filters["number"] = lambda value: i18n.format_number(value, _LANG.get())

# Pages never load anything from another origin; the policy says so to the browser too.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


_STYLE = re.compile(r"<style>(.*?)</style>", re.DOTALL)


def standalone_headers(html: str) -> dict[str, str]:
    """The security headers for a page that carries its own inline <style> (the public
    notice, which must read well when saved or printed): each style block is allowed by its
    SHA-256 hash, nothing else inline, no script at all."""
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(m.encode()).digest()).decode() + "'"
        for m in _STYLE.findall(html)
    )
    return {
        **SECURITY_HEADERS,
        "Content-Security-Policy": (
            f"default-src 'none'; img-src 'self' data:; style-src 'self' {hashes}; "
            "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        ),
    }


def mount_static(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")


# The console's pages still written in English only (docs/web.md, Language): shown in English
# whatever the staff member chose, so a page never claims a language it does not speak.
ENGLISH_ONLY: frozenset[str] = frozenset()


def render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    # Who is signed in, as checked against the server's session table by `staff.signed_in`
    # (never read from the cookie alone: an ended session shows nobody).
    staff = getattr(request.state, "staff", None)
    context.setdefault("user", staff.username if staff else None)
    context.setdefault("role", staff.role.value if staff else None)
    context["csrf_token"] = csrf.token(request)
    lang = "en"
    portal = name.startswith("portal/") or context.get("layout") == "portal/layout.html"
    # A console page, or a page in the console's frame (the console's error page).
    console = not portal and (
        name.startswith(("console/", "login"))
        or name == "invite.html"
        or context.get("layout") == "console/layout.html"
    )
    if portal or console:
        from honorbound.web.portal import language

        lang = language.chosen(request)
        if portal:
            links = language.switch_links(request, lang, context.get("slug"))
        else:
            lang = lang if name not in ENGLISH_ONLY else i18n.DEFAULT
            links = language.console_switch_links(request, lang)
        context.setdefault("languages", links)
    context["lang"] = lang
    reset = _LANG.set(lang)
    try:
        response = templates.TemplateResponse(request, name, context, status_code=status)
    finally:
        _LANG.reset(reset)
    response.headers.update(SECURITY_HEADERS)
    if portal or console:
        response.headers["Content-Language"] = lang
        response.headers["Vary"] = "Accept-Language, Cookie"
    return response
