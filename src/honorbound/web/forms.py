"""A page whose form meets a domain error shows itself again, with a sentence saying what was
wrong, instead of the site's error page. The page says, before it calls the domain, how it is
shown again (`shown_again`); the one handler of the errors (`api/problems.py`, through
`web/errors.page`) asks here first. The words for an error are chosen here, in one place
(`sentence`), not in each page.

    shown_again(request, lambda status, error: _page(request, staff, status, error, form=form))
    holds.place_hold(...)          # a RetentionInputError now answers the page, status and all

A page that names the form field an error is about passes `field=` (the scrub page's
"campaign: ..."). Only `HonorboundError`s are answered this way; anything else keeps the error
page, and a 500 is never shown on a form (it is our failure: logged, the generic page).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Request
from fastapi.responses import Response

from honorbound.errors import FieldError, HonorboundError

# Given the status and the sentence, the page with the form again (typed values kept).
Rerender = Callable[[int, str], Response]


@dataclass(frozen=True)
class _Shown:
    rerender: Rerender
    field: str
    kinds: tuple[type[HonorboundError], ...]


def shown_again(
    request: Request,
    rerender: Rerender,
    field: str = "",
    kinds: tuple[type[HonorboundError], ...] = (HonorboundError,),
) -> None:
    """A domain error raised after this call (in this request) answers `rerender(status,
    sentence)`; `field` names the form field the sentence is about, when the page knows it;
    `kinds` keeps it to the errors the page expects (the others get the error page)."""
    request.state.shown_again = _Shown(rerender, field, kinds)


# A field's name on the forms where the domain's name would read oddly.
LABELS = {"received_at": "received on"}


def sentence(exc: HonorboundError, field: str = "") -> str:
    """The words a form shows for an error: `field: what was wrong`."""
    if isinstance(exc, FieldError):
        return f"{LABELS.get(exc.field, exc.field)}: {exc.message}"
    return f"{field}: {exc}" if field else str(exc)


def answer(request: Request, exc: HonorboundError) -> Response | None:
    """The page shown again for this error, or None when the page declared none."""
    shown: _Shown | None = getattr(request.state, "shown_again", None)
    if shown is None or exc.status >= 500 or not isinstance(exc, shown.kinds):
        return None
    return shown.rerender(exc.status, sentence(exc, shown.field))
