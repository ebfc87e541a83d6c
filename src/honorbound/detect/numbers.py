"""Entities made of digits: cards, SSN/ITIN, phones, bank and routing numbers, card codes,
expiry dates, spoken dates of birth and context-named identifiers.

Each number run (see `digits.py`) is classified as a whole first; when the whole is not an
identifier, windows that start and end on token boundaries are tried, longest first, so
"my card is 4111 1111 1111 1111 exp 0427" or a card read out together with its expiry still
yields the card.
"""

from __future__ import annotations

from typing import Final

from honorbound.detect import context, validators
from honorbound.detect.digits import MAX_RUN_DIGITS, Run
from honorbound.detect.findings import Finding

CARD: Final = "CREDIT_CARD"
CVV: Final = "CVV"
EXPIRY: Final = "CARD_EXPIRY"
SSN: Final = "US_SSN"
ITIN: Final = "US_ITIN"
PHONE: Final = "PHONE_NUMBER"
BANK: Final = "US_BANK_NUMBER"
ABA: Final = "ABA_ROUTING_NUMBER"
DOB: Final = "DATE_OF_BIRTH"
LICENSE: Final = "US_DRIVER_LICENSE"
PASSPORT: Final = "US_PASSPORT"
MEDICAL: Final = "MEDICAL_RECORD"

_PHONE_LAYOUTS: Final = {(3, 3, 4), (1, 3, 3, 4), (3, 7), (1, 10), (1, 3, 7), (3, 3, 2, 2)}


def _layout(run: Run, i: int, j: int) -> tuple[int, ...]:
    cuts = [b for b in run.bounds if i <= b <= j]
    return tuple(b - a for a, b in zip(cuts, cuts[1:], strict=False))


# What a step of `_classify` answers: a (type, score), `_STOP` (an empty type: this digit
# string is no identifier, later steps are not asked) or None (not this step's kind).
_Verdict = tuple[str, float] | None
_STOP: Final = ("", 0.0)
# Added to the context of a whole run when an order/ticket/amount word is on the run's own
# line (the context also reads the line before, where "llamo por mi factura" must not veto the
# phone said next): the out-of-plan fallbacks for a named SSN or phone are refused then.
LINE_NEGATIVE: Final = "negative on the line"


def _classify(
    run: Run, i: int, j: int, ctx: frozenset[str], whole: bool
) -> tuple[str, float] | None:
    """The type of digits [i, j) of the run, or None. The checks run in this order, and the
    first that answers decides (so the order is the precedence between look-alikes):

    1. context-named short codes: a card code (3-4 digits after "cvv") or an expiry;
    2. a payment card (12-19 digits passing Luhn; 12 only when "card" is said, none under a
       negative context without "card", which stops the checks);
    3. nine digits: a routing number after "routing", an ITIN, an SSN (after "ssn", also one
       outside the issued ranges, for a whole run with no negative word on its line), a
       passport number;
    4. a date of birth after "dob";
    5. an international phone number (a leading "+", or the 011 / 00 exit codes);
    5b. after "card", a whole run of 13-19 digits in an issuer's range that fails Luhn (a
       misheard or misspoken digit), score 0.6; never under a negative word;
    6. the last four of an SSN ("the last four of my social"), for a whole run only;
    7. a NANP phone number (10 digits, or 11 starting with 1; a negative context without
       "phone" stops the checks), a well-formatted written number outside the plan, or
       ten digits outside the plan after "phone" (a whole run, no negative word on its line);
    8. the kinds only a context word names: bank account, driver's license, passport,
       medical record, and a seven-digit spoken local phone number after "phone".
    """
    digits = run.digits[i:j]
    for step in _STEPS:
        verdict = step(run, i, j, digits, ctx, whole)
        if verdict is not None:
            # Compared by value, not identity: compiled (mypyc), tuples are values.
            return verdict if verdict[0] else None
    return None


def _context_codes(
    run: Run, i: int, j: int, digits: str, ctx: frozenset[str], whole: bool
) -> _Verdict:
    # Context-named kinds come first: the speaker said what the number is.
    n = len(digits)
    if "cvv" in ctx and n in (3, 4):
        return CVV, 0.85
    if "expiry" in ctx and n in (3, 4, 6) and validators.expiry_ok(digits):
        return EXPIRY, 0.8
    return None


