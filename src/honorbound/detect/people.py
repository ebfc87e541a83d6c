"""PERSON: self-introductions, agent greetings, titles, names spelled letter by letter, and
capitalised first + last names from the shipped name lists (`data/first_names.txt`,
`data/last_names.txt`).

Speech-to-text often writes everything in lower case, so after an introduction cue ("my name
is", "this is", "you're speaking with") the following words are taken as a name when they are
capitalised or on the name lists; a capitalised pair needs its first word on the first-name
list, so "Thank You" or "Main Street" are not people.
"""

from __future__ import annotations

import re
from typing import Final

from honorbound.detect.digits import trie
from honorbound.detect.findings import Finding
from honorbound.detect.prepared import Caseless, Prepared, word_gate
from honorbound.detect.resources import words

PERSON: Final = "PERSON"

_STRONG_CUE: Final = Caseless(
    r"(?<![A-Za-z])(?:my\s+name\s+is|my\s+name's|name\s+is|names\s+is|the\s+name\s+is|"
    r"(?:you're|you\s+are)\s+speaking\s+(?:with|to)|speaking\s+with|ask\s+for|"
    r"me\s+llamo|mi\s+nombre\s+es|first\s+name\s+is|last\s+name\s+is|"
    r"account\s+holder\s+is|cardholder\s+is|card\s+holder\s+is|"
    r"signed|sincerely|regards|dear)[,:]?\s+",
)
_WEAK_CUES: Final = (
    "this is|it's|it is|i'm|i am|i m|hi|hello|hey|thanks|thank you|soy|habla|dear|ask for|"
    "talk to|speak to|speak with"
)
# The cues factored into a trie whose branches each start with a plain letter, the "not after
# a letter" check just after it (as in digits.trie): the regex engine then skips in C to the
# few letters that start a cue instead of trying the lookbehind at every position. The words
# of a cue are joined by \s+ as before.
_WEAK_CUE: Final = Caseless(
    trie(_WEAK_CUES.split("|"), first=r"(?<![a-z].)").replace("\\ ", r"\s+") + r"[,:]?\s+"
)
_TITLE: Final = re.compile(
    r"(?<![A-Za-z])(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Sr|Sra|Srta|Mister|Doctor|Señor|Señora)\.?\s+"
    r"(?=[A-Z])",
)
_NAME_WORD: Final = re.compile(r"[A-Za-zÀ-ÖØ-öø-ÿ][A-Za-zÀ-ÖØ-öø-ÿ'\-]{0,24}")
_CAP_PAIR: Final = re.compile(
    r"[A-Z](?<![A-Za-zÀ-ÖØ-öø-ÿ][A-Z])[a-zà-öø-ÿ]{1,20}(?:\s+[A-Z]\.)?\s+[A-Z][a-zà-öø-ÿ'\-]{1,24}"
    r"(?:-[A-Z][a-zà-öø-ÿ]{1,24})?"
)
_SPELL_CUE: Final = Caseless(
    r"(?<![A-Za-z])(?:spelled|spelt|spelling|spell|that's|that\s+is|it's)[,:]?\s+",
)
_SPELLED: Final = re.compile(r"[A-Za-z](?:(?:\s|\s?-\s?|\.\s?|,\s)[A-Za-z](?![A-Za-z])){2,24}")

# Phonetic spelling: "m as in mary", "s like sam", "b de burro", or the NATO alphabet.
_NATO: Final = (
    "alpha|alfa|bravo|charlie|delta|echo|foxtrot|golf|hotel|india|juliett|juliet|kilo|lima|"
    "mike|november|oscar|papa|quebec|romeo|sierra|tango|uniform|victor|whiskey|whisky|x-ray|"
    "xray|yankee|zulu"
)
_PHONETIC_LETTER: Final = r"[a-z]\s(?:as\s+in|like|for|de|como)\s[a-z]{2,20}(?![a-z])"
_SPELL_UNIT: Final = rf"(?:{_PHONETIC_LETTER}|(?:{_NATO})(?![a-z])|[a-z](?![a-z'’]))"
_PHONETIC: Final = Caseless(
    rf"(?<![A-Za-z'’]){_SPELL_UNIT}(?:(?:[\s,]{{1,2}}|\s(?:then|and|y)\s){_SPELL_UNIT}){{1,40}}"
)
_PHONETIC_CUE: Final = re.compile(r" (?:as in|like|for|de|como) ")
_CUE_SCAN: Final = re.compile(r"\s(?:as\s+in|like|for|de|como)\s[a-z]")
_NATO_PAIR: Final = re.compile(rf"(?<![a-z])(?:{_NATO})[\s,]{{1,2}}(?:{_NATO})(?![a-z])")
_PHONETIC_WORDS: Final = word_gate("as like for de como")
_NATO_WORDS: Final = word_gate(_NATO.split("|"))
_NATO_SET: Final = frozenset(_NATO.split("|"))

