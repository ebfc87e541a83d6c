"""The engine's fast paths change nothing: every text scanned with them gives exactly what it
gives with none (every word gate open, Unicode and case-insensitive patterns on the original
text). The fast paths are word gates that skip families, matching on the lower-cased copy
instead of case-insensitively, ASCII twins of digit patterns and words split as bytes."""

from __future__ import annotations

import ast
import json
import random
from pathlib import Path

import pytest

from honorbound.detect.engine import scan_prepared
from honorbound.detect.prepared import Prepared, ascii_source

ROOT = Path(__file__).resolve().parents[2]

# Words every family reacts to, in both cases, accented and not, with the characters that
# case-fold into ASCII letters (İ ı ſ K) and Unicode digits.
_VOCAB = (
    "one two three four five six seven eight nine zero oh o double triple hundred twenty "
    "thirty fifteen uno dos cinco nueve card visa social security number ssn phone call me at "
    "dot com gmail underscore exp expires cvv security code my name is John Smith this is Maria "
    "Garcia Mr Dr Lee account routing license passport member id order ticket amount $ "
    "birth born dob january march 3rd of may 2024 street St Ave Main Oak apt suite box PO APO "
    "stop calling me delete my data copy of take off your list no más unsubscribe opt out "
    "Caller: Agent: , . - ( ) # * + / : @ 00 011 4111 1111 5555 212 555 0100 123 45 6789 "
    "078-05-1120 192.168.0.1 ::1 GB82WEST12345698765432 1/2/1990 12/27 2026-11-20T10:00:00 "
    "Señor Señora MÁS teléfono número Pálffy Łódź José İstanbul ſix K ÉSTOP ñ quítame "
    "información Muñoz ٣٤٥ ４１１１ spelled J O H N dear sincerely ONE TWO Visa DOB"
)
VOCAB = _VOCAB.split(" ") + [
    # Whole phrases, so every family's patterns match now and then.
    "stop calling me", "don't text me again", "take me off your list", "please stop emailing me",
    "unsubscribe", "opt me out", "no más llamadas", "no me llamen", "sáquenme de su lista",
    "delete my information", "a copy of my data", "what data do you have on me",
    "do not sell my information", "right to delete", "borrar mis datos",
    "my name is", "this is", "you're speaking with", "Mr. Smith", "spelled S M I T H",
    "Thank you, Maria Garcia", "driver's license D1234567", "member id 12345678",
    "account number 123456789", "expires 04/27", "security code 123", "routing 021000021",
    "john dot smith at gmail dot com", "JOHN AT GMAIL DOT COM", "P.O. Box 123",
    "PSC 1234, Box 5678 APO AE 09012", "123 Main Street Apt 4, Springfield, IL 62701",
    "born on march 3rd 1990", "the twenty-first of may", "+44 20 7946 0958", "011 44 20 7946 0958",
    "four one one one one one one one one one one one one one one one", "five five oh double two",
]  # fmt: skip
GLUE = [" ", " ", " ", "", ", ", "-", "\n", "\nCaller: ", ". ", "\t", "\x1c"]


def _generated(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    texts = []
    for _ in range(count):
        parts = []
        for _ in range(rng.randint(1, 30)):
            word = rng.choice(VOCAB)
            if rng.random() < 0.15:
                word = str(rng.randint(0, 10 ** rng.randint(1, 12)))
            parts.append(word)
            parts.append(rng.choice(GLUE))
        texts.append("".join(parts))
    return texts


def _test_strings() -> list[str]:
    """Every string constant in the detect tests: each family's phrases, written by hand."""
    found = []
    for path in sorted((ROOT / "tests" / "detect").glob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                found.append(node.value)
    return found


def _corpora() -> list[str]:
    texts = _test_strings()
    for name in ("transcripts.jsonl", "presidio_evaluator.jsonl"):
        with (ROOT / "bench" / "pii_data" / name).open(encoding="utf-8") as lines:
            texts.extend(json.loads(line)["text"] for line in lines)
    return texts


def _key(text: str, shortcuts: bool) -> list[tuple[str, int, int, float]]:
    found = scan_prepared(Prepared(text, shortcuts=shortcuts))
    return [(f.type, f.start, f.end, f.score) for f in found]


@pytest.mark.timeout(300)
def test_fast_paths_give_the_reference_findings() -> None:
    texts = _corpora() + _generated(6000, seed=20261124)
    differing = [t for t in texts if _key(t, True) != _key(t, False)]
    assert not differing, f"{len(differing)} texts differ, e.g. {differing[:3]!r}"


def test_the_reference_path_really_is_another_path() -> None:
    fast, slow = Prepared("Call me at 212 555 0100"), Prepared("Call me at 212 555 0100", False)
    assert fast.ascii and fast.gates != -1
    assert not slow.ascii and not slow.folded and slow.gates == -1


@pytest.mark.parametrize(
    ("source", "probe"),
    [(r"\s", ""), (r"[^\s,]", ","), (r"do[\s-]+not", "do-not"), (r"[]\s]x", "]x"), (r"\\s", "\\s")],
)
def test_ascii_twins_keep_unicode_spaces(source: str, probe: str) -> None:
    import re

    unicode, twin = re.compile(source), re.compile(ascii_source(source), re.ASCII)
    for code in range(128):
        for text in (chr(code), probe, chr(code) + probe):
            assert bool(unicode.fullmatch(text)) == bool(twin.fullmatch(text)), (source, text)
