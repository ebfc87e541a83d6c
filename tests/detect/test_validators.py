"""The engine's SSN and ITIN checks agree with python-stdnum, whose rules and data they use."""

from __future__ import annotations

import random

from stdnum.us import itin, ssn

from honorbound.detect import scan, validators


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
    # stdnum's table predates the IRS's groups 50-65: there we accept what it refuses.
    for number in _nine_digit_strings():
        expected = number[0] == "9" and (itin.is_valid(number) or 50 <= int(number[3:5]) <= 65)
        assert validators.is_itin(number) == expected, number


def test_itin_groups_50_to_65_are_valid() -> None:
    # The IRS ranges, written out here rather than read from the data file the code uses.
    for group in (50, 57, 65, 70, 88, 90, 92, 94, 99):
        assert validators.is_itin(f"912{group:02d}3456"), group
    for group in (49, 66, 69, 89, 93):
        assert not validators.is_itin(f"912{group:02d}3456"), group
    assert [f.type for f in scan("my ITIN is 912-57-3456")] == ["US_ITIN"]


def test_other_digit_scripts_go_to_stdnum() -> None:
    fullwidth = "０７８０５１１２１"  # stdnum normalises these
    assert validators.is_ssn(fullwidth) == (ssn.is_valid(fullwidth) and True)
    assert not validators.is_ssn("12345678")
    assert not validators.is_itin("91270123")