_STOP: Final = words("name_stopwords.txt")


def _firsts() -> frozenset[str]:
    return words("first_names.txt")


def _lasts() -> frozenset[str]:
    return words("last_names.txt")


def _known(word: str) -> bool:
    title = word[:1].upper() + word[1:].lower()
    return title in _firsts() or title in _lasts()


def _take_name(text: str, position: int, strong: bool) -> tuple[int, int] | None:
    """The span of up to three name words starting at `position`, or None."""
    end = None
    count = 0
    cursor = position
    while count < 3:
        word = _NAME_WORD.match(text, cursor)
        if not word:
            break
        value = word.group()
        if value.lower() in _STOP:
            break
        capital = value[0].isupper()
        if count == 0 and not strong:
            if not (_known(value) and (capital or _firsts_has(value))):
                break
        elif not (capital or _known(value)):
            break
        end = word.end()
        count += 1
        if len(value) == 1 and text[end : end + 1] == ".":
            end += 1  # a middle initial
        if text[end : end + 1] == " ":
            cursor = end + 1
        else:
            break
    if end is None:
        return None
    return position, end


def _firsts_has(word: str) -> bool:
    return (word[:1].upper() + word[1:].lower()) in _firsts()


_STRONG_STEMS: Final = (
    "name", "speaking", "ask for", "llamo", "nombre", "holder", "signed", "sincerely",
    "regards", "dear",
)  # fmt: skip
# Gate for the weak cues, run on the lower-cased text: plain literals, so the regex engine
# skips in C to the next candidate first letter.
_WEAK_GATE: Final = re.compile(
    r"(?:this is |it's |it is |i'm |i am |i m |hi |hi, |hello|hey |hey, |thank|soy |habla |"
    r"dear |talk to |speak )"
)
_TITLE_STEMS: Final = ("Mr", "Ms", "Miss", "Mx", "Dr", "Prof", "Sr", "Mister", "Doctor", "Señ")
_SPELL_STEMS: Final = ("spel", "that", "it's")
_STRONG_GATE: Final = re.compile("|".join(map(re.escape, _STRONG_STEMS)))
_TITLE_GATE: Final = re.compile("|".join(map(re.escape, _TITLE_STEMS)))
_SPELL_GATE: Final = re.compile("|".join(map(re.escape, _SPELL_STEMS)))
# Word gates (see prepared.py): each cue holds one of these as a whole word.
_STRONG_WORDS: Final = word_gate(
    "name names speaking ask llamo nombre holder cardholder signed sincerely regards dear"
)
_WEAK_WORDS: Final = word_gate(
    "this is it i hi hello hey thanks thank soy habla dear ask talk speak"
)
# "se" for Señor/Señora ("ñ" is not an ASCII letter).
_TITLE_WORDS: Final = word_gate("mr mrs ms miss mx dr prof sr sra srta mister doctor se")
_SPELL_WORDS: Final = word_gate("spelled spelt spelling spell that it")
_LETTERS: Final = word_gate(list("abcdefghijklmnopqrstuvwxyz"))


# A capitalised pair starts with a listed first name; a weak cue counts only before a listed
# name. Every ASCII word of every listed name ("O'Brien" gives "o" and "brien") opens these.
def _name_pieces(names: frozenset[str]) -> set[str]:
    return {piece for name in names for piece in re.findall(r"[a-z]+", name.lower())}


_FIRST_WORDS: Final = word_gate(_name_pieces(_firsts()))
_NAME_PIECES: Final = frozenset(
    piece.encode("ascii") for piece in _name_pieces(_firsts() | _lasts())
)
_NAME_WORDS: Final = word_gate(_name_pieces(_firsts() | _lasts()))


def _weak_name_possible(spaced: bytes | None) -> bool:
    if spaced is None:
        return True
    return any(cue.group(1) in _NAME_PIECES for cue in _SPACED_WEAK.finditer(spaced))


