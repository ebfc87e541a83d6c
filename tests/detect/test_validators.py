"""The engine's SSN and ITIN checks agree with python-stdnum, whose rules and data they use."""

from __future__ import annotations

import random

from stdnum.us import itin, ssn

from honorbound.detect import validators


def _nine_digit_strings() -> list[str]:
    rng = random.Random(20261124)
    numbers = [f"{rng.randrange(10**9):09d}" for _ in range(100_000)]
    # Every boundary the rules name: areas 000/666/9xx, group 00, serial 0000, the samples,
    # every ITIN group, repeated digits.
    for area in ("000", "001", "665", "666", "667", "899", "900", "912", "999"):
        for group in ("00", "01", "69", "70", "88", "89", "90", "93", "99"):
            for serial in ("0000", "0001", "9999"):
                numbers.append(area + group + serial)
    numbers += ["078051120", "457555462", "219099999", "111111111", "999999999"]
    return numbers


def test_ssn_check_agrees_with_stdnum() -> None:
    for number in _nine_digit_strings():
        expected = ssn.is_valid(number) and len(set(number)) > 1
        assert validators.is_ssn(number) == expected, number


def test_itin_check_agrees_with_stdnum() -> None:
    for number in _nine_digit_strings():
        expected = number[0] == "9" and itin.is_valid(number)
        assert validators.is_itin(number) == expected, number


def test_other_digit_scripts_go_to_stdnum() -> None:
    fullwidth = "０７８０５１１２１"  # stdnum normalises these
    assert validators.is_ssn(fullwidth) == (ssn.is_valid(fullwidth) and True)
    assert not validators.is_ssn("12345678")
    assert not validators.is_itin("91270123")
