"""The engine's findings on thousands of varied texts, frozen before a speed-up, must not move.

Every speed-up of `honorbound.detect` (pre-filters that skip a layer, passes combined, windows
computed once) promises the same findings at the same offsets. `frozen_findings.json.gz` holds
the findings (type, start, end) the engine made on the texts of `inputs()` before such work, and
the SHA-256 of each text (so a drift of the call generator or of Faker is told apart from a
change of the engine). The texts: generated calls (every delivery style, speaker shape, ASR lower
case, hard negatives), the same calls upper-cased, with an accented letter (the Unicode paths),
with their line breaks removed, joined ten at a time into ~7,500-character transcripts, and the
two saved benchmark corpora (bench/pii_data: written shapes, Presidio's own sentences).

A change that means to alter findings regenerates the file, on purpose, in the same commit:

    .venv/bin/python -m tests.detect.test_frozen --freeze
"""

from __future__ import annotations

import gzip
import hashlib
import json
import random
import sys
from pathlib import Path

import pytest

from honorbound.detect import scan
from tests.detect.calls import corpus
from tests.detect.test_shortcuts import VOCAB, _generated

HERE = Path(__file__).resolve().parent
FROZEN = HERE / "frozen_findings.json.gz"
BENCH_DATA = HERE.parent.parent / "bench" / "pii_data"


def inputs() -> list[str]:
    calls = [call.text for call in corpus(3000, 1601)]
    texts = list(calls)
    texts += [text.upper() for text in calls[:400]]
    texts += [text.replace(" ", " é ", 1) for text in calls[400:800]]
    texts += [text.replace("\n", " ") for text in calls[800:1200]]
    more = [call.text for call in corpus(1000, 1602)]
    texts += ["\n".join(more[k : k + 10]) for k in range(0, len(more), 10)]
    # Calls with a phrase of every family spliced into a turn (intents, named ids, spelled and
    # phonetic names, titles, spoken emails: rare in generated calls), and words of every
    # family in random order and glue (test_shortcuts.py).
    rng = random.Random(1603)
    phrases = [word for word in VOCAB if " " in word] + [
        "m as in mary", "s like sam j o h n", "alpha bravo charlie", "that's d o e",
        "please don't call me again", "put me on your do-not-call list", "dl# 12345678",
        "account # 99887766", "acct no 12345678", "policy number W123456789",
    ] + [
        # Every name cue, strong and weak, before a listed name.
        f"{cue} {name}"
        for cue in (
            "my name is", "my name's", "name is", "names is", "the name is", "you're speaking with",
            "you are speaking to", "speaking with", "ask for", "me llamo", "mi nombre es",
            "first name is", "last name is", "account holder is", "cardholder is",
            "card holder is", "signed,", "sincerely", "regards", "dear", "this is", "it's",
            "it is", "i'm", "i am", "i m", "hi", "hello", "hey,", "thanks", "thank you", "soy",
            "habla", "talk to", "speak to", "speak with", "spelled", "that's", "it's", "spell",
        )
        for name in ("Maria Garcia", "john smith", "J O H N", "O'Brien", "Mary-Jane")
    ]  # fmt: skip
    for text in calls[1200:2400]:
        at = rng.randrange(len(text))
        texts.append(f"{text[:at]} {rng.choice(phrases)} {text[at:]}")
    texts += _generated(1500, 1604)
    for name in ("transcripts.jsonl", "presidio_evaluator.jsonl"):
        with (BENCH_DATA / name).open(encoding="utf-8") as lines:
            texts += [str(json.loads(line)["text"]) for line in lines if line.strip()]
    return texts


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def findings_of(text: str) -> list[list[object]]:
    return [[f.type, f.start, f.end] for f in scan(text)]


def freeze() -> None:
    rows = [[_digest(text), findings_of(text)] for text in inputs()]
    data = json.dumps(rows, separators=(",", ":")).encode("utf-8")
    FROZEN.write_bytes(gzip.compress(data, mtime=0))


def test_findings_identical_to_the_frozen_ones() -> None:
    rows = json.loads(gzip.decompress(FROZEN.read_bytes()))
    texts = inputs()
    assert len(texts) == len(rows) > 8000
    drifted = [
        k for k, (text, row) in enumerate(zip(texts, rows, strict=True)) if _digest(text) != row[0]
    ]
    if drifted:
        pytest.fail(
            f"{len(drifted)} generated texts differ from the frozen ones (the call generator or "
            "Faker changed, not the engine): regenerate with --freeze on the old engine first"
        )
    moved = []
    for k, (text, (_digest_of, expected)) in enumerate(zip(texts, rows, strict=True)):
        got = findings_of(text)
        if got != expected:
            moved.append((k, expected, got))
    # Offsets only in the message: no text (generated values) in the report.
    assert not moved, f"{len(moved)} of {len(texts)} texts changed findings, first: {moved[:3]}"


if __name__ == "__main__":
    if sys.argv[1:] == ["--freeze"]:
        freeze()
    else:
        sys.exit("usage: python -m tests.detect.test_frozen --freeze")
