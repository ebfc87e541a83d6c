"""The area-code -> state table the server ships instead of importing phonenumbers' geocoder
(about 100 MB resident). Checked against phonenumbers itself, by a different path than the
generator, and the running app must never load the geocoder module."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from phonenumbers.geodata import GEOCODE_DATA

import honorbound.consent.calling_hours as calling_hours

TABLE = Path(calling_hours.__file__).parent / "data" / calling_hours.AREA_CODE_STATES


def test_table_matches_the_installed_phonenumbers() -> None:
    """Every English geocoder description under +1 NPA that names a US state or territory
    appears in the committed table, and nothing else does (regenerate after upgrading
    phonenumbers: `python -m honorbound.consent.calling_hours`)."""
    names = calling_hours.STATE_CODES
    expected: dict[str, set[str]] = {}
    for prefix, texts in GEOCODE_DATA.items():
        if not prefix.startswith("1") or len(prefix) < 4:
            continue
        text = texts.get("en", "")
        state = names.get(text) or next(
            (code for code in names.values() if text.endswith(f", {code}")), None
        )
        if state is not None:
            expected.setdefault(prefix[1:4], set()).add(state)
    shipped = json.loads(TABLE.read_text())["states"]
    assert {npa: set(states) for npa, states in shipped.items()} == expected


def test_known_area_codes() -> None:
    known = {"212": {"NY"}, "415": {"CA"}, "305": {"FL"}, "907": {"AK"}, "808": {"HI"}}
    for npa, states in known.items():
        assert calling_hours.states_for_area_code(npa) == states
    assert calling_hours.states_for_area_code("999") == frozenset()


def test_the_generator_check_agrees() -> None:
    run = [sys.executable, "-m", "honorbound.consent.calling_hours", "--check"]
    assert subprocess.run(run, check=False).returncode == 0


def test_no_source_imports_the_geocoder() -> None:
    src = Path(calling_hours.__file__).parents[1]
    hits = [
        str(path.relative_to(src))
        for path in src.rglob("*.py")
        if "phonenumbers.geodata" in path.read_text() or "phonenumbers.geocoder" in path.read_text()
    ]
    assert hits == ["consent/calling_hours.py"]  # its generator, imported inside main() only


def test_answers_do_not_load_the_geocoder(tmp_path: Path) -> None:
    """States and zones answered in a fresh interpreter, then its module list."""
    script = """
import sys
import honorbound.consent.calling_hours as ch
assert ch.states_for_area_code("212") == {"NY"}
assert ch.zones_for_state("NY")
print("phonenumbers.geodata" in sys.modules)
"""
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    assert out.stdout.strip() == "False"
