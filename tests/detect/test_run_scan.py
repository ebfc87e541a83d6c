"""The fast paths of the number runs and the weak name cues agree with the patterns they
replace on call-length ASCII text. The oracles are the regular expressions themselves: the run
pattern `digits._RUN_SPOKEN_ASCII` (still used past TOKEN_SCAN_MAX characters) and the weak
cue as it was written before it was factored into a trie (copied here)."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from honorbound.detect import digits, patterns, people
from honorbound.detect.findings import Finding
from honorbound.detect.prepared import Prepared

PIECES = [
    *sorted(w for w in digits.WORDS if w.isascii()),
    *["someone", "oneself", "o'clock", "phone", "Four", "ONE", "tens", "thank", "you", "this"],
    *["is", "It's", "hi", "hello", "hey", "thanks", "dear", "ask", "for", "speak", "with"],
    *["1", "22", "4111", "0", "x", "a"],
]
SEPARATORS = [" ", "  ", "-", ",", "(", ")", ".", "#", "*", "\t", "\n", "'", ":", ""]
# Runs of separators around the limit of a gap (1-6 characters).
SEPARATORS += [" " * n for n in (5, 6, 7)] + ["- " * 3, " ,-.( "]

texts = st.lists(
    st.tuples(st.sampled_from(PIECES), st.sampled_from(SEPARATORS)), min_size=1, max_size=60
).map(lambda parts: "".join(word + sep for word, sep in parts))


@settings(max_examples=400, deadline=None)
@given(texts)
def test_number_runs_by_tokens_are_the_run_pattern_s(text: str) -> None:
    prepared = Prepared(text)
    assert prepared.ascii and len(text) <= digits.TOKEN_SCAN_MAX
    expected = [m.span() for m in digits._RUN_SPOKEN_ASCII.finditer(prepared.lowered)]
    assert digits._ascii_run_spans(prepared) == expected


WEAK_CUE_AS_WRITTEN = (
    r"(?<![A-Za-z])(?:this\s+is|it's|it\s+is|i'm|i\s+am|i\s+m|hi|hello|hey|thanks|"
    r"thank\s+you|soy|habla|dear|ask\s+for|talk\s+to|speak\s+(?:to|with))[,:]?\s+"
)


@settings(max_examples=300, deadline=None)
@given(texts)
def test_the_weak_cue_trie_matches_the_cue_as_written(text: str) -> None:
    for flags, subject, pattern in (
        (0, text.lower(), people._WEAK_CUE._folded),
        (re.IGNORECASE, text, people._WEAK_CUE._ignorecase),
    ):
        expected = [m.span() for m in re.finditer(WEAK_CUE_AS_WRITTEN, subject, flags)]
        assert [m.span() for m in pattern.finditer(subject)] == expected


def test_every_weak_cue_is_found_where_the_cue_as_written_finds_it() -> None:
    cues = re.findall(r"[a-z' ]+", WEAK_CUE_AS_WRITTEN.replace(r"\s+", " ").replace("(?:", ""))
    phrases = [c.strip() for c in cues if c.strip()] + ["speak with", "speak to"]
    assert len(phrases) >= 18
    for phrase in phrases:
        for text in (
            f"{phrase} Anna",
            f"ok, {phrase}, bob",
            f"x{phrase} y",
            f"{phrase.upper()}\tZ",
        ):
            expected = [m.span() for m in re.finditer(WEAK_CUE_AS_WRITTEN, text, re.IGNORECASE)]
            got = [m.span() for m in people._WEAK_CUE._ignorecase.finditer(text)]
            assert got == expected, text
            folded = [m.span() for m in people._WEAK_CUE._folded.finditer(text.lower())]
            assert folded == expected, text


EMAIL_PIECES = ["at", "arroba", "AT", "dot", "punto", "period", "gmail", "com", "net", "us"]
EMAIL_PIECES += ["me", "j", "o", "h", "n", "m as in mary", "underscore", "seven", "x1", "."]
email_texts = st.lists(
    st.tuples(st.sampled_from(EMAIL_PIECES), st.sampled_from([" ", " ", ".", "", ", ", "\n"])),
    min_size=3,
    max_size=30,
).map(lambda parts: "".join(word + sep for word, sep in parts))


@settings(max_examples=400, deadline=None)
@given(email_texts)
def test_the_spoken_email_tail_gate_changes_no_finding(text: str) -> None:
    """The gate runs on folded text only; the reference (no shortcuts) never gates."""
    fast: list[Finding] = []
    reference: list[Finding] = []
    patterns.emails(fast, Prepared(text))
    patterns.emails(reference, Prepared(text, shortcuts=False))
    assert [(f.start, f.end) for f in fast] == [(f.start, f.end) for f in reference]


def test_the_spoken_email_tail_gate_lets_spoken_addresses_through() -> None:
    for text in ("write to j o h n at gmail dot com", "es pedro arroba correo punto mx"):
        found: list[Finding] = []
        patterns.emails(found, Prepared(text))
        assert [f.type for f in found] == ["EMAIL_ADDRESS"], text