def _card(run: Run, i: int, j: int, digits: str, ctx: frozenset[str], whole: bool) -> _Verdict:
    n = len(digits)
    if not (12 <= n <= 19 and validators.is_card(digits)):
        return None
    if "negative" in ctx and "card" not in ctx:
        return _STOP
    if n == 12 and "card" not in ctx:
        return _STOP  # 12-digit Maestro only when someone says "card"
    return CARD, 0.95 if "card" in ctx else 0.9


def _misheard_card(
    run: Run, i: int, j: int, digits: str, ctx: frozenset[str], whole: bool
) -> _Verdict:
    # Someone said "card" and read 13-19 digits of an issuer's range that fail Luhn: a card
    # with a misheard or misspoken digit is still the card (a PCI assessor reads it as one).
    # Only a whole run, never under an order/ticket/amount word.
    if (
        whole
        and "card" in ctx
        and "negative" not in ctx
        and 13 <= len(digits) <= 19
        and validators.card_issuer_ok(digits)
    ):
        return CARD, 0.6
    return None


def _nine_digits(
    run: Run, i: int, j: int, digits: str, ctx: frozenset[str], whole: bool
) -> _Verdict:
    if len(digits) != 9:
        return None
    layout = _layout(run, i, j)
    if "routing" in ctx and validators.is_aba(digits):
        return ABA, 0.9
    if validators.is_itin(digits) and ("itin" in ctx or layout == (3, 2, 4)):
        return ITIN, 0.9 if "itin" in ctx else 0.7
    if validators.is_ssn(digits):
        if "ssn" in ctx:
            return SSN, 0.95
        if layout == (3, 2, 4) and "negative" not in ctx:
            return SSN, 0.85
    elif whole and "ssn" in ctx and LINE_NEGATIVE not in ctx:
        # Nine digits the speaker called a social security number but outside the issued
        # ranges (000/666 areas, published samples, a misheard digit): still redacted.
        return SSN, 0.7
    if "passport" in ctx:
        return PASSPORT, 0.8
    return None


def _birth_date(
    run: Run, i: int, j: int, digits: str, ctx: frozenset[str], whole: bool
) -> _Verdict:
    if "dob" in ctx and validators.date_digits_ok(digits):
        return DOB, 0.8
    return None


def _international_phone(
    run: Run, i: int, j: int, digits: str, ctx: frozenset[str], whole: bool
) -> _Verdict:
    if run.plus and i == 0 and validators.international_phone_ok(digits):
        return PHONE, 0.9
    # International numbers dialled with an exit code: 00 (most of the world), 011 (NANP).
    for exit_code in ("011", "00"):
        if (
            len(digits) >= 10
            and digits.startswith(exit_code)
            and validators.international_phone_ok(digits[len(exit_code) :])
        ):
            return PHONE, 0.85
    return None


def _ssn_last_four(
    run: Run, i: int, j: int, digits: str, ctx: frozenset[str], whole: bool
) -> _Verdict:
    if whole and "ssn" in ctx and len(digits) == 4 and "negative" not in ctx:
        return SSN, 0.6  # "the last four of my social": still part of the number
    return None


def _nanp_phone(
    run: Run, i: int, j: int, digits: str, ctx: frozenset[str], whole: bool
) -> _Verdict:
    n = len(digits)
    if not (n in (10, 11) and (n == 10 or digits[0] == "1")):
        return None
    phone_ctx = "phone" in ctx
    if "negative" in ctx and not phone_ctx:
        return _STOP
    if validators.nanp_ok(digits):
        return PHONE, 0.9 if phone_ctx else 0.75
    if not run.spoken and _layout(run, i, j) in _PHONE_LAYOUTS:
        # Well-formatted but outside the numbering plan (fiction, tests, typos).
        return PHONE, 0.6
    if phone_ctx and whole and LINE_NEGATIVE not in ctx:
        # Someone said "phone" and gave ten digits the plan does not assign (555, N11,
        # 0xx/1xx exchanges, a misheard digit): a phone number all the same.
        return PHONE, 0.6
    return None


def _context_named(
    run: Run, i: int, j: int, digits: str, ctx: frozenset[str], whole: bool
) -> _Verdict:
    n = len(digits)
    if "negative" in ctx:
        return None
    if "account" in ctx and 6 <= n <= 17 and "card" not in ctx:
        return BANK, 0.75
    if "license" in ctx and 5 <= n <= 13:
        return LICENSE, 0.75
    if "passport" in ctx and n in (8, 9):
        return PASSPORT, 0.75
    if "medical" in ctx and 6 <= n <= 15:
        return MEDICAL, 0.75
    if "phone" in ctx and run.spoken and n == 7:
        return PHONE, 0.6
    return None


