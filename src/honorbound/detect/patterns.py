"""Entities with a written shape: email (written and spoken), IP, IBAN, dates, card expiry
written as MM/YY, US street addresses, and identifiers named by context (driver licence,
passport, medical record / insurance id).

Every pattern either starts with a lookbehind that fails inside a run of the characters it
starts with, or has bounded repetition only, so a 10 MB line of the same character costs one
linear pass.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Final

from honorbound.detect import context, validators
from honorbound.detect.findings import Finding
from honorbound.detect.prepared import Caseless, Prepared, Twin, word_gate
from honorbound.detect.resources import words

EMAIL: Final = "EMAIL_ADDRESS"
IP: Final = "IP_ADDRESS"
IBAN: Final = "IBAN_CODE"
DATE: Final = "DATE_TIME"
DOB: Final = "DATE_OF_BIRTH"
EXPIRY: Final = "CARD_EXPIRY"
ADDRESS: Final = "STREET_ADDRESS"
LICENSE: Final = "US_DRIVER_LICENSE"
PASSPORT: Final = "US_PASSPORT"
MEDICAL: Final = "MEDICAL_RECORD"
BANK: Final = "US_BANK_NUMBER"

_EMAIL: Final = re.compile(
    r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]{1,64}@[A-Za-z0-9\-]{1,63}(?:\.[A-Za-z0-9\-]{1,63}){0,6}"
    r"\.[A-Za-z]{2,24}(?![A-Za-z0-9\-])"
)
_TLD: Final = r"com|net|org|edu|gov|us|io|co|info|biz|mx|ca|uk|de|me|app|email"
_TLD_GATE: Final = word_gate(_TLD.split("|"))
_DOT_GATE: Final = word_gate(["dot", "period", "punto"])
_AT_GATE: Final = word_gate(["at", "arroba"])
_SPOKEN_SEP: Final = r"\s(?:dot|period|punto)\s|\."
# Spelled letters, phonetic spelling included: "j o h n", "m as in mary", "s like sam".
_LETTER: Final = r"[a-z](?:\s(?:as\s+in|like|for|de|como)\s[a-z]{2,20})?(?![a-z'’])"
SPELLED: Final = rf"{_LETTER}(?:[\s,]{{1,2}}{_LETTER}){{1,40}}"
_LOCAL: Final = rf"(?:{SPELLED}|[A-Za-z0-9]{{1,40}})"
# Digits said after the name part: "john underscore doe seventy seven at gmail dot com".
_LOCAL_DIGITS: Final = (
    r"(?:\s(?:zero|oh|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
    r"thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|"
    r"fifty|sixty|seventy|eighty|ninety|double)){0,4}"
)
_SPOKEN_EMAIL: Final = Caseless(
    rf"(?<![A-Za-z0-9'’]){_LOCAL}"
    r"(?:(?:\s(?:dot|period|punto|underscore|dash|hyphen|guion|guion\s+bajo)\s|[._\-])"
    rf"{_LOCAL}){{0,4}}{_LOCAL_DIGITS}"
    r"\s(?:at|arroba)\s"
    rf"[A-Za-z0-9]{{1,40}}(?:(?:{_SPOKEN_SEP})[A-Za-z0-9]{{1,40}}){{0,3}}"
    rf"(?:{_SPOKEN_SEP})(?:{_TLD})(?![A-Za-z0-9])",
)
# Every spoken address ends with this (the tail of _SPOKEN_EMAIL: "at", the domain, the
# top-level domain), which starts with a whitespace class, so the regex engine skips in C to
# the spaces; a folded text without it cannot hold a spoken address, and the full pattern,
# which tries its local part at every letter, is not run.
_SPOKEN_EMAIL_TAIL: Final = re.compile(
    r"\s(?:at|arroba)\s"
    rf"[A-Za-z0-9]{{1,40}}(?:(?:{_SPOKEN_SEP})[A-Za-z0-9]{{1,40}}){{0,3}}"
    rf"(?:{_SPOKEN_SEP})(?:{_TLD})(?![A-Za-z0-9])"
)
# Patterns start with a plain character class where they can: the regex engine then skips
# ahead in C to the next possible first character instead of trying every position. Those
# that start with a digit are Twins (prepared.py): on ASCII text \d is checked inline.
_IPV4: Final = Twin(r"\d(?<![\d.]\d)\d{0,2}(?:\.\d{1,3}){3}(?!\d|\.\d)")
_IPV6: Final = re.compile(r"(?<![0-9A-Fa-f:])[0-9A-Fa-f]{0,4}:[0-9A-Fa-f:.]{2,44}(?![0-9A-Za-z:])")
# Groups of four after the country code and check digits, joined by nothing, a space or a
# dash ("DE89-3704-...", "DE 89 3704 ..."). The match may run into a following word
# ("... 00 Thanks"): shorter readings, a group at a time, are checked too.
_IPV6_GATE: Final = re.compile(r":[0-9A-Fa-f]{1,4}:")
_IBAN: Final = re.compile(
    r"[A-Z](?<![A-Za-z0-9][A-Z])[A-Z][ \-]?\d{2}(?:[ \-]?[A-Z0-9]{4}){2,7}"
    r"(?:[ \-]?[A-Za-z0-9]{1,4})?"
)
_IBAN_PIECE: Final = re.compile(r"[A-Za-z0-9]+")

_MONTHS: Final = (
    r"january|february|march|april|may|june|july|august|september|october|november|december|"
    r"jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec|"
    r"enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|octubre|noviembre|diciembre"
)
_ORDINAL_WORDS: Final = (
    r"first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth|"
    r"thirteenth|fourteenth|fifteenth|sixteenth|seventeenth|eighteenth|nineteenth|twentieth|"
    r"twenty[- ](?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth)|thirtieth|"
    r"thirty[- ]first"
)
_YEAR_TAIL: Final = (
    r"(?:[\s-]+(?:oh|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|"
    r"nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|one|two|three|four|five|"
    r"six|seven|eight|nine)){1,2}"
)
_YEAR_WORDS: Final = (
    rf"(?:(?:nineteen|twenty){_YEAR_TAIL}|two\s+thousand(?:(?:\s+and)?{_YEAR_TAIL})?)"
)
# Days said as cardinals ("october fifteen", "march twenty one"), as speech-to-text writes them.
_CARDINAL_DAYS: Final = (
    r"twenty[- ](?:one|two|three|four|five|six|seven|eight|nine)|thirty[- ]one|"
    r"ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|"
    r"twenty|thirty|one|two|three|four|five|six|seven|eight|nine"
)
_DAY: Final = rf"(?:(?:0?[1-9]|[12]\d|3[01])(?:st|nd|rd|th)?|{_ORDINAL_WORDS})"
# Only after the month: "october fifteen" is a date, "one may" is not.
_DAY_AFTER_MONTH: Final = rf"(?:{_DAY}|{_CARDINAL_DAYS})"
_YEAR: Final = rf"(?:(?:19|20)\d{{2}}|'\d{{2}}|{_YEAR_WORDS})"
# Spanish days and years in words: "quince de octubre de mil novecientos sesenta y ocho",
# "primero de mayo del dos mil tres".
_ES_UNIT: Final = r"uno|dos|tres|cuatro|cinco|seis|siete|ocho|nueve"
_ES_TWENTIES: Final = (
    r"veinti(?:uno|ún|un|dós|dos|trés|tres|cuatro|cinco|séis|seis|siete|ocho|nueve)"
)
_ES_TEENS: Final = (
    r"diez|once|doce|trece|catorce|quince|dieciséis|dieciseis|diecisiete|dieciocho|diecinueve"
)
_ES_BELOW_100: Final = (
    rf"(?:(?:treinta|cuarenta|cincuenta|sesenta|setenta|ochenta|noventa)(?:\s+y\s+(?:{_ES_UNIT}))?"
    rf"|{_ES_TWENTIES}|veinte|{_ES_TEENS}|{_ES_UNIT})"
)
_ES_YEAR: Final = (
    rf"(?:mil\s+(?:novecientos|ochocientos)(?:\s+{_ES_BELOW_100})?"
    rf"|dos\s+mil(?:\s+{_ES_BELOW_100})?)"
)
_ES_DAY: Final = (
    rf"(?:primero|treinta\s+y\s+uno|{_ES_TWENTIES}|veinte|treinta|{_ES_TEENS}|{_ES_UNIT}|un)"
)
_ES_DATE_WORDS: Final = (
    "primero uno dos tres cuatro cinco seis siete ocho nueve un diez once doce trece catorce "
    "quince dieciséis dieciseis diecisiete dieciocho diecinueve veinte veintiuno veintiún "
    "veintiun veintidós veintidos veintitrés veintitres veinticuatro veinticinco veintiséis "
    "veintiseis veintisiete veintiocho veintinueve treinta"
)
_NUMERIC_DATES: Final = Twin(
    r"\d(?<![\w/.-]\d)(?:\d?([/.-])\d{1,2}\1(?:\d{4}|\d{2})|\d{3}([/.-])\d{1,2}\2\d{1,2})"
    r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:\s?[ap]\.?m\.?)?)?"
    r"(?![\w/]|[.-]\d)"
)
_MONTH_DATES: Final = Caseless(
    r"(?<![\w/.-])(?:"
    # With the year first: "october twenty two thousand eight" is the 20th, not the 22nd.
    rf"(?:{_MONTHS})\.?\s+(?:the\s+)?{_DAY_AFTER_MONTH},?\s+{_YEAR}"
    rf"|(?:{_MONTHS})\.?\s+(?:the\s+)?{_DAY_AFTER_MONTH}"
    rf"|(?:{_ES_DAY}|{_DAY})\s+de\s+(?:{_MONTHS})(?:\s+(?:de|del)\s+(?:el\s+)?(?:{_ES_YEAR}|{_YEAR}))?"
    rf"|{_DAY}\s+(?:of\s+|de\s+)?(?:{_MONTHS})\.?(?:,?\s+(?:de\s+|del\s+)?{_YEAR})?"
    rf"|(?:{_MONTHS})\.?,?\s+(?:19|20)\d{{2}}"
    r")(?![\w/])",
)
# Plain lower-case literals: the regex engine skips in C to candidate first letters.
_MONTH_GATE_WORDS: Final = word_gate(_MONTHS.split("|"))
_ORDINAL_GATE: Final = word_gate(
    re.findall(r"[a-z]+", _ORDINAL_WORDS + "|" + _CARDINAL_DAYS + " " + _ES_DATE_WORDS)
)
_MONTH_GATE: Final = re.compile("jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|ene|abr|ago|dic")
# A written expiry counts after an expiry word (context.py's "expiry" class).
_EXPIRY_WORDS: Final = word_gate(context.words_of("expiry"))
_EXPIRY: Final = Twin(r"(?<![\w/])(?:0?[1-9]|1[0-2])\s?[/-]\s?(?:\d{2}|20\d{2})(?![\w/])")

_SUFFIXES: Final = sorted(
    {w.lower() for w in words("street_suffixes.txt")}
    | {
        "st", "ave", "av", "rd", "blvd", "ln", "dr", "ct", "pl", "ter", "cir", "pkwy", "hwy",
        "sq", "trl", "way", "fwy", "expy", "plz", "aly", "cv", "xing",
    },
    key=len,
    reverse=True,
)  # fmt: skip
_SUFFIX_SET: Final = frozenset(_SUFFIXES)
_SUFFIX_GATE: Final = word_gate(_SUFFIX_SET)
_STATES: Final = (
    "AL|AK|AZ|AR|CA|CO|CT|DE|DC|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|NH|"
    "NJ|NM|NY|NC|ND|OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY|PR|GU|VI|AS|MP|AA|AE|AP"
)
_ADDRESS: Final = Twin(
    r"\d(?<![\w/.,$-]\d)\d{0,5}[A-Za-z]?(?:[ \t]+[A-Za-z][A-Za-z0-9.'\-]{0,30}){1,6}+"
)
_HOUSE_NUMBER: Final = re.compile(r"\d{1,6}[A-Za-z]?")
_WORD: Final = re.compile(r"[A-Za-z][A-Za-z0-9.'\-]*")
_NOT_IN_STREET_NAME: Final = frozenset(
    [
        "a",
        "an",
        "and",
        "the",
        "at",
        "of",
        "to",
        "for",
        "in",
        "on",
        "by",
        "my",
        "your",
        "our",
        "his",
        "her",
        "their",
        "is",
        "was",
        "are",
        "be",
        "been",
        "it",
        "this",
        "that",
        "these",
        "those",
        "with",
        "from",
        "about",
        "than",
        "then",
        "times",
        "per",
        "each",
        "more",
        "less",
    ]
)
_DIRECTION: Final = frozenset(
    [
        "n",
        "s",
        "e",
        "w",
        "n.",
        "s.",
        "e.",
        "w.",
        "ne",
        "nw",
        "se",
        "sw",
        "north",
        "south",
        "east",
        "west",
    ]
)
_ADDRESS_TAIL: Final = re.compile(
    r"(?:,?\s+(?i:apt|apartment|suite|ste|unit|#|no|room|fl|floor)\.?[ \t]*#?[A-Za-z0-9\-]{1,6})?"
    r"(?:,?\s+[A-Z][a-z]+(?:[ \t][A-Z][a-z]+){0,2},?[ \t]+"
    rf"(?:{_STATES})(?:[ \t]+\d{{5}}(?:-\d{{4}})?)?(?![A-Za-z0-9]))?"
)
# The same end as speech-to-text writes it: lower case, the state's name or its abbreviation,
# the zip written or said digit by digit ("springfield illinois six two seven oh four").
_STATE_NAMES: Final = "|".join(
    sorted((re.escape(name) for name in words("us_states.txt")), key=len, reverse=True)
)
_ZIP_WORD: Final = r"(?:zero|oh|one|two|three|four|five|six|seven|eight|nine)"
_ZIP: Final = rf"(?:\d{{5}}(?:-\d{{4}})?|{_ZIP_WORD}(?:[ \t]{_ZIP_WORD}){{4}})"
_ADDRESS_TAIL_SPOKEN: Final = re.compile(
    r",?[ \t]+[a-z]{2,20}(?:[ \t][a-z]{2,20}){0,2},?[ \t]+"
    rf"(?:(?:{_STATE_NAMES})(?:[ \t]+{_ZIP})?|(?:{_STATES.lower()})[ \t]+{_ZIP})"
    r"(?![a-z0-9])"
)
_MILITARY: Final = re.compile(
    r"(?<![\w])(?:(?:USNS|USNV|USS|USCGC)[ \t]+[A-Z][a-z]+|(?:PSC|Unit)[ \t]+\d{4},?[ \t]+Box"
    r"[ \t]+\d{4})\s+[AFD]PO[ \t]+A[AEP][ \t]+\d{5}(?!\d)"
)
_PO_BOX: Final = re.compile(
    r"(?<![\w])(?i:p\.?\s?o\.?\s+box|post\s+office\s+box)[ \t]+\d{1,6}(?!\d)"
)

_ID_ANCHOR: Final = Caseless(
    r"(?<![A-Za-z])(?:(?P<license>driver'?s?\s+licen[cs]e|driving\s+licen[cs]e|"
    r"licen[cs]e\s+(?:number|no\.?|#)|dl\s*(?:#|number|no\.?)?|licencia(?:\s+de\s+conducir)?)|"
    r"(?P<passport>passport|pasaporte)|"
    r"(?P<medical>medical\s+record(?:\s+number)?|mrn|member\s+(?:id|number)|"
    r"insurance\s+(?:id|number)|policy\s+(?:id|number)|subscriber\s+(?:id|number)|"
    r"health\s+plan\s+(?:id|number)|medicaid(?:\s+(?:id|number))?|"
    r"medicare(?:\s+(?:id|number))?|patient\s+(?:id|number))|"
    r"(?P<account>(?:bank\s+)?account\s+(?:number|no\.?|#)|acct\s*(?:#|no\.?|number)?))"
    r"(?![A-Za-z])",
)
# An identifier: letters and digits with at least four digits, optionally split by - or space.
_ID_TOKEN: Final = re.compile(r"(?<![A-Za-z0-9])[A-Za-z0-9][A-Za-z0-9\-]{3,19}(?![A-Za-z0-9])")
# A licence-style identifier in groups: a letter prefix kept ("D 123 456 789", "F255-921-50-094"),
# later groups starting with a digit so the next word is not taken.
_ID_GROUPED: Final = re.compile(
    r"(?<![A-Za-z0-9])(?:[A-Za-z]{1,3}[ \-]?)?\d[A-Za-z0-9]*(?:[ \-]\d[A-Za-z0-9]*){0,6}"
    r"(?![A-Za-z0-9])"
)
_ID_TYPES: Final = {"license": LICENSE, "passport": PASSPORT, "medical": MEDICAL, "account": BANK}
_ID_WINDOW: Final = 40
_ID_STEMS: Final = (
    "licen", "dl", "passport", "pasaporte", "medical", "mrn", "member", "insurance", "policy",
    "subscriber", "health", "medica", "patient", "account", "acct",
)  # fmt: skip
_ID_GATE: Final = re.compile("|".join(map(re.escape, _ID_STEMS)))
# One of these is a whole word of every text _ID_ANCHOR matches ("dl#", "acctno" included).
# Every anchor holds the words of one of these alternatives ("dl#" gives "dl", "acctno" is one
# word); each alternative is a mask of gates that must all be open.
_ACCOUNT_WORD: Final = word_gate(["account"])
_ID_MASKS: Final = (
    word_gate(
        "license licence licencia dl dlno dlnumber passport pasaporte mrn medicaid medicare "
        "acct acctno acctnumber"
    ),
    # "account number", "account no" ("account #" is checked apart: "#" is not a word).
    _ACCOUNT_WORD | word_gate(["number", "no"]),
    word_gate("member insurance policy subscriber patient") | word_gate(["id", "number"]),
    word_gate(["health"]) | word_gate(["plan"]),
    word_gate(["medical"]) | word_gate(["record"]),
)


# Phrase gates on an ASCII text's spaced words (Prepared.spaced): every _ID_ANCHOR match holds
# one of these ("driver's license" gives " licen", "dl#" gives " dl", "account #" gives
# " account " and a "#" in the text).
_ID_PHRASES: Final = re.compile(
    rb" (?:licen|dl|passport|pasaporte|medical record|mrn|medica|acct|"
    rb"(?:member|insurance|policy|subscriber|health plan|patient) (?:id|number) |"
    rb"account (?:number|no) )"
)


def _id_anchor_possible(prepared: Prepared) -> bool:
    spaced = prepared.spaced()
    if spaced is None or _ID_PHRASES.search(spaced):
        return True
    return b" account " in spaced and "#" in prepared.text


def emails(out: list[Finding], prepared: Prepared) -> None:
    text = prepared.text
    if "@" in text:
        for m in _EMAIL.finditer(text):
            out.append(Finding(EMAIL, m.start(), m.end(), 0.95, m.group()))
    # A spoken address says "at" (any case) and ends in a top-level domain said as a word
    # after a dot ("dot com").
    gates = prepared.gates
    if (
        gates & _AT_GATE
        and gates & _TLD_GATE
        and ("." in text or gates & _DOT_GATE)
        and (not prepared.folded or _SPOKEN_EMAIL_TAIL.search(prepared.lowered))
    ):
        for m in _SPOKEN_EMAIL.finditer(prepared):
            out.append(Finding(EMAIL, m.start(), m.end(), 0.85, text[m.start() : m.end()]))


def ips(out: list[Finding], prepared: Prepared) -> None:
    text = prepared.text
    if prepared.has_digit and "." in text:
        for m in _IPV4.pick(prepared).finditer(text):
            if all(int(part) < 256 for part in m.group().split(".")):
                out.append(Finding(IP, m.start(), m.end(), 0.9, m.group()))
    # An IPv6 address holds "::" or a hex group between two colons; speaker labels
    # ("Agent:") give a transcript many colons but no such group.
    if "::" in text or (text.count(":") >= 5 and _IPV6_GATE.search(text)):
        for m in _IPV6.finditer(text):
            value = m.group().rstrip(".")
            if value.count(":") < 2:
                continue
            try:
                ipaddress.IPv6Address(value)
            except ValueError:
                continue
            out.append(Finding(IP, m.start(), m.start() + len(value), 0.9, value))


def ibans(out: list[Finding], prepared: Prepared) -> None:
    text = prepared.text
    for m in _IBAN.finditer(text):
        pieces = list(_IBAN_PIECE.finditer(text, m.start(), m.end()))
        # Longest reading first; each shorter one drops the last piece, or its last letters.
        ends = sorted({p.end() for p in pieces} | {m.end() - k for k in range(4)}, reverse=True)
        for end in ends:
            if end <= m.start() + 12:
                break
            if end < len(text) and text[end].isalnum():
                continue
            value = text[m.start() : end]
            if validators.is_iban(value.replace(" ", "").replace("-", "").upper()):
                out.append(Finding(IBAN, m.start(), end, 0.95, value))
                break


def _plausible_numeric_date(value: str) -> bool:
    # Only the date counts: "2026-11-20T10:00:00" and "1/2/1990 10:30" carry a time.
    parts = re.split(r"[/.-]", value.replace("T", " ").split(" ", 1)[0])
    if len(parts) != 3:
        return True
    a, b, c = (int(p) for p in parts)
    if len(parts[0]) == 4:
        return 1 <= b <= 12 and 1 <= c <= 31
    return (1 <= a <= 12 and 1 <= b <= 31) or (1 <= b <= 12 and 1 <= a <= 31)


def dates(out: list[Finding], prepared: Prepared, index: context.Index) -> None:
    text = prepared.text
    numeric = prepared.has_digit and ("/" in text or "-" in text or "." in text)
    found = list(_NUMERIC_DATES.pick(prepared).finditer(text)) if numeric else []
    # Every month-name date holds a month name as a whole word, and a day or a year: digits
    # or an ordinal word ("the third").
    if (
        prepared.gates & _MONTH_GATE_WORDS
        and (prepared.has_digit or prepared.gates & _ORDINAL_GATE)
        and _MONTH_GATE.search(prepared.lowered)
    ):
        found.extend(_MONTH_DATES.finditer(prepared))
    if not found:
        return
    for m in found:
        value = text[m.start() : m.end()]
        if value[0].isdigit() and not _plausible_numeric_date(value):
            continue
        left = index.left(m.start())
        birth = "dob" in left
        if "expiry" in left and not birth and not value[0].isdigit():
            # "expires november twenty eight": a card's expiry said with the month's name.
            out.append(Finding(EXPIRY, m.start(), m.end(), 0.85, value))
            continue
        # A written date outranks a phone-number reading of the same digits.
        out.append(
            Finding(DOB if birth else DATE, m.start(), m.end(), 0.85 if birth else 0.8, value)
        )


def expiries(out: list[Finding], prepared: Prepared, index: context.Index) -> None:
    text = prepared.text
    if "/" not in text and "-" not in text or not prepared.gates & _EXPIRY_WORDS:
        return
    for m in _EXPIRY.pick(prepared).finditer(text):
        if "expiry" in index.left(m.start(), 32):
            out.append(Finding(EXPIRY, m.start(), m.end(), 0.85, m.group()))


def addresses(out: list[Finding], prepared: Prepared) -> None:
    text = prepared.text
    # A street address holds a street suffix word ("St", "Avenue"): see _street_end.
    matches = _ADDRESS.pick(prepared).finditer(text) if prepared.gates & _SUFFIX_GATE else ()
    for m in matches:
        if _LABEL_BEFORE.search(text, max(0, m.start() - 12), m.start()):
            continue  # "speaker 2": the digit of a speaker label is no house number
        end = _street_end(text, m.start(), m.end())
        if end is None:
            continue
        tail = _ADDRESS_TAIL.match(text, end)
        if tail:
            end = tail.end()
        if len(prepared.lowered) == len(text):
            spoken = _ADDRESS_TAIL_SPOKEN.match(prepared.lowered, end)
            if spoken:
                end = spoken.end()
        out.append(Finding(ADDRESS, m.start(), end, 0.8, text[m.start() : end]))
    extra = []
    if "PO " in text:
        extra.append(_MILITARY)
    if "box" in text or "Box" in text or "BOX" in text:
        extra.append(_PO_BOX)
    for pattern in extra:
        for m in pattern.finditer(text):
            out.append(Finding(ADDRESS, m.start(), m.end(), 0.8, m.group()))


_LABEL_BEFORE: Final = re.compile(r"(?i:speaker|spk|channel|ch|caller|agent|customer)[ _]?$")


def _street_end(text: str, start: int, end: int) -> int | None:
    """End of "<number> <name words> <suffix> [direction]", or None when no suffix follows."""
    found: int | None = None
    number = _HOUSE_NUMBER.match(text, start)
    position = number.end() if number else start
    for index, word in enumerate(_WORD.finditer(text, position, end)):
        value = word.group().lower().rstrip(".")
        if value in _NOT_IN_STREET_NAME:
            return None
        if index >= 1 and value in _SUFFIX_SET:
            found = word.end()
            nxt = _WORD.match(text, found + 1) if found + 1 < end else None
            if nxt and nxt.group().lower() in _DIRECTION:
                found = nxt.end()
            return found
    return None


def named_ids(out: list[Finding], prepared: Prepared) -> None:
    """Identifiers introduced by what they are: "driver's license D1234567"."""
    text = prepared.text
    # An identifier token holds at least four written digits.
    if not prepared.has_digit:
        return
    gates = prepared.gates
    if not any(gates & mask == mask for mask in _ID_MASKS) and not (
        gates & _ACCOUNT_WORD and "#" in text
    ):
        return
    if not _id_anchor_possible(prepared) or not _ID_GATE.search(prepared.lowered):
        return
    for anchor in _ID_ANCHOR.finditer(prepared):
        kind = anchor.lastgroup
        if kind is None:
            continue
        end = min(len(text), anchor.end() + _ID_WINDOW)
        need = 6 if kind == "account" else 4
        spans = [
            m.span()
            for m in _ID_GROUPED.finditer(text, anchor.end(), end)
            if sum(ch.isdigit() for ch in m.group()) >= need
        ][:1]
        for token in _ID_TOKEN.finditer(text, anchor.end(), end):
            if sum(ch.isdigit() for ch in token.group()) >= need:
                spans.append(token.span())
                break
        if not spans:
            continue
        # The earliest; grouped and plain readings of the same identifier merge.
        spans.sort()
        start, stop = spans[0]
        for other in spans[1:]:
            if other[0] < stop:
                stop = max(stop, other[1])
        out.append(Finding(_ID_TYPES[kind], start, stop, 0.8, text[start:stop]))
