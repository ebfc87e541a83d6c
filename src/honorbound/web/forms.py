"""A page whose form meets a domain error shows itself again, with a sentence saying what was
wrong, instead of the site's error page. The page says, before it calls the domain, how it is
shown again (`shown_again`); the one handler of the errors (`api/problems.py`, through
`web/errors.page`) asks here first. The words for an error are chosen here, in one place
(`sentence`), not in each page, and in the page's language (web/portal/language.chosen).

    shown_again(request, lambda status, error: _page(request, staff, status, error, form=form))
    holds.place_hold(...)          # a RetentionInputError now answers the page, status and all

The sentence is the error's message as it was raised, still marked for translation
(`i18n.message_of`: a message marked with N_ in the domain reads in Spanish on a Spanish page;
an unmarked one stays English), after the field's name in words (`LABELS`, translated too; a
field without words shows as written). A page that names the form field an error is about
passes `field=` (the scrub page's "campaign"); a page whose messages already name their field
passes `named=False`; a page with its own plain words for a refusal (a field and a status: "That
was decided already: the list below is up to date.") passes them as `words=`, marked with N_;
they replace the domain's sentence (or frame it: `{message}` in them is the error's message).
Only `HonorboundError`s are answered this way; anything else keeps the error page, and a 500 is
never shown on a form (it is our failure: logged, the generic page).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from dataclasses import field as _field
from typing import TypeVar, cast

from fastapi import Request
from fastapi.responses import Response

from honorbound import i18n
from honorbound.errors import HonorboundError
from honorbound.i18n import N_
from honorbound.web.portal.language import chosen

# Given the status and the sentence, the page with the form again (typed values kept).
Rerender = Callable[[int, str], Response]
# Given the error itself and its sentence: for a page that words or marks the answer by the
# error's own members (a portal form's field at fault, a refused link's reason).
ByError = Callable[[HonorboundError, str], Response]
E = TypeVar("E", bound=HonorboundError)
# A page's own words for a refusal, by (the field at fault, the status): N_-marked sentences;
# the field ANY stands for every field the page has no words of its own for.
Words = Mapping[tuple[str, int], str]
ANY = "*"


@dataclass(frozen=True)
class _Shown:
    page: ByError
    field: str
    kinds: tuple[type[HonorboundError], ...]
    words: Words = _field(default_factory=dict)
    named: bool = True


def shown_again(
    request: Request,
    rerender: Rerender,
    field: str = "",
    kinds: tuple[type[HonorboundError], ...] = (HonorboundError,),
    words: Words | None = None,
    named: bool = True,
) -> None:
    """A domain error raised after this call (in this request) answers `rerender(status,
    sentence)`; `field` names the form field the sentence is about, when the page knows it;
    `kinds` keeps it to the errors the page expects (the others get the error page); `words`
    are the page's own sentences for some refusals; `named=False` leaves the field's name out
    (the messages name it already). Called again, the newest declaration whose `kinds` match
    answers: a page tells two errors apart (a not-found page for one, the form for the other)
    with one call for each."""
    declared = _Shown(
        lambda exc, text: rerender(exc.status, text), field, kinds, words or {}, named
    )
    _declare(request, declared)


def shown_again_by_error(
    request: Request, page: Callable[[E, str], Response], kinds: tuple[type[E], ...]
) -> None:
    """As `shown_again`, for a page that needs the error itself: `page(error, sentence)` answers
    an error of `kinds` raised after this call (the page chooses the status)."""
    _declare(request, _Shown(cast(ByError, page), "", kinds))


def _declare(request: Request, shown: _Shown) -> None:
    before: list[_Shown] = getattr(request.state, "shown_again", [])
    request.state.shown_again = [shown, *before]


# A field's name in words, where the domain's name would read oddly or stay English on a
# Spanish page. A field not listed shows as the domain names it, without the API's "body."
# (a form has no body).
LABELS = {
    "received_at": N_("received on"),
    "reason": N_("reason"),
    "body.reason": N_("reason"),
    "body.explanation": N_("reason"),
    "explanation": N_("reason"),
    "request": N_("request"),
    "identity": N_("identity"),
    "campaign": N_("campaign"),
}


def field_of(exc: HonorboundError, field: str = "") -> str:
    """The form field an error is about: its own (`FieldError.field`, an identity's), else the
    page's."""
    own = getattr(exc, "field", "")
    return own if isinstance(own, str) and own else field


def sentence(
    exc: HonorboundError,
    field: str = "",
    lang: str = i18n.DEFAULT,
    words: Words | None = None,
    named: bool = True,
) -> str:
    """The words a form shows for an error, in `lang`: `field: what was wrong`, or the page's
    own words for it (where they say `{message}`, the error's message goes)."""
    at = field_of(exc, field)
    message = i18n.translate(lang, i18n.message_of(exc))
    own = (words or {}).get((at, exc.status)) or (words or {}).get((ANY, exc.status))
    if own is not None:
        return i18n.translate(lang, own).replace("{message}", message)
    if not (named and at):
        return message
    label = LABELS.get(at)
    return f"{i18n.translate(lang, label) if label else at.removeprefix('body.')}: {message}"


def answer(request: Request, exc: HonorboundError) -> Response | None:
    """The page shown again for this error, or None when the page declared none."""
    declared: list[_Shown] = getattr(request.state, "shown_again", [])
    shown = next((s for s in declared if isinstance(exc, s.kinds)), None)
    if shown is None or exc.status >= 500:
        return None
    words = sentence(exc, shown.field, chosen(request), shown.words, shown.named)
    return shown.page(exc, words)
