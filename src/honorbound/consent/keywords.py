"""Exact carrier keywords in an inbound SMS: STOP and its kin, START, HELP.

Matching is forgiving the way a reasonable person reads a reply: any case, surrounding spaces
and punctuation, accents ("no más" = "NO MAS"), and the listed misspellings and Spanish words.
Free text that only *means* stop ("please don't text me again") is the detection engine's job.
"""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum

from honorbound.consent.rules import SmsRules


class Keyword(StrEnum):
    STOP = "stop"
    STOP_ALL = "stop_all"
    START = "start"
    HELP = "help"
    NONE = "none"


_EDGES = re.compile(r"^[\W_]+|[\W_]+$")
_SPACES = re.compile(r"[\s\-_]+")


def canonical(text: str) -> str:
    """Upper case, accents stripped, edge punctuation dropped, inner spacing collapsed."""
    folded = unicodedata.normalize("NFKD", text)
    folded = "".join(c for c in folded if not unicodedata.combining(c))
    folded = _EDGES.sub("", folded.strip())
    return _SPACES.sub(" ", folded).upper()


def classify(body: str, rules: SmsRules) -> Keyword:
    word = canonical(body)
    if not word:
        return Keyword.NONE
    squeezed = word.replace(" ", "")
    if word in {canonical(k) for k in rules.opt_out_all} or squeezed == "STOPALL":
        return Keyword.STOP_ALL
    stops = {canonical(k) for k in rules.opt_out + rules.opt_out_variants}
    if word in stops or squeezed in {s.replace(" ", "") for s in stops}:
        return Keyword.STOP
    if word in {canonical(k) for k in rules.opt_in}:
        return Keyword.START
    if word in {canonical(k) for k in rules.help}:
        return Keyword.HELP
    return Keyword.NONE


def language(body: str, rules: SmsRules) -> str | None:
    """The language whose keyword `body` is (`PARA`, `AYUDA` -> "es"), per the rules'
    `replies_by_language`; None for an English keyword or no keyword."""
    word = canonical(body)
    for lang, words in rules.language_keywords.items():
        if word in {canonical(k) for k in words}:
            return lang
    return None
