"""A text made ready once for every family of detectors.

Every family used to lower-case the text and run its own gate pattern before its real
patterns; on short texts (a chat line is ~75 characters) those passes were most of the cost.
Now the text is lower-cased once and its words are collected once (one C-speed pass into a
set), and looked up once in a table of gate words: each family registered, at import, the
words one of which every text its patterns can match must hold (`word_gate`), and reads one
bit of `Prepared.gates` to know whether to run at all.

The word gates are exact: a text's words are the maximal runs of ASCII letters of its
lower-cased copy, the same boundaries the patterns' `(?<![A-Za-z])` / `(?![A-Za-z])` use, and
a text holding a character that case-folds into an ASCII letter has every gate open.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from functools import reduce
from operator import or_
from typing import Final

_ASCII_WORD: Final = re.compile(r"[a-z]+")
_WORD: Final = re.compile(r"[^\W\d_]+")
_DIGIT: Final = re.compile(r"\d")
_ASCII_DIGIT: Final = re.compile(r"[0-9]")  # same as \d on ASCII text, and checked inline

_GATE_BITS: Final[dict[str, int]] = {}  # word -> the bits of the gates it opens
_GATE_WORDS: Final[set[str]] = set()
_gate_count = 0
ALL_GATES: Final = -1  # every bit set


def word_gate(words: str | Iterable[str]) -> int:
    """Register a gate opened by any of `words` (lower case; a string is split on spaces);
    returns its bit."""
    global _gate_count
    bit = 1 << _gate_count
    _gate_count += 1
    for word in words.split() if isinstance(words, str) else words:
        _GATE_BITS[word] = _GATE_BITS.get(word, 0) | bit
        _GATE_WORDS.add(word)
    return bit


# The only characters outside ASCII that case-fold into ASCII letters (İ ı ſ and the Kelvin
# sign): a text holding one has every gate open and gets case-insensitive patterns.
_UNFOLDABLE: Final = frozenset("\u0130\u0131\u017f\u212a")


class Prepared:
    """`text`, its lower-cased copy, its words, its open gates and whether it holds a digit.

    `folded` says the lower-cased copy stands for the text: same length (so same offsets) and
    no character that case-folds into an ASCII letter. Then case-insensitive patterns run on
    the copy, and the gates are read from its ASCII-letter words. Accented letters are not ASCII
    letters, so "Pálffy" gives the words "p" and "lffy": gates list such pieces where a pattern
    holds an accented word ("más" -> "m").
    """

    __slots__ = ("ascii", "folded", "gates", "has_digit", "lowered", "text", "words")

    def __init__(self, text: str) -> None:
        self.text = text
        self.lowered = lowered = text.lower()
        self.ascii = ascii = text.isascii()
        self.folded = ascii or (len(lowered) == len(text) and _UNFOLDABLE.isdisjoint(text))
        ascii_words = _ASCII_WORD.findall(lowered)
        # The context index reads whole words; for an ASCII text those are the ASCII words.
        self.words = ascii_words if ascii else _WORD.findall(lowered)
        self.gates = (
            reduce(or_, map(_GATE_BITS.__getitem__, _GATE_WORDS.intersection(ascii_words)), 0)
            if self.folded
            else ALL_GATES
        )
        self.has_digit = (_ASCII_DIGIT if ascii else _DIGIT).search(text) is not None


class Caseless:
    """A case-insensitive pattern, run the fast way where it can be.

    On a folded text (see Prepared) the pattern runs case-sensitively on the lower-cased copy,
    which the regex engine does several times faster than IGNORECASE matching. Other texts get
    the IGNORECASE pattern on the original. `source` must spell its letters in
    lower case. Matches give offsets; read matched text from `prepared.text`, not the match.
    """

    __slots__ = ("_folded", "_ignorecase")

    def __init__(self, source: str, flags: int = 0) -> None:
        self._folded = re.compile(source, flags)
        self._ignorecase = re.compile(source, flags | re.IGNORECASE)

    def finditer(self, prepared: Prepared) -> Iterator[re.Match[str]]:
        if prepared.folded:
            return self._folded.finditer(prepared.lowered)
        return self._ignorecase.finditer(prepared.text)

    @property
    def pattern(self) -> str:
        return self._folded.pattern
