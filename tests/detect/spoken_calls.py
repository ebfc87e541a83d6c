"""A second call generator, for the "no partial value" guarantee (issue 16): English, Spanish
and code-switched calls in which a card, SSN, phone, email or date of birth is delivered the
way people deliver it, with values chosen to fail the validators real data often fails.

It is deliberately not `calls.py` (whose output `test_frozen.py` freezes): other phrasings,
Spanish number words (compound tens "cuarenta y uno", teens and twenties "once",
"veintidós", hundreds for years "mil novecientos sesenta y ocho"), code-switching (an English
frame with Spanish digits, or the other way), and values outside the easy ranges: phone
numbers with 555 and other non-assignable area codes or exchanges (N11, 0xx/1xx, 37x, 96x),
cards of several brands (Visa 13/16/19, Mastercard 51-55 and 2-series, Amex, Discover, JCB,
Diners), Faker SSNs, emails and dates of birth.

Delivery styles (`STYLES`): the value in one turn, split over turns with acknowledgements,
read back by the agent, echoed chunk by chunk, with fillers and self-corrections inside,
lower-case ASR without punctuation; labels vary per call (random names, "speaker 3", "spk_1",
none). Every gold piece is kept with its offsets, so a scorer can tell whether any of it is
left in clear.

Values come from Faker seeded by the caller: made up, never real people.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field

from faker import Faker

from tests.detect.calls import born_between

STYLES = ("one_turn", "split_acks", "read_back", "echo", "fillers", "correction", "asr")
ENTITIES = ("CREDIT_CARD", "US_SSN", "PHONE_NUMBER", "EMAIL_ADDRESS", "DATE_OF_BIRTH")
LANGS = ("en", "es", "en_es", "es_en")  # frame language _ digit language

EN_UNITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
EN_TEENS = [
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
EN_TENS = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
ES_UNITS = ("cero", "uno", "dos", "tres", "cuatro", "cinco", "seis", "siete", "ocho", "nueve")
ES_TEENS = [
    "diez",
    "once",
    "doce",
    "trece",
    "catorce",
    "quince",
    "dieciséis",
    "diecisiete",
    "dieciocho",
    "diecinueve",
]
ES_TWENTIES = [
    "veinte",
    "veintiuno",
    "veintidós",
    "veintitrés",
    "veinticuatro",
    "veinticinco",
    "veintiséis",
    "veintisiete",
    "veintiocho",
    "veintinueve",
]
ES_TENS = ["treinta", "cuarenta", "cincuenta", "sesenta", "setenta", "ochenta", "noventa"]
ES_HUNDREDS = [
    "cien",
    "doscientos",
    "trescientos",
    "cuatrocientos",
    "quinientos",
    "seiscientos",
    "setecientos",
    "ochocientos",
    "novecientos",
]
EN_MONTHS = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
]
ES_MONTHS = [
    "enero",
    "febrero",
    "marzo",
    "abril",
    "mayo",
    "junio",
    "julio",
    "agosto",
    "septiembre",
    "octubre",
    "noviembre",
    "diciembre",
]
EN_ORDINALS = [
    "first",
    "second",
    "third",
    "fourth",
    "fifth",
    "sixth",
    "seventh",
    "eighth",
    "ninth",
    "tenth",
    "eleventh",
    "twelfth",
    "thirteenth",
    "fourteenth",
    "fifteenth",
    "sixteenth",
    "seventeenth",
    "eighteenth",
    "nineteenth",
    "twentieth",
]

PROMPTS = {
    "CREDIT_CARD": {
        "en": ["my card number is", "the card is", "it's a visa", "card number"],
        "es": ["mi tarjeta es", "el número de la tarjeta es", "la tarjeta de crédito es"],
    },
    "US_SSN": {
        "en": ["my social is", "social security number is", "my ssn is"],
        "es": ["mi seguro social es", "el número de seguro social es"],
    },
    "PHONE_NUMBER": {
        "en": ["my phone is", "you can reach me at", "my cell is", "call me back at"],
        "es": ["mi número es", "mi teléfono es", "mi celular es", "mi número de teléfono es"],
    },
    "EMAIL_ADDRESS": {
        "en": ["my email is", "email address is", "send it to"],
        "es": ["mi correo es", "mi correo electrónico es", "el email es"],
    },
    "DATE_OF_BIRTH": {
        "en": ["my date of birth is", "i was born on", "dob is", "birthday is"],
        "es": ["mi fecha de nacimiento es", "nací el", "nací el día"],
    },
}
ACKS = {
    "en": ["okay", "mhm", "got it", "yes", "uh-huh", "okay go ahead", "right"],
    "es": ["sí", "ajá", "vale", "okay", "perfecto", "sí adelante"],
}
FILLERS = {"en": ["uh", "um", "uh", "hmm"], "es": ["eh", "este", "pues", "uh"]}
CORRECTIONS = {"en": ["no sorry", "sorry", "i mean", "wait no"], "es": ["no perdón", "perdón"]}
READ_BACK = {
    "en": ("let me read that back", "is that correct?"),
    "es": ("le repito", "¿es correcto?"),
}
CHAT = {
    "en": [
        "thanks for calling how can i help you",
        "i'm calling about my bill",
        "let me pull up your account",
        "sure no problem",
        "is there anything else",
        "thank you for your patience",
    ],
    "es": [
        "gracias por llamar en qué le puedo ayudar",
        "llamo por mi factura",
        "déjeme buscar su cuenta",
        "claro no hay problema",
        "algo más en que le pueda ayudar",
        "gracias por su paciencia",
    ],
}
# Area codes / exchanges real data holds that the numbering plan does not assign.
ODD_AREAS = ("555", "411", "911", "123", "012", "196", "370", "999")
AREAS = ("212", "305", "415", "512", "718", "787", "800", "939")


def luhn_complete(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        n = int(ch)
        if i % 2 == 0:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return body + str((10 - total % 10) % 10)


@dataclass
class SpokenCall:
    text: str
    entity: str
    style: str
    lang: str
    value: str  # the canonical value: digits, or the email address
    spans: list[tuple[str, int, int]] = field(default_factory=list)


class _Script:
    def __init__(self, rng: random.Random, lower: bool) -> None:
        self.rng = rng
        self.lower = lower
        self.parts: list[str] = []
        self.size = 0
        self.spans: list[tuple[str, int, int]] = []
        names = rng.choice(
            [
                ("Agent", "Customer"),
                ("agente", "cliente"),
                ("speaker 1", "speaker 2"),
                ("spk_0", "spk_1"),
                ("SPEAKER_00", "SPEAKER_01"),
                (rng.choice(["Ana", "Tom", "Rep", "Luis"]), rng.choice(["Caller", "Member"])),
                ("", ""),
            ]
        )
        self.labels = names

    def turn(self, who: int, *pieces: tuple[str, str | None]) -> None:
        label = self.labels[who]
        head = "" if not self.parts else "\n"
        if label:
            head += (label.lower() if self.lower else label) + ": "
        self._put(head)
        for k, (words, entity) in enumerate(pieces):
            if k:
                self._put(" ")
            if entity is None:
                if self.lower:
                    words = re.sub(r"[,.?!¿¡]", "", words.lower())
                self._put(words)
            else:
                self.spans.append((entity, self.size, self.size + len(words)))
                self._put(words)

    def _put(self, s: str) -> None:
        self.parts.append(s)
        self.size += len(s)

    @property
    def text(self) -> str:
        return "".join(self.parts)


def say_digit(d: str, lang: str, rng: random.Random) -> str:
    if lang == "es":
        return ES_UNITS[int(d)]
    if d == "0" and rng.random() < 0.4:
        return "oh"
    return EN_UNITS[int(d)]


def say_pair(pair: str, lang: str) -> str:
    """Two digits as one number word group ("41" -> "forty one" / "cuarenta y uno")."""
    n = int(pair)
    if pair[0] == "0":
        return ("cero " + ES_UNITS[n]) if lang == "es" else ("oh " + EN_UNITS[n])
    if lang == "es":
        if n < 10:
            return ES_UNITS[n]
        if n < 20:
            return ES_TEENS[n - 10]
        if n < 30:
            return ES_TWENTIES[n - 20]
        tens, unit = divmod(n, 10)
        return ES_TENS[tens - 3] + ("" if unit == 0 else " y " + ES_UNITS[unit])
    if n < 20:
        return EN_TEENS[n - 10]
    tens, unit = divmod(n, 10)
    return EN_TENS[tens - 2] + ("" if unit == 0 else " " + EN_UNITS[unit])


def say_group(group: str, lang: str, rng: random.Random, form: str) -> str:
    if form == "written":
        return group
    if form == "pairs" and len(group) == 3:
        return say_hundreds(group, lang, rng)
    if form == "pairs" and len(group) % 2 == 0:
        return " ".join(say_pair(group[k : k + 2], lang) for k in range(0, len(group), 2))
    return " ".join(say_digit(d, lang, rng) for d in group)


def say_year(year: int, lang: str) -> str:
    hi, lo = divmod(year, 100)
    if lang == "es":
        rest = "" if lo == 0 else " " + say_pair(f"{lo:02d}", "es").replace("cero ", "")
        return ("dos mil" if hi == 20 else "mil " + ES_HUNDREDS[hi % 10 - 1]) + rest
    if hi == 20 and lo < 10:
        return "two thousand" + ("" if lo == 0 else " " + EN_UNITS[lo])
    return say_pair(str(hi), "en") + " " + (say_pair(f"{lo:02d}", "en") if lo else "hundred")


def say_hundreds(group: str, lang: str, rng: random.Random) -> str:
    """A three-digit group as hundreds ("ochocientos", "ochocientos veinte", "eight hundred")
    where people say it so; other groups digit by digit."""
    if group[0] != "0" and lang == "es" and group[1] != "0":
        head = ES_HUNDREDS[int(group[0]) - 1]
        return ("ciento" if head == "cien" else head) + " " + say_pair(group[1:], "es")
    if group[0] != "0" and group[1:] == "00":
        return (
            ES_HUNDREDS[int(group[0]) - 1] if lang == "es" else EN_UNITS[int(group[0])] + " hundred"
        )
    return " ".join(say_digit(d, lang, rng) for d in group)


class Generator:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.fake = Faker("en_US")
        self.fake.seed_instance(seed)

    def card(self) -> tuple[str, list[int]]:
        rng = self.rng
        prefix, length = rng.choice(
            [
                ("4", 16),
                ("4", 16),
                ("4", 13),
                ("4", 19),
                (str(rng.randint(51, 55)), 16),
                (str(rng.randint(2221, 2720)), 16),
                (rng.choice(["34", "37"]), 15),
                ("6011", 16),
                (str(rng.randint(3528, 3589)), 16),
                ("36", 14),
            ]
        )
        body = prefix + "".join(str(rng.randint(0, 9)) for _ in range(length - len(prefix) - 1))
        number = luhn_complete(body)
        groups = {15: [4, 6, 5], 14: [4, 6, 4], 13: [4, 4, 5], 19: [4, 4, 4, 4, 3]}
        return number, groups.get(length, [4, 4, 4, 4])

    def phone(self) -> tuple[str, list[int]]:
        rng = self.rng
        area = rng.choice(ODD_AREAS) if rng.random() < 0.6 else rng.choice(AREAS)
        exchange = rng.choice(["555", "123", "011", "911", str(rng.randint(200, 999))])
        line = f"{rng.randint(0, 9999):04d}"
        return area + exchange + line, [3, 3, 4]

    def ssn(self) -> tuple[str, list[int]]:
        return str(self.fake.ssn()).replace("-", ""), [3, 2, 4]

    def call(self) -> SpokenCall:
        rng = self.rng
        entity = rng.choice(ENTITIES)
        lang = rng.choice(LANGS)
        frame, digit_lang = {"en": ("en", "en"), "es": ("es", "es"), "en_es": ("en", "es")}.get(
            lang, ("es", "en")
        )
        style = rng.choice(STYLES)
        lower = style == "asr" or rng.random() < 0.5
        script = _Script(rng, lower)
        agent, customer = 0, 1
        script.turn(agent, (rng.choice(CHAT[frame]), None))
        script.turn(customer, (rng.choice(CHAT[frame]), None))
        prompt = rng.choice(PROMPTS[entity][frame])
        if entity in ("EMAIL_ADDRESS", "DATE_OF_BIRTH"):
            value = self._say_other(script, entity, frame, digit_lang, style, prompt, customer)
        else:
            value = self._say_number(script, entity, frame, digit_lang, style, prompt)
        script.turn(agent, (rng.choice(CHAT[frame]), None))
        return SpokenCall(script.text, entity, style, lang, value, script.spans)

    def _say_number(
        self, script: _Script, entity: str, frame: str, lang: str, style: str, prompt: str
    ) -> str:
        rng = self.rng
        number, groups = {"CREDIT_CARD": self.card, "US_SSN": self.ssn}.get(entity, self.phone)()
        form = rng.choice(["words", "words", "pairs", "written", "mixed"])
        chunks: list[str] = []
        at = 0
        for size in groups:
            chunks.append(number[at : at + size])
            at += size

        def say(group: str) -> str:
            f = form if form != "mixed" else rng.choice(["words", "written", "pairs"])
            return say_group(group, lang, rng, f)

        agent, customer = 0, 1
        if style in ("one_turn", "asr"):
            script.turn(customer, (prompt, None), (" ".join(say(c) for c in chunks), entity))
        elif style == "split_acks":
            script.turn(customer, (prompt, None), (say(chunks[0]), entity))
            for chunk in chunks[1:]:
                script.turn(agent, (rng.choice(ACKS[frame]), None))
                script.turn(customer, (say(chunk), entity))
        elif style == "echo":
            script.turn(customer, (prompt, None), (say(chunks[0]), entity))
            for k, chunk in enumerate(chunks):
                script.turn(agent, (say(chunk), entity))
                if k + 1 < len(chunks):
                    script.turn(customer, (say(chunks[k + 1]), entity))
        elif style == "read_back":
            script.turn(customer, (prompt, None), (" ".join(say(c) for c in chunks), entity))
            head, tail = READ_BACK[frame]
            script.turn(
                agent, (head, None), (" ".join(say(c) for c in chunks), entity), (tail, None)
            )
            script.turn(customer, (rng.choice(ACKS[frame]), None))
        elif style == "fillers":
            pieces: list[tuple[str, str | None]] = [(prompt, None)]
            for k, chunk in enumerate(chunks):
                if k:
                    pieces.append((rng.choice(FILLERS[frame]), None))
                pieces.append((say(chunk), entity))
            script.turn(customer, *pieces)
        else:  # correction: a wrong digit said, then the group said again
            k = rng.randrange(len(chunks))
            wrong = str((int(chunks[k][0]) + 1) % 10)
            pieces = [(prompt, None)]
            for m, chunk in enumerate(chunks):
                if m == k:
                    pieces.append((say_group(wrong, lang, rng, "words"), entity))
                    pieces.append((rng.choice(CORRECTIONS[frame]), None))
                pieces.append((say(chunk), entity))
            script.turn(customer, *pieces)
        return number

    def _say_other(
        self,
        script: _Script,
        entity: str,
        frame: str,
        lang: str,
        style: str,
        prompt: str,
        customer: int,
    ) -> str:
        rng = self.rng
        if entity == "EMAIL_ADDRESS":
            user = re.sub(r"[^a-z0-9.]", "", str(self.fake.user_name()).lower()) or "maria"
            domain = rng.choice(["gmail.com", "yahoo.com", "hotmail.com", "outlook.com"])
            value = f"{user}@{domain}"
            if rng.random() < 0.3:
                said = value
            elif lang == "es":
                said = f"{user.replace('.', ' punto ')} arroba {domain.replace('.', ' punto ')}"
            else:
                said = f"{user.replace('.', ' dot ')} at {domain.replace('.', ' dot ')}"
        else:
            born = born_between(self.fake, 18, 85)
            value = f"{born.month:02d}{born.day:02d}{born.year}"
            choice = rng.random()
            if choice < 0.25:
                said = f"{born.month:02d}/{born.day:02d}/{born.year}"
            elif lang == "es":
                day = (
                    "primero"
                    if born.day == 1
                    else ES_UNITS[born.day]
                    if born.day < 10
                    else (say_pair(str(born.day), "es"))
                )
                if choice < 0.4:
                    said = f"{born.day} de {ES_MONTHS[born.month - 1]} de {born.year}"
                else:
                    said = f"{day} de {ES_MONTHS[born.month - 1]} de {say_year(born.year, 'es')}"
            else:
                day = (
                    EN_ORDINALS[born.day - 1]
                    if born.day <= 20 and rng.random() < 0.5
                    else (EN_UNITS[born.day] if born.day < 10 else say_pair(str(born.day), "en"))
                )
                said = f"{EN_MONTHS[born.month - 1]} {day} {say_year(born.year, 'en')}"
        if style == "read_back":
            script.turn(customer, (prompt, None), (said, entity))
            head, tail = READ_BACK[frame]
            script.turn(0, (head, None), (said, entity), (tail, None))
        else:
            script.turn(customer, (prompt, None), (said, entity))
        return value


def corpus(count: int, seed: int) -> list[SpokenCall]:
    generator = Generator(seed)
    return [generator.call() for _ in range(count)]


# An oracle of number words, independent of honorbound.detect.digits: the digits a stretch of
# output text still says, per contiguous run of number tokens.
_ORACLE: dict[str, str] = {w: str(i) for i, w in enumerate(EN_UNITS)}
_ORACLE.update({w: str(i) for i, w in enumerate(ES_UNITS)})
_ORACLE.update({"oh": "0", "o": "0"})
_ORACLE.update({w: str(10 + i) for i, w in enumerate(EN_TEENS)})
_ORACLE.update({w: str(10 + i) for i, w in enumerate(ES_TEENS)})
_ORACLE.update({"dieciseis": "16"})
_ORACLE.update({w: str(20 + i) for i, w in enumerate(ES_TWENTIES)})
_ORACLE.update(
    {w.replace("ó", "o").replace("é", "e"): str(20 + i) for i, w in enumerate(ES_TWENTIES)}
)
_TENS_ORACLE = {w: str(2 + i) for i, w in enumerate(EN_TENS)}
_TENS_ORACLE.update({w: str(3 + i) for i, w in enumerate(ES_TENS)})
_HUNDREDS_ORACLE = {w: str(1 + i) for i, w in enumerate(ES_HUNDREDS)}
_TOKEN = re.compile(r"\d+|[^\W\d_]+|<[A-Z_]+>|\S")


def surviving_digits(text: str) -> list[str]:
    """The digit strings of the runs of number tokens left in `text` (written digits, English
    and Spanish number words); a placeholder or any other word ends a run."""
    runs: list[str] = []
    current: list[str] = []
    tokens = [m.group().lower() for m in _TOKEN.finditer(text)]
    k = 0
    while k < len(tokens):
        token = tokens[k]
        k += 1
        if token.isdigit():
            current.append(token)
        elif token in _TENS_ORACLE:
            unit = ""
            nxt = tokens[k] if k < len(tokens) else ""
            if nxt == "y" and k + 1 < len(tokens):
                nxt = tokens[k + 1]
                if nxt in _ORACLE and len(_ORACLE[nxt]) == 1:
                    k += 1
            elif token in ES_TENS:
                nxt = ""  # "cuarenta cuatro" is 40 then 4: Spanish joins with "y" only
            if nxt in _ORACLE and len(_ORACLE[nxt]) == 1 and nxt not in ("oh", "o", "zero", "cero"):
                unit = _ORACLE[nxt]
                k += 1
            current.append(_TENS_ORACLE[token] + (unit or "0"))
        elif token in _HUNDREDS_ORACLE or token == "ciento":
            head = _HUNDREDS_ORACLE.get(token, "1")
            nxt = tokens[k] if k < len(tokens) else ""
            if nxt in _TENS_ORACLE or (nxt in _ORACLE and len(_ORACLE[nxt]) == 2):
                current.append(head)  # the tens word that follows gives two digits
            else:
                current.append(head + "00")
        elif token == "mil":
            current.append("1" if not current else "")
        elif token == "hundred":
            current.append("00")
        elif token in _ORACLE:
            current.append(_ORACLE[token])
        elif token in (",", "-", ".", "y"):
            continue
        else:
            if current:
                runs.append("".join(current))
            current = []
    if current:
        runs.append("".join(current))
    return runs


def leaked_digits(value: str, redacted: str, size: int = 4) -> list[str]:
    """Every digit sequence of `size` digits of `value` still said in `redacted`."""
    digits = re.sub(r"\D", "", value)
    said = surviving_digits(redacted)
    return sorted(
        {digits[k : k + size] for k in range(len(digits) - size + 1)}
        & {run[k : k + size] for run in said for k in range(len(run) - size + 1)}
    )
