from __future__ import annotations

import pytest

from honorbound.consent.keywords import Keyword, canonical, classify
from honorbound.consent.rules import load

SMS = load().sms


@pytest.mark.parametrize(
    "body",
    ["STOP", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPT OUT", "OPTOUT"],
)
@pytest.mark.parametrize("dress", ["{}", "{}".lower(), " {} ", "{}!", "...{}.", "\t{}\n"])
def test_every_stop_keyword_in_any_case_spacing_and_punctuation(body: str, dress: str) -> None:
    for variant in (dress.format(body), dress.format(body.lower()), dress.format(body.title())):
        assert classify(variant, SMS) is Keyword.STOP, variant


@pytest.mark.parametrize(
    "body",
    [
        "stpo",
        "Stopp",
        "SOTP",
        "unsuscribe",
        "unsubcribe",
        "cancle",
        "opt-out",
        "Opt Out!",
        "ALTO",
        "alto.",
        "Parar",
        "no más",
        "No mas",
        "NO MÁS!!",
        "baja",
        "detener",
    ],
)
def test_misspellings_and_spanish_count_as_stop(body: str) -> None:
    assert classify(body, SMS) is Keyword.STOP


@pytest.mark.parametrize("body", ["STOPALL", "stop all", "Stop-All."])
def test_stop_all(body: str) -> None:
    assert classify(body, SMS) is Keyword.STOP_ALL


@pytest.mark.parametrize("body", ["START", "unstop", "Yes", " yes! "])
def test_start_keywords(body: str) -> None:
    assert classify(body, SMS) is Keyword.START


@pytest.mark.parametrize("body", ["HELP", "info", "Ayuda?"])
def test_help_keywords(body: str) -> None:
    assert classify(body, SMS) is Keyword.HELP


@pytest.mark.parametrize(
    "body", ["", "   ", "stopwatch", "don't stop me now", "endless", "yesterday"]
)
def test_other_text_is_not_a_keyword(body: str) -> None:
    assert classify(body, SMS) is Keyword.NONE


def test_canonical_folds_accents_and_edges() -> None:
    assert canonical("  ¡No  más! ") == "NO MAS"