# The order of `_classify`'s docstring; it is the precedence between look-alikes.
_STEPS: Final = (
    _context_codes,
    _card,
    _nine_digits,
    _birth_date,
    _international_phone,
    _misheard_card,
    _ssn_last_four,
    _nanp_phone,
    _context_named,
)


def classify_run(text: str, run: Run, index: context.Index) -> list[tuple[int, int, str, float]]:
    """(digit start, digit end, type, score) for each identifier in the run."""
    n = len(run.digits)
    if n < 3 or n > MAX_RUN_DIGITS:
        return []
    ctx = index.around(run.start, run.end)
    if n < 9 and not run.plus and not (ctx - {"negative"}):
        return []  # below nine digits everything needs a context word
    whole_ctx = ctx
    if "negative" in ctx:
        line = text.rfind("\n", 0, run.start) + 1
        if "negative" in index.around(run.start, run.end, left=min(context.LEFT, run.start - line)):
            whole_ctx = ctx | {LINE_NEGATIVE}
    found = _classify(run, 0, n, whole_ctx, True) or _card_read_apart(run, n, whole_ctx)
    if found:
        return [(0, n, found[0], found[1])]
    hits: list[tuple[int, int, str, float]] = []
    bounds = run.bounds
    k = 0
    while k < len(bounds) - 1:
        i = bounds[k]
        hit = None
        for m in range(len(bounds) - 1, k, -1):
            j = bounds[m]
            if j - i > 19:
                continue
            if j - i < 3:
                break
            if i == 0 and j == n:
                continue
            found = _classify(run, i, j, ctx, False)
            if found and found[0] == PHONE and found[1] < 0.9 and n >= 13 and not run.breaks:
                # Ten digits inside one longer unbroken number (a 16-digit reference that
                # fails Luhn) are not a phone number unless someone said "phone".
                found = None
            if found:
                hit = (i, j, found[0], found[1], m)
                break
        if hit:
            hits.append((hit[0], hit[1], hit[2], hit[3]))
            k = hit[4]
        else:
            k += 1
    return hits


def _card_read_apart(run: Run, n: int, ctx: frozenset[str]) -> tuple[str, float] | None:
    """A card said with a tens word before digits said one by one ("ninety one one zero six
    five" is 90 1 1 0 6 5, not 91 1 0 6 5): when the run as read is nothing, each tens + unit
    pair read apart, one at a time; a reading that is a card (Luhn, length, issuer) wins, a
    little less sure than a card said plainly."""
    if not run.compounds or n + 1 > 19:
        return None
    for unit in run.compounds:
        apart = run.split_at(unit)
        found = _card(apart, 0, n + 1, apart.digits, ctx, True)  # Luhn: not a misheard card
        if found and found[0] == CARD:
            return CARD, round(found[1] - 0.05, 2)
    return None


def add_findings(out: list[Finding], text: str, run: Run, index: context.Index) -> None:
    """Append the findings of one run to `out`."""
    for i, j, kind, score in classify_run(text, run, index):
        # A number split over two lines is reported as one finding per line, so redacting it
        # leaves the speaker labels between them alone.
        edges = [i, *(b for b in run.breaks if i < b < j), j] if run.breaks else [i, j]
        for a, b in zip(edges, edges[1:], strict=False):
            start, end = run.span(text, a, b)
            if start > 0 and text[start - 1] == "(" and ")" in text[start:end]:
                start -= 1  # "(212) 555-0100"
            elif run.plus and a == 0 and start > 0 and text[start - 1] == "+":
                start -= 1
            elif kind == LICENSE and a == i:
                start = _letter_prefix(text, start)
            out.append(Finding(kind, start, end, score, text[start:end]))


def _letter_prefix(text: str, start: int) -> int:
    """Where a licence number starts with its letters ("F255-921-50-094-0", "D 1234567")."""
    k = start
    if k > 0 and text[k - 1] in " -":
        k -= 1
    letters = k
    while letters > 0 and letters > k - 3 and text[letters - 1].isalpha():
        letters -= 1
    if letters == k or (letters > 0 and text[letters - 1].isalnum()):
        return start
    return letters if text[letters:k].isupper() or k == start else start
