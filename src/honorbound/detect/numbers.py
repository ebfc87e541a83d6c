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


def _classify(
    run: Run, i: int, j: int, ctx: frozenset[str], whole: bool, near_negative: bool = True
) -> tuple[str, float] | None:
    """`near_negative`: an order/ticket/amount word on the run's own line (`ctx` also reads
    the line before, where "llamo por mi factura" must not veto the phone said next)."""
    digits = run.digits[i:j]
    n = len(digits)
    negative = "negative" in ctx
    written = not run.spoken
    # Context-named kinds come first: the speaker said what the number is.
    if "cvv" in ctx and n in (3, 4):
        return CVV, 0.85
    if "expiry" in ctx and n in (3, 4, 6) and validators.expiry_ok(digits):
        return EXPIRY, 0.8
    if 12 <= n <= 19 and validators.is_card(digits):
        if negative and "card" not in ctx:
            return None
        if n == 12 and "card" not in ctx:
            return None  # 12-digit Maestro only when someone says "card"
        return CARD, 0.95 if "card" in ctx else 0.9
    if n == 9:
        layout = _layout(run, i, j)
        if "routing" in ctx and validators.is_aba(digits):
            return ABA, 0.9
        if validators.is_itin(digits) and ("itin" in ctx or layout == (3, 2, 4)):
            return ITIN, 0.9 if "itin" in ctx else 0.7
        if validators.is_ssn(digits):
            if "ssn" in ctx:
                return SSN, 0.95
            if layout == (3, 2, 4) and not negative:
                return SSN, 0.85
        elif whole and "ssn" in ctx and not near_negative:
            # Nine digits the speaker called a social security number but outside the issued
            # ranges (000/666 areas, published samples, a misheard digit): still redacted.
            return SSN, 0.7
        if "passport" in ctx:
            return PASSPORT, 0.8
    if "dob" in ctx and validators.date_digits_ok(digits):
        return DOB, 0.8
    if run.plus and i == 0 and validators.international_phone_ok(digits):
        return PHONE, 0.9
    # International numbers dialled with an exit code: 00 (most of the world), 011 (NANP).
    for exit_code in ("011", "00"):
        if (
            n >= 10
            and digits.startswith(exit_code)
            and validators.international_phone_ok(digits[len(exit_code) :])
        ):
            return PHONE, 0.85
    if whole and "ssn" in ctx and n == 4 and not negative:
        return SSN, 0.6  # "the last four of my social": still part of the number
    if n in (10, 11) and (n == 10 or digits[0] == "1"):
        phone_ctx = "phone" in ctx
        if negative and not phone_ctx:
            return None
        if validators.nanp_ok(digits):
            return PHONE, 0.9 if phone_ctx else 0.75
        layout = _layout(run, i, j)
        if written and layout in _PHONE_LAYOUTS:
            # Well-formatted but outside the numbering plan (fiction, tests, typos).
            return PHONE, 0.6
        if phone_ctx and whole and not near_negative:
            # Someone said "phone" and gave ten digits the plan does not assign (555, N11,
            # 0xx/1xx exchanges, a misheard digit): a phone number all the same.
            return PHONE, 0.6
    if "account" in ctx and 6 <= n <= 17 and "card" not in ctx and not negative:
        return BANK, 0.75
    if "license" in ctx and 5 <= n <= 13 and not negative:
        return LICENSE, 0.75
    if "passport" in ctx and n in (8, 9) and not negative:
        return PASSPORT, 0.75
    if "medical" in ctx and 6 <= n <= 15 and not negative:
        return MEDICAL, 0.75
    if "phone" in ctx and written is False and n == 7 and not negative:
        return PHONE, 0.6
    return None


def classify_run(text: str, run: Run, index: context.Index) -> list[tuple[int, int, str, float]]:
    """(digit start, digit end, type, score) for each identifier in the run."""
    n = len(run.digits)
    if n < 3 or n > MAX_RUN_DIGITS:
        return []
    ctx = index.around(run.start, run.end)
    if n < 9 and not run.plus and not (ctx - {"negative"}):
        return []  # below nine digits everything needs a context word
    near_negative = "negative" in ctx
    if near_negative:
        line = text.rfind("\n", 0, run.start) + 1
        near_negative = "negative" in index.around(
            run.start, run.end, left=min(context.LEFT, run.start - line)
        )
    found = _classify(run, 0, n, ctx, True, near_negative)
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