# Phrase gates on an ASCII text's spaced words (Prepared.spaced). A spelled name (_SPELLED)
# is three or more letters in a row each a word of its own; a phonetic cue (_CUE_SCAN, with
# a lone letter before it) is a one-letter word, the cue's words, then a word.
_SPACED_SPELLING: Final = re.compile(
    rb" (?:spelled|spelt|spelling|spell|that s|that is|it s) [a-z] [a-z] [a-z] "
)
# A strong cue, its words whole ("name's" gives "name s").
_SPACED_STRONG: Final = re.compile(
    rb" (?:name is|name s|names is|speaking with|speaking to|ask for|me llamo|mi nombre es|"
    rb"holder is|cardholder is|signed|sincerely|regards|dear) "
)
# A weak cue and the first letters of the word after it: a name only counts there when that
# word is on the name lists, so its first piece is a piece of a listed name.
_SPACED_WEAK: Final = re.compile(
    rb" (?:this is|it s|it is|i m|i am|hi|hello|hey|thanks|thank you|soy|habla|dear|ask for|"
    rb"talk to|speak to|speak with)(?= ([a-z]+) )"
)
_SPACED_CUE: Final = re.compile(rb" [a-z] (?:as in|like|for|de|como) [a-z]")


def people(out: list[Finding], prepared: Prepared) -> None:
    text = prepared.text
    lowered = prepared.lowered
    gates = prepared.gates
    spaced = prepared.spaced()
    if (
        gates & _STRONG_WORDS
        and (spaced is None or _SPACED_STRONG.search(spaced))
        and _STRONG_GATE.search(lowered)
    ):
        _after(out, _STRONG_CUE, prepared, strong=True, score=0.85)
    if (
        gates & _WEAK_WORDS
        and gates & _NAME_WORDS
        and _WEAK_GATE.search(lowered)
        and _weak_name_possible(spaced)
    ):
        _after(out, _WEAK_CUE, prepared, strong=False, score=0.7)
    if gates & _TITLE_WORDS and _TITLE_GATE.search(text):
        for cue in _TITLE.finditer(text):
            span = _take_name(text, cue.end(), strong=True)
            if span:
                out.append(Finding(PERSON, cue.start(), span[1], 0.85, text[cue.start() : span[1]]))
    if gates & _FIRST_WORDS:
        _pairs(out, text)
    # "x as in word" holds a single letter and a cue word; NATO spelling holds NATO words.
    if (gates & _PHONETIC_WORDS and gates & _LETTERS) or gates & _NATO_WORDS:
        _phonetic(out, prepared)
    # A spelled name is single letters ("j o h n"), each a word of its own.
    if (
        gates & _SPELL_WORDS
        and gates & _LETTERS
        and (spaced is None or _SPACED_SPELLING.search(spaced))
        and _SPELL_GATE.search(lowered)
    ):
        for cue in _SPELL_CUE.finditer(prepared):
            spelled = _SPELLED.match(text, cue.end())
            if spelled:
                out.append(Finding(PERSON, spelled.start(), spelled.end(), 0.75, spelled.group()))


def _after(
    out: list[Finding], cues: Caseless, prepared: Prepared, strong: bool, score: float
) -> None:
    text = prepared.text
    for cue in cues.finditer(prepared):
        span = _take_name(text, cue.end(), strong=strong)
        if span:
            out.append(Finding(PERSON, span[0], span[1], score, text[span[0] : span[1]]))


def _pairs(out: list[Finding], text: str) -> None:
    firsts = _firsts()
    lasts = _lasts()
    for pair in _CAP_PAIR.finditer(text):
        value = pair.group()
        first, last = value.split()[0], value.split()[-1]
        if first not in firsts or last.lower() in _STOP:
            continue
        known_last = last in lasts or last.split("-")[0] in lasts
        out.append(Finding(PERSON, pair.start(), pair.end(), 0.8 if known_last else 0.65, value))


def _phonetic(out: list[Finding], prepared: Prepared) -> None:
    """Names spelled with words for the letters: at least one "x as in word", or two NATO
    words among the letters."""
    lowered = prepared.lowered if prepared.folded else prepared.text.lower()
    # Every spelling this finds holds a lone letter before a cue ("m as in"), or two NATO
    # words in a row. The cue search starts with a plain space, so the regex engine skips in C.
    found = False
    spaced = prepared.spaced()
    if prepared.gates & _PHONETIC_WORDS and (spaced is None or _SPACED_CUE.search(spaced)):
        for cue in _CUE_SCAN.finditer(lowered):
            at = cue.start()
            if at >= 1 and lowered[at - 1].isalpha() and (at < 2 or not lowered[at - 2].isalnum()):
                found = lowered[at - 2 : at - 1] not in ("'", "’")
                if found:
                    break
    if not found and not (prepared.gates & _NATO_WORDS and _NATO_PAIR.search(lowered)):
        return
    text = prepared.text
    for m in _PHONETIC.finditer(prepared):
        value = lowered[m.start() : m.end()]
        spelled = _PHONETIC_CUE.search(value) is not None
        nato = sum(1 for word in re.findall(r"[a-z\-]+", value) if word in _NATO_SET)
        if spelled or nato >= 2:
            out.append(Finding(PERSON, m.start(), m.end(), 0.75, text[m.start() : m.end()]))
