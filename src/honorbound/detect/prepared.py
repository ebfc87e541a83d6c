"""A text made ready once for every family of detectors.

Every family used to lower-case the text and run its own gate pattern before its real
patterns; on short texts (a chat line is ~75 characters) those passes were most of the cost.
Now the text is lower-cased once and its words are collected once, and looked up once in a
table of gate words: each family registered, at import, the words one of which every text its
patterns can match must hold (`word_gate`), and reads one bit of `Prepared.gates` to know
whether to run at all.

The word gates are exact: a text's words are the maximal runs of ASCII letters of its
lower-cased copy, the same boundaries the patterns' `(?<![A-Za-z])` / `(?![A-Za-z])` use, and
a text holding a character that case-folds into an ASCII letter has every gate open. An ASCII
text (nearly all of them) is split into words as bytes: one C-speed `translate` that turns
every non-letter into a space, then `split`, about twice as fast as a regex pass.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Final

_ASCII_WORD: Final = re.compile(r"[a-z]+")
_WORD: Final = re.compile(r"[^\W\d_]+")
_DIGIT: Final = re.compile(r"\d")
# ASCII letters lower-cased, every other byte a space; and every byte but the ten digits.
_LETTERS_ONLY: Final = bytes(
    c + 32 if 65 <= c <= 90 else c if 97 <= c <= 122 else 32 for c in range(256)
)
_NOT_DIGITS: Final = bytes(c for c in range(256) if not 48 <= c <= 57)

_GATE_BITS: Final[dict[str, int]] = {}  # word -> the bits of the gates it opens
_GATE_WORDS: Final[set[str]] = set()
_GATE_BITS_ASCII: Final[dict[bytes, int]] = {}  # the same, for words split as bytes
_GATE_WORDS_ASCII: Final[set[bytes]] = set()
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
        if word.isascii():
            raw = word.encode("ascii")
            _GATE_BITS_ASCII[raw] = _GATE_BITS_ASCII.get(raw, 0) | bit
            _GATE_WORDS_ASCII.add(raw)
    return bit


# The only characters outside ASCII that case-fold into ASCII letters (İ ı ſ and the Kelvin
# sign): a text holding one has every gate open and gets case-insensitive patterns.
_UNFOLDABLE: Final = frozenset("\u0130\u0131\u017f\u212a")


# Texts longer than this get no spaced copy (Prepared.spaced): calls and chats are far shorter.
SPACED_MAX: Final = 200_000


class Prepared:
    """`text`, its lower-cased copy, its words, its open gates and whether it holds a digit.

    `folded` says the lower-cased copy stands for the text: same length (so same offsets) and
    no character that case-folds into an ASCII letter. Then case-insensitive patterns run on
    the copy, and the gates are read from its ASCII-letter words. Accented letters are not ASCII
    letters, so "Pálffy" gives the words "p" and "lffy": gates list such pieces where a pattern
    holds an accented word ("más" -> "m").

    The words are `ascii_words` (bytes) for an ASCII text, else `words` (whole words in any
    script, for the context index); `words_among` reads either.
    """

    __slots__ = (
        "_spaced",
        "ascii",
        "ascii_words",
        "folded",
        "gates",
        "has_digit",
        "lowered",
        "text",
        "words",
    )

    def __init__(self, text: str, shortcuts: bool = True) -> None:
        """`shortcuts=False` takes none of the fast paths (every gate open, Unicode and
        case-insensitive patterns on the original text): the reference the tests hold the
        fast paths to."""
        self.text = text
        self.lowered = lowered = text.lower()
        self.ascii = shortcuts and text.isascii()
        gates = 0
        if self.ascii:
            self.folded = True
            raw = text.encode("ascii")
            self.ascii_words: list[bytes] = raw.translate(_LETTERS_ONLY).split()
            self.words: list[str] = []
            for word in _GATE_WORDS_ASCII.intersection(self.ascii_words):
                gates |= _GATE_BITS_ASCII[word]
            self.has_digit = len(raw.translate(None, _NOT_DIGITS)) > 0
        else:
            self.folded = shortcuts and len(lowered) == len(text) and _UNFOLDABLE.isdisjoint(text)
            self.ascii_words = []
            self.words = _WORD.findall(lowered)
            if self.folded:
                for name in _GATE_WORDS.intersection(_ASCII_WORD.findall(lowered)):
                    gates |= _GATE_BITS[name]
            else:
                gates = ALL_GATES
            self.has_digit = _DIGIT.search(text) is not None
        self.gates = gates
        self._spaced: bytes | None = None

    def spaced(self) -> bytes | None:
        """An ASCII text's words, lower case, each between single spaces (" my name is ... "),
        or None for other texts. A phrase whose words a pattern joins by whitespace or other
        non-letters appears here as its words joined by single spaces, so `b" stop calling "
        not in spaced()` proves no such phrase is in the text: the phrase gates of the
        families. Built on first use; None past SPACED_MAX characters (every phrase gate
        open), so a 10 MB line does not hold a second copy of its words."""
        if not self.ascii or len(self.text) > SPACED_MAX:
            return None
        if self._spaced is None:
            self._spaced = b" " + b" ".join(self.ascii_words) + b" "
        return self._spaced

    def words_among(self, known: frozenset[str], known_ascii: frozenset[bytes]) -> list[str]:
        """The words of the text that are in `known` (`known_ascii`: the same, as bytes)."""
        if self.ascii:
            return [word.decode("ascii") for word in known_ascii.intersection(self.ascii_words)]
        return list(known.intersection(self.words))


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


# Unicode's \s on ASCII characters: re.ASCII's \s lacks the four separators \x1c-\x1f.
_SPACES: Final = r"\t\n\x0b\x0c\r\x1c-\x1f "


def ascii_source(source: str) -> str:
    r"""`source` for re.ASCII with Unicode's meaning of \s kept (spelled out, in or out of a
    character class). \d and \w mean the same on ASCII text either way."""
    out: list[str] = []
    in_class = False
    k = 0
    while k < len(source):
        ch = source[k]
        if ch == "\\" and k + 1 < len(source):
            pair = source[k : k + 2]
            if pair == "\\s":
                out.append(_SPACES if in_class else f"[{_SPACES}]")
            else:
                out.append(pair)
            k += 2
            continue
        if ch == "[" and not in_class:
            in_class = True
            out.append(ch)
            if source[k + 1 : k + 2] == "^":
                out.append("^")
                k += 1
            if source[k + 1 : k + 2] == "]":  # a literal "]" first in the class
                out.append("]")
                k += 1
        elif ch == "]" and in_class:
            in_class = False
            out.append(ch)
        else:
            out.append(ch)
        k += 1
    return "".join(out)


class Twin:
    r"""A pattern and its ASCII twin, which matches the same on ASCII text, faster: compiled
    with re.ASCII, \d and \w are checked inline instead of through the Unicode tables."""

    __slots__ = ("_ascii", "_unicode")

    def __init__(self, source: str, flags: int = 0) -> None:
        self._unicode = re.compile(source, flags)
        self._ascii = re.compile(ascii_source(source), flags | re.ASCII)

    def pick(self, prepared: Prepared) -> re.Pattern[str]:
        return self._ascii if prepared.ascii else self._unicode
