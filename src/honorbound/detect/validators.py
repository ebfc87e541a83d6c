"""Checksums and validity rules for identifiers.

Where a well-kept library exists it is used (python-stdnum for SSN, ITIN, ABA routing numbers
and IBAN; phonenumbers for international numbers). Luhn and card issuer ranges are small,
hot and easy to read, so they are here.
"""

from __future__ import annotations

from typing import Final

import phonenumbers
from stdnum import iban as _iban
from stdnum.us import rtn as _rtn
from stdnum.us import ssn as _ssn

from honorbound.detect.resources import words


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = ord(ch) - 48
        if i & 1:
            n *= 2
            if n > 9:
                n -= 9
        total += n
    return total % 10 == 0


def card_issuer_ok(digits: str) -> bool:
    """Whether a number of this length may be a payment card of a current issuer range.

    Ranges: Visa 4 (13, 16, 19 digits); Mastercard 51-55 and the 2-series 2221-2720 (16);
    Amex 34/37 (15); Discover 6011, 644-649, 65 and 622126-622925 (16-19); Diners 300-305,
    36, 38-39 (14-19); JCB 35 (16-19; 3528-3589 assigned) and legacy 1800/2131 (15);
    UnionPay 62 (16-19); Maestro 50, 56-69 (12-19); Mir 2200-2204 (16-19);
    RuPay 60, 65, 81, 82, 508 (16); Troy 9792 (16).
    """
    n = len(digits)
    if n < 12 or n > 19:
        return False
    d1 = digits[0]
    p2 = int(digits[:2])
    p4 = int(digits[:4])
    if d1 == "4":
        return n in (13, 16, 19)
    if 51 <= p2 <= 55 or 2221 <= p4 <= 2720:
        return n == 16
    if p2 in (34, 37):
        return n == 15
    if 2200 <= p4 <= 2204:
        return n >= 16
    if d1 == "3":
        if 300 <= int(digits[:3]) <= 305 or p2 in (36, 38, 39):
            return n >= 14
        if p2 == 35:
            return n >= 16
        return False
    if p4 in (1800, 2131):
        return n == 15
    if p2 in (60, 62, 64, 65):
        return n >= 16
    if d1 in "56":
        return n >= 12
    if p2 in (81, 82):
        return n == 16
    if p4 == 9792:
        return n == 16
    return False


def is_card(digits: str) -> bool:
    return 12 <= len(digits) <= 19 and card_issuer_ok(digits) and luhn_ok(digits)


# python-stdnum's rules for SSN and ITIN, applied directly to a string of nine ASCII digits:
# its `is_valid` first cleans and re-parses the string in interpreted Python, which was a tenth
# of the engine's time. The data (sample numbers, ITIN groups) is stdnum's own;
# tests/detect/test_validators.py checks these agree with stdnum on every kind of input, and
# anything else (other digit scripts, a stdnum without these tables) goes to stdnum itself.
_SSN_SAMPLES: Final = frozenset(
    number.replace("-", "") for number in getattr(_ssn, "_ssn_blacklist", ())
)
# The IRS's groups, 50-65 included (data/itin_groups.txt, with its source): stdnum's table
# predates them.
_ITIN_GROUPS: Final = words("itin_groups.txt")


def _nine_ascii_digits(digits: str) -> bool:
    return len(digits) == 9 and digits.isascii() and digits.isdigit()


def is_ssn(digits: str) -> bool:
    """US SSN: area not 000/666/9xx, group not 00, serial not 0000, known samples rejected."""
    if not (_nine_ascii_digits(digits) and _SSN_SAMPLES):
        return len(digits) == 9 and _ssn.is_valid(digits) and len(set(digits)) > 1
    return (
        digits[0] != "9"
        and digits[:3] not in ("000", "666")
        and digits[3:5] != "00"
        and digits[5:] != "0000"
        and digits not in _SSN_SAMPLES
        and len(set(digits)) > 1
    )


def is_itin(digits: str) -> bool:
    """US ITIN: nine digits, area 9xx, group in the IRS's assigned ranges (50-65, 70-88,
    90-92, 94-99)."""
    if not _nine_ascii_digits(digits):
        ascii = "".join(str(int(ch)) for ch in digits) if digits.isdecimal() else ""
        return len(ascii) == 9 and ascii[0] == "9" and ascii[3:5] in _ITIN_GROUPS
    return digits[0] == "9" and digits[3:5] in _ITIN_GROUPS


def is_aba(digits: str) -> bool:
    return len(digits) == 9 and digits != "000000000" and _rtn.is_valid(digits)


def is_iban(value: str) -> bool:
    """Structure and the mod-97 check only: a national bank table (stdnum's country modules)
    must not veto a checksum-valid IBAN whose bank it does not list."""
    return _iban.is_valid(value, check_country=False)


def nanp_ok(digits: str) -> bool:
    """A ten-digit North American number plan number (area and exchange both start 2-9)."""
    if len(digits) == 11 and digits[0] == "1":
        digits = digits[1:]
    if len(digits) != 10:
        return False
    area, exchange = digits[:3], digits[3:6]
    return (
        area[0] not in "01"
        and exchange[0] not in "01"
        and area[1:] != "11"
        and exchange[1:] != "11"
        and area[1] != "9"
    )


def international_phone_ok(digits: str) -> bool:
    """Digits that follow a '+': a valid number in some country's plan."""
    if not 8 <= len(digits) <= 15:
        return False
    try:
        number = phonenumbers.parse("+" + digits, None)
    except phonenumbers.NumberParseException:
        return False
    return bool(phonenumbers.is_valid_number(number))


def expiry_ok(digits: str) -> bool:
    """MMYY / MMYYYY / MYY card expiry."""
    if len(digits) == 3:
        digits = "0" + digits
    if len(digits) not in (4, 6):
        return False
    month = int(digits[:2])
    return 1 <= month <= 12


def date_digits_ok(digits: str) -> bool:
    """MMDDYYYY or MMDDYY spoken or written without separators."""
    if len(digits) not in (6, 8):
        return False
    month, day = int(digits[:2]), int(digits[2:4])
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return False
    if len(digits) == 8:
        return 1900 <= int(digits[4:]) <= 2100
    return True
