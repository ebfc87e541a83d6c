"""Intents other parts of Honorbound act on, reported as findings with spans:

- OPT_OUT_REQUEST: the person asks not to be contacted ("stop calling me", "take me off your
  list", "don't text me again", "no más"); the consent ledger records it.
- RIGHTS_REQUEST: the person asks to delete, see, correct or stop the sale of their data
  ("delete my information", "I want a copy of my data"); rights intake opens a request.

English and Spanish basics. Phrases, not single words: "stop" alone is handled by the SMS
keyword rules in `consent`, where the channel is known.
"""

from __future__ import annotations

import re
from typing import Final

from honorbound.detect.digits import trie
from honorbound.detect.findings import Finding
from honorbound.detect.prepared import Caseless, Prepared, word_gate

OPT_OUT: Final = "OPT_OUT_REQUEST"
RIGHTS: Final = "RIGHTS_REQUEST"

_ME: Final = r"(?:me|us|this\s+number|my\s+(?:number|phone|cell|email))"
_CONTACT: Final = (
    r"(?:call(?:ing)?|text(?:ing)?|e-?mail(?:ing)?|contact(?:ing)?|messag(?:e|ing)|bother(?:ing)?)"
)
_LIST: Final = r"(?:your|the|this|all|any)\s+(?:\w+\s+){0,2}?list(?:s)?"
_DATA: Final = (
    r"(?:personal\s+)?(?:information|info|data|details|records?|account|file|"
    r"personal\s+information)"
)

_PATTERNS: dict[str, tuple[str, ...]] = {
    OPT_OUT: (
        rf"stop\s+{_CONTACT}\s+{_ME}",
        rf"(?:don't|do\s+not|dont|never|quit|please\s+stop)\s+{_CONTACT}\s+{_ME}"
        r"(?:\s+(?:again|anymore|any\s+more|ever\s+again))?",
        rf"(?:take|remove|delete|put)\s+{_ME}\s+(?:off|from|on)\s+{_LIST}",
        r"(?:add|put)\s+me\s+(?:to|on)\s+(?:your|the)\s+do[\s-]+not[\s-]+call\s+list",
        r"do[\s-]+not[\s-]+call\s+list",
        r"unsubscribe(?:\s+me)?",
        r"opt\s+(?:me\s+)?out(?:\s+of\s+(?:calls|texts|messages|emails|marketing))?",
        r"(?:i\s+)?(?:don't|do\s+not)\s+want\s+(?:any\s+more|more|these|your)\s+"
        r"(?:calls|texts|messages|emails)",
        r"no\s+m[aá]s(?:\s+llamadas|\s+mensajes)?",
        r"no\s+me\s+(?:llame[ns]?|vuelva[ns]?\s+a\s+llamar|escrib[ae]n?|manden\s+mensajes)",
        r"dej[ae]n?\s+de\s+(?:llamarme|escribirme|mandarme\s+mensajes)",
        r"no\s+quiero\s+(?:m[aá]s\s+)?(?:llamadas|mensajes|correos)",
        r"(?:s[aá]qu[ae]n?me|b[oó]rr[ae]n?me|qu[ií]t[ae]n?me)\s+de\s+(?:su|la|sus)\s+list[ae]s?",
    ),
    RIGHTS: (
        rf"(?:delete|erase|remove|destroy|purge|wipe)\s+(?:all\s+)?(?:of\s+)?my\s+{_DATA}",
        r"(?:delete|erase|close)\s+my\s+account",
        rf"(?:a\s+)?copy\s+of\s+(?:all\s+)?(?:of\s+)?my\s+{_DATA}",
        r"(?:what|which)\s+(?:personal\s+)?(?:data|information|info)\s+(?:do\s+you\s+have|"
        r"you\s+have|have\s+you\s+(?:got|collected))\s+(?:on|about)\s+me",
        rf"(?:access|see|view|download|export)\s+(?:all\s+)?(?:of\s+)?my\s+{_DATA}",
        r"(?:correct|update|fix)\s+(?:my\s+)?(?:personal\s+)?(?:information|data|records?)",
        r"(?:do\s+not|don't)\s+(?:sell|share)\s+(?:or\s+share\s+)?my\s+(?:personal\s+)?"
        r"(?:information|info|data)",
        r"opt\s+out\s+of\s+(?:the\s+)?(?:sale|selling|sharing)",
        r"right\s+to\s+(?:know|delete|access|correct|be\s+forgotten|erasure)",
        r"(?:borr(?:ar|en|es|e|a)|elimin(?:ar|en|es|e|a))\s+(?:toda\s+)?(?:mi|mis)\s+"
        r"(?:informaci[oó]n|datos)",
        r"(?:una\s+)?copia\s+de\s+(?:mis\s+datos|mi\s+informaci[oó]n)",
        r"(?:no\s+vendan|no\s+compartan)\s+(?:mis\s+datos|mi\s+informaci[oó]n)",
    ),
}

_COMPILED: Final = [
    (kind, Caseless(rf"(?<![A-Za-z])(?:{'|'.join(parts)})(?![A-Za-z])"))
    for kind, parts in _PATTERNS.items()
]


