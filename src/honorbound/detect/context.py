"""Context words read on both sides of a candidate.

A nine-digit number is a social security number only when someone said so; a Luhn-valid
sixteen-digit number after "order number" is an order number. The words of a text are looked
up once (one C-speed pass for the words, one dict lookup each) and every candidate reads the
classes named within LEFT characters before it and RIGHT characters after it.
"""

from __future__ import annotations

import bisect
import re
from typing import Final

from honorbound.detect.prepared import Prepared

LEFT: Final = 56
RIGHT: Final = 28

_WORDS: dict[str, str] = {}


def _add(kind: str, words: str) -> None:
    for word in words.split():
        _WORDS[word] = kind


_add("card", "card cards credit debit visa mastercard master amex discover cc tarjeta pan")
_add("cvv", "cvv cvv2 cvc cvc2 cid csc security verification seguridad")
_add("expiry", "exp expiry expires expiration expiring expire expired thru vence vencimiento")
_add("ssn", "ssn social ss seguro")
_add("itin", "itin taxpayer tax")
_add(
    "phone",
    "phone cell cellphone mobile call callback reach text tel telephone fax landline "
    "teléfono telefono celular número numero whatsapp",
)
_add("dob", "born birth dob birthday birthdate nacimiento nací naci")
_add("account", "account acct checking savings cuenta")
_add("routing", "routing aba rtn transit")
_add("license", "license licence dl licencia")
_add("passport", "passport pasaporte")
_add(
    "medical",
    "medical mrn member insurance policy subscriber medicaid medicare patient",
)
_add(
    "negative",
    "order orders ticket case reference ref confirmation invoice tracking transaction receipt "
    "sku serial model item items amount balance total price usd dollar dollars cents points "
    "miles minutes hours seconds days pedido factura orden ext extension version zip postal "
    "claim",
)
_KNOWN: Final = frozenset(_WORDS)
_KNOWN_ASCII: Final = frozenset(word.encode("ascii") for word in _KNOWN if word.isascii())


def words_of(kind: str) -> frozenset[str]:
    """The context words of one class ("expiry": "exp", "expires", ...)."""
    return frozenset(word for word, named in _WORDS.items() if named == kind)


# Words that name an identifier only together with the next word ("security code", not
# "Security Corp."; "insurance id", not "Progressive Insurance Group").
_ID_WORDS: Final = ("id", "number", "no", "num", "#")
_NEEDS_NEXT: dict[str, tuple[str, ...]] = {
    # "security number" is what people call a social security number, not a card code.
    "security": ("code",),
    "verification": ("code", "number", "value"),
    "seguridad": ("code",),
    "medical": ("record", "records"),
    "member": _ID_WORDS,
    "insurance": _ID_WORDS,
    "policy": _ID_WORDS,
    "subscriber": _ID_WORDS,
    "patient": _ID_WORDS,
    "tax": ("id", "identification", "number"),
    # "update my account" says nothing about the number next to it; "account number" does.
    "account": ("number", "no", "num", "#", "numbers"),
    "acct": ("number", "no", "num", "#"),
    "cuenta": ("número", "numero", "de"),
}
_NEXT_WORD: Final = re.compile(r"[\s'’]*(#|[^\W\d_]+)")
_MONEY: Final = frozenset("$€£¥")
_SENTENCE_END: Final = re.compile(r"[.!?;](?:\s|$)|\n")


class Index:
    """Positions of context words in one text."""

    __slots__ = ("_built", "_kinds", "_positions", "_prepared", "_text")

    def __init__(self, prepared: Prepared) -> None:
        # Built on first use: most texts never ask.
        self._text = prepared.text
        self._prepared = prepared
        self._built = False
        self._positions: list[int] = []
        self._kinds: list[str] = []

    def _build(self) -> None:
        self._built = True
        text = self._text
        lowered = self._prepared.lowered
        if len(lowered) != len(text):  # a rare character that lower-cases to two
            lowered = "".join(ch if len(ch.lower()) != 1 else ch.lower() for ch in text)
        # The words of the text were collected once (C-speed); only the few context words
        # among them are located (str.find), instead of a Python step per word.
        hits = self._prepared.words_among(_KNOWN, _KNOWN_ASCII)
        if not hits:
            return
        found: list[tuple[int, str]] = []
        size = len(lowered)
        for word in hits:
            kind = _WORDS[word]
            following = _NEEDS_NEXT.get(word)
            at = lowered.find(word)
            while at != -1:
                end = at + len(word)
                whole = (at == 0 or not lowered[at - 1].isalpha()) and (
                    end == size or not lowered[end].isalpha()
                )
                if whole:
                    nxt = _NEXT_WORD.match(lowered, end) if following is not None else None
                    if following is None or (nxt is not None and nxt.group(1) in following):
                        found.append((at, kind))
                at = lowered.find(word, end)
        found.sort()
        self._positions = [at for at, _ in found]
        self._kinds = [kind for _, kind in found]

    def around(self, start: int, end: int, left: int = LEFT, right: int = RIGHT) -> frozenset[str]:
        """Classes named within `left` characters before `start` or `right` after `end`."""
        if not self._built:
            self._build()
        positions = self._positions
        found = set()
        if positions:
            kinds = self._kinds
            lo = bisect.bisect_left(positions, start - left)
            # After the candidate, only its own sentence counts: "$1,611.44. License ..." and
            # "... 1234. Card ending ..." name what comes next, not what came before.
            stop = _SENTENCE_END.search(self._text, end, end + right)
            hi = bisect.bisect_left(positions, stop.start() if stop else end + right)
            found = {kinds[k] for k in range(lo, hi) if not (start <= positions[k] < end)}
        if not _MONEY.isdisjoint(self._text[max(0, start - 2) : start]):
            found.add("negative")
        return frozenset(found)

    def left(self, start: int, width: int = LEFT) -> frozenset[str]:
        if not self._built:
            self._build()
        lo = bisect.bisect_left(self._positions, start - width)
        hi = bisect.bisect_left(self._positions, start)
        return frozenset(self._kinds[lo:hi])
