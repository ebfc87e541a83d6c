"""The calendar date a date finding stands for, written or spoken.

`to_date` reads the values `patterns.dates` reports as `DATE_OF_BIRTH` / `DATE_TIME`: numeric
dates (2014-05-03, 05/03/2014, 5-3-14, 05032014) and month-name dates in the forms the pattern
matches, English and Spanish, with days and years in digits or in words as speech-to-text
writes them ("october fifteen nineteen sixty eight", "the 3rd of may 2014", "march twenty
first two thousand twelve", "15 de octubre de 1968", "oct. 15th, '68"). A value that names no
whole day (a month and year only, "may 2014") or no real calendar day gives None.

Numeric dates are read month first (US) unless the first number cannot be a month; a two-digit
year is the most recent such year not after `today`.
"""

from __future__ import annotations

import datetime as dt
import re

MONTHS: dict[str, int] = {
    name: number
    for number, names in enumerate(
        (
            ("january", "jan", "enero", "ene"),
            ("february", "feb", "febrero"),
            ("march", "mar", "marzo"),
            ("april", "apr", "abril", "abr"),
            ("may", "mayo"),
            ("june", "jun", "junio"),
            ("july", "jul", "julio"),
            ("august", "aug", "agosto", "ago"),
            ("september", "sep", "sept", "septiembre", "setiembre"),
            ("october", "oct", "octubre"),
            ("november", "nov", "noviembre"),
            ("december", "dec", "diciembre", "dic"),
        ),
        start=1,
    )
    for name in names
}
_UNITS = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_TEENS = (
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
)
_TENS = ("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
CARDINALS: dict[str, int] = {
    **{w: i for i, w in enumerate(_UNITS, start=1)},
    **{w: i for i, w in enumerate(_TEENS, start=10)},
}
TENS: dict[str, int] = {w: i * 10 for i, w in enumerate(_TENS, start=2)}
ORDINALS: dict[str, int] = {
    w: i
    for i, w in enumerate(
        (
            "first",
            "second",
            "third",
            "fourth",
            "fifth",
            "sixth",
            "seventh",
            "eighth",
            "ninth",
            "tenth",
            "eleventh",
            "twelfth",
            "thirteenth",
            "fourteenth",
            "fifteenth",
            "sixteenth",
            "seventeenth",
            "eighteenth",
            "nineteenth",
            "twentieth",
        ),
        start=1,
    )
}
ORDINALS["thirtieth"] = 30
# Words between the parts of a date that carry nothing: "the 3rd of may", "3 de mayo del 2014".
_FILLERS = frozenset({"the", "of", "de", "del", "el", "and", "y"})
_NUMERIC = re.compile(r"^(\d{1,4})[/.\-](\d{1,2})[/.\-](\d{2,4})$")
_TOKEN = re.compile(r"'\d{2}|\d+(?:st|nd|rd|th)?|[a-z]+")


def _calendar(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def _two_digit_year(yy: int, today: dt.date) -> int:
    return 2000 + yy if 2000 + yy <= today.year else 1900 + yy


def _number_below_100(words: list[str]) -> int | None:
    """ "seven" 7, "fifteen" 15, "sixty" 60, "sixty eight" 68."""
    if len(words) == 1:
        return CARDINALS.get(words[0], TENS.get(words[0]))
    if len(words) == 2 and words[0] in TENS and words[1] in _UNITS:
        return TENS[words[0]] + CARDINALS[words[1]]
    return None


def _day(words: list[str]) -> int | None:
    """A day of the month: "3", "3rd", "third", "fifteen", "twenty first", "twenty one"."""
    if len(words) == 1:
        word = words[0]
        digits = re.match(r"^(\d{1,2})(?:st|nd|rd|th)?$", word)
        if digits:
            value = int(digits.group(1))
        else:
            value = ORDINALS.get(word, CARDINALS.get(word, TENS.get(word, 0)))
    elif len(words) == 2 and words[0] in ("twenty", "thirty"):
        unit = ORDINALS.get(words[1], CARDINALS.get(words[1], 0))
        value = TENS[words[0]] + unit if 1 <= unit <= 9 else 0
    else:
        return None
    return value if 1 <= value <= 31 else None


def _year(words: list[str], today: dt.date) -> int | None:
    """A year: "1968", "'68", "nineteen sixty eight", "nineteen oh five", "twenty fourteen",
    "two thousand twelve", "two thousand and eight"."""
    if len(words) == 1:
        word = words[0]
        if re.fullmatch(r"(?:18|19|20)\d{2}", word):
            return int(word)
        if re.fullmatch(r"'\d{2}", word):
            return _two_digit_year(int(word[1:]), today)
        return None
    if words[:2] == ["two", "thousand"]:
        tail = words[2:]
        if not tail:
            return 2000
        below = _number_below_100(tail)
        return 2000 + below if below is not None else None
    if words[0] in ("eighteen", "nineteen", "twenty"):
        century = {"eighteen": 1800, "nineteen": 1900, "twenty": 2000}[words[0]]
        tail = words[1:]
        if len(tail) == 2 and tail[0] == "oh" and tail[1] in _UNITS:
            return century + CARDINALS[tail[1]]
        below = _number_below_100(tail)
        # "nineteen five" is no way to say 1905; "twenty one" alone is no year.
        return century + below if below is not None and below >= 10 else None
    return None


def _words(value: str) -> list[str]:
    return [w for w in _TOKEN.findall(value.lower().replace("-", " ")) if w not in _FILLERS]


def _month_name_date(value: str, today: dt.date) -> dt.date | None:
    words = _words(value)
    where = [i for i, w in enumerate(words) if w in MONTHS]
    if len(where) != 1:
        return None
    i = where[0]
    month, before, after = MONTHS[words[i]], words[:i], words[i + 1 :]
    if before:  # "3rd of may 2014", "15 de octubre de 1968"
        day = _day(before)
        year = _year(after, today) if after else None
        return _calendar(year, month, day) if day and year else None
    # "october fifteen nineteen sixty eight": the day is the shortest reading that leaves a
    # year ("october twenty two thousand eight" is the 20th of 2008).
    for cut in range(1, min(3, len(after))):
        day = _day(after[:cut])
        year = _year(after[cut:], today)
        if day and year:
            return _calendar(year, month, day)
    return None


def to_date(value: str, today: dt.date | None = None) -> dt.date | None:
    """The calendar date `value` (a date finding's text) names, or None."""
    today = today or dt.datetime.now(dt.UTC).date()
    text = value.strip().lower()
    if (m := _NUMERIC.match(text)) is not None:
        a, b, c = m.groups()
        if len(a) == 4:
            return _calendar(int(a), int(b), int(c))
        if len(a) > 2:
            return None
        year = int(c) if len(c) == 4 else _two_digit_year(int(c), today)
        first, second = int(a), int(b)
        return _calendar(year, first, second) if first <= 12 else _calendar(year, second, first)
    if text.isdigit():
        if len(text) != 8:
            return None
        if 1800 <= int(text[:4]) <= today.year:
            return _calendar(int(text[:4]), int(text[4:6]), int(text[6:]))
        return _calendar(int(text[4:]), int(text[:2]), int(text[2:4]))
    return _month_name_date(text, today)