# Cheap gates on the lower-cased text: a text without any of these cannot match the kind's
# phrases, and most texts have none.
_STEMS: Final = {
    OPT_OUT: ("stop ", "don't ", "do not ", "dont ", "never ", "quit ", " off ", " from ",
              "do not call", "do-not-call", "unsubscri", "opt ", "no m", "no me ", "dej",
              "no quiero", "quen", "quit"),
    RIGHTS: ("delete", "erase", "remove", "destroy", "purge", "wipe", "close my", "copy of",
             "on me", "about me", "access my", "see my", "view my", "download my", "export my",
             "correct", "update my", "fix my", "sell", "share", "opt out", "right to", "borr",
             "elimin", "copia", "vendan", "compartan"),
}  # fmt: skip


# Before those, word gates (see prepared.py): every phrase of a kind holds the words of one of
# its alternatives, one word of each set, whole ("e-mail" gives "mail", "más" gives "m").
_CONTACT_WORDS: Final = (
    "call calling text texting email emailing mail mailing contact contacting message messaging "
    "bother bothering"
)
_OPT: Final = word_gate("opt")
_WORD_GATES: dict[str, tuple[tuple[int, ...], ...]] = {
    OPT_OUT: (
        (word_gate(_CONTACT_WORDS), word_gate("stop don do dont never quit")),
        (word_gate("list lists unsubscribe mas m quiero lista liste listas listes"),),
        (_OPT, word_gate("out")),
        (word_gate("want"), word_gate("calls texts messages emails")),
        (
            word_gate(
                "llame llamen llames vuelva vuelvan vuelvas escriba escribe escriban escriben "
                "manden llamarme escribirme mandarme"
            ),
        ),
    ),
    RIGHTS: (
        (
            word_gate(
                "delete erase remove destroy purge wipe close copy access see view download "
                "export sell share"
            ),
            word_gate("my"),
        ),
        (word_gate("what which"), word_gate("me")),
        (word_gate("correct update fix"), word_gate("information data record records")),
        (_OPT, word_gate("out")),
        (word_gate("right"), word_gate("to")),
        (
            word_gate(
                "borrar borren borres borre borra eliminar eliminen elimines elimine elimina "
                "copia vendan compartan"
            ),
        ),
    ),
}
# Each alternative as one mask: the text must have all of its gates open.
_MASKS: Final = {
    kind: tuple(sum(bits) for bits in alternatives) for kind, alternatives in _WORD_GATES.items()
}


# Then phrase gates on an ASCII text's spaced words (Prepared.spaced): every phrase of a kind
# holds one of these word sequences, its words joined by single spaces there ("don't call
# me" gives " t call "; "do-not-call list" gives " do not call list "). Derived from _PATTERNS
# alternative by alternative: keep the two in step.
_DATA_WORDS: Final = "information info data details record records account file personal"


def _phrases(*groups: tuple[str, str]) -> re.Pattern[bytes]:
    """A search for ` a b ` for any word sequence `a` of the first and `b` of the second of a
    group (sequences split on "|"), the sequences factored into a trie: one C pass that stops
    at spaces only."""
    said: list[str] = []
    for before, after in groups:
        for a in before.split("|"):
            for b in after.split("|"):
                said.append(f"{a} {b}".strip())
    return re.compile(f" {trie(said)} ".encode("ascii"))


_CONTACT_ALTS: Final = "|".join(
    ["call", "calling", "text", "texting", "email", "emailing", "e mail", "e mailing"]
    + ["contact", "contacting", "message", "messaging", "bother", "bothering"]
)
_PHRASES: Final = {
    OPT_OUT: _phrases(
        # stop / don't / do not / dont / never / quit / please stop + a contact word
        ("stop|t|not|dont|never|quit", _CONTACT_ALTS),
        # take / remove / delete / put + me + off / from / on + ... list
        ("list|lists", ""),
        # "do not call list", "unsubscribe", "opt (me) out"
        ("unsubscribe", ""),
        ("opt out|opt me out", ""),
        # (i) don't / do not want ... calls / texts / messages / emails
        ("t want|not want", ""),
        # no más / no me ... / no quiero; dejen de llamarme ...; sáquenme de su lista
        ("no mas|no me|no quiero", ""),
        ("de", "llamarme|escribirme|mandarme"),
        ("de su|de la|de sus", "lista|liste|listas|listes"),
    ),
    RIGHTS: _phrases(
        # delete / copy of / access ... my (personal) information ...; close my account;
        # don't sell my (personal) information
        ("my", _DATA_WORDS.replace(" ", "|")),
        # what data do you have on / about me
        ("on|about", "me"),
        # correct / update / fix (my) (personal) information / data / record(s)
        ("correct|update|fix|my|personal", "information|data|record|records"),
        ("opt out of", ""),
        ("right to", ""),
        # borrar mis datos; una copia de mi información; no vendan mis datos
        ("mi|mis", "informacion|datos"),
    ),
}


_GATES: Final = {
    kind: re.compile("|".join(re.escape(stem) for stem in stems)) for kind, stems in _STEMS.items()
}


def intents(out: list[Finding], prepared: Prepared) -> None:
    text = prepared.text
    gates = prepared.gates
    for kind, pattern in _COMPILED:
        for mask in _MASKS[kind]:
            if gates & mask == mask:
                break
        else:
            continue  # no alternative has all its words
        spaced = prepared.spaced()
        if spaced is not None and not _PHRASES[kind].search(spaced):
            continue
        if not _GATES[kind].search(prepared.lowered):
            continue
        for m in pattern.finditer(prepared):
            out.append(Finding(kind, m.start(), m.end(), 0.9, text[m.start() : m.end()]))
