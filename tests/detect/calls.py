"""A generator of contact-center calls in the ways people really deliver values.

Each call is a short dialogue (two speakers, labels in one of several transcript shapes) in
which one value (card, SSN, phone, email, date of birth, CVV) is delivered in one style:

- `one_turn`      the whole value in one turn;
- `two_lines`     split over two lines of the same speaker;
- `split_acks`    split across turns, the agent acknowledging between ("okay", "mhm");
- `echo`          the customer says a group, the agent repeats it, the customer goes on;
- `fillers`       "uh"/"um" inside the number, or a self-correction ("five no sorry six");
- `read_back`     delivered, then read back whole by the agent ("that's ... correct?").

Noise varies independently: speaker label shapes, ASR lower case without punctuation,
fillers, written digits or number words ("oh", "double"), the order of the turns around the
value. Gold spans are every piece of the value, read-backs and echoes included, so a scorer
can tell whether any of it is left in clear. Hard negatives (order, tracking, ticket numbers,
amounts, times, non-birth dates, balances, a zip code alone) carry no gold at all.

Used by tests/detect/test_conversation.py (Hypothesis picks the seeds) and bench/pii.py.
Values come from Faker with the caller's seed: made up, never real people.
"""

from __future__ import annotations

import datetime as dt
import random
import re
from dataclasses import dataclass, field

from faker import Faker

STYLES = ("one_turn", "two_lines", "split_acks", "echo", "fillers", "read_back")
ENTITIES = ("CREDIT_CARD", "US_SSN", "PHONE_NUMBER", "EMAIL_ADDRESS", "DATE_OF_BIRTH", "CVV")
# Styles that make sense for a value said in groups of digits.
_GROUPED = ("CREDIT_CARD", "US_SSN", "PHONE_NUMBER")

SPEAKERS = (
    ("Agent", "Customer"),
    ("AGENT", "CALLER"),
    ("Speaker 1", "Speaker 2"),
    ("speaker 0", "speaker 1"),
    ("spk_0", "spk_1"),
    ("Rep", "Member"),
    ("[Agent]", "[Customer]"),
)
WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
ACKS = ("okay", "mhm", "yes", "uh-huh", "got it", "ok go ahead", "right", "yeah", "okay next")
FILLERS = ("uh", "um", "uh", "erm", "hmm")
AREA_CODES = (212, 213, 305, 312, 404, 415, 469, 512, 602, 617, 702, 718, 808, 917, 971)
CHAT = (
    (
        "Thank you for calling, how can I help you today?",
        "I can help you with that.",
        "Let me pull up your account, bear with me.",
        "I see the charge from last week here.",
        "Is there anything else I can help you with today?",
        "I'm going to place you on a brief hold.",
        "Thanks for your patience.",
        "I understand, that's frustrating.",
        "Let me check that for you.",
        "It looks like the payment didn't go through.",
    ),
    (
        "Hi, yeah, I'm calling about my bill.",
        "I was charged twice this month.",
        "Sure, no problem.",
        "I've been a customer for a long time.",
        "I just want this fixed today.",
        "Okay, I can wait.",
        "I tried the app but it kept logging me out.",
        "Yes, that's the one.",
        "No, I don't think so.",
        "Great, thanks for your help.",
    ),
)
MONTHS = [
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
ONES = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
TEENS = [
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
TENS = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]


def number_words(n: int) -> str:
    """0-99 in words ("sixty eight", "oh five" is the caller's choice, not this one)."""
    if n < 10:
        return WORDS[n]
    if n < 20:
        return TEENS[n - 10]
    tens, unit = divmod(n, 10)
    return TENS[tens - 2] + ("" if unit == 0 else " " + ONES[unit - 1])


def luhn_complete(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        n = int(ch)
        if i % 2 == 0:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return body + str((10 - total % 10) % 10)


# The day ages are counted from: fixed, so the same seed gives the same calls on any day (Faker's
# date_of_birth counts from today, and tests/detect/test_frozen.py hashes the texts).
AGE_REFERENCE = dt.date(2026, 12, 1)


def born_between(fake: Faker, youngest: int, oldest: int) -> dt.date:
    """A birth date of someone aged `youngest` to `oldest` on AGE_REFERENCE."""
    latest = AGE_REFERENCE.replace(year=AGE_REFERENCE.year - youngest)
    earliest = AGE_REFERENCE.replace(year=AGE_REFERENCE.year - oldest - 1) + dt.timedelta(days=1)
    return fake.date_between_dates(date_start=earliest, date_end=latest)


@dataclass
class Call:
    text: str
    entity: str | None
    style: str
    spans: list[tuple[str, int, int]] = field(default_factory=list)

    @property
    def negative(self) -> bool:
        return self.entity is None


class _Script:
    """Turns being written, with the offsets of every gold piece."""

    def __init__(self, rng: random.Random, lower: bool) -> None:
        self.rng = rng
        self.lower = lower
        self.parts: list[str] = []
        self.size = 0
        self.spans: list[tuple[str, int, int]] = []
        self.speakers = rng.choice(SPEAKERS)
        self.line_open = False

    def _clean(self, words: str) -> str:
        if self.lower:
            words = re.sub(r"[,.?!]", "", words.lower())
        return words

    def turn(self, who: int, *pieces: tuple[str, str | None]) -> None:
        """One line: `pieces` are (text, entity or None); entity pieces are gold."""
        label = self.speakers[who]
        if self.lower and self.rng.random() < 0.5:
            label = label.lower()
        head = ("" if not self.parts else "\n") + (label if label.endswith("]") else label + ":")
        self._put(head + " ")
        for k, (words, entity) in enumerate(pieces):
            if k:
                self._put(" ")
            if entity is None:
                self._put(self._clean(words))
            else:
                value = words.lower() if self.lower and not re.search(r"\d", words) else words
                self.spans.append((entity, self.size, self.size + len(value)))
                self._put(value)

    def _put(self, s: str) -> None:
        self.parts.append(s)
        self.size += len(s)

    @property
    def text(self) -> str:
        return "".join(self.parts)


class Generator:
    """Calls, reproducible from a seed."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.fake = Faker("en_US")
        self.fake.seed_instance(seed)

    # --- values ------------------------------------------------------------------------------

    def card(self) -> tuple[str, list[int]]:
        kind = self.rng.choice(["visa16", "mastercard", "amex", "discover", "visa16"])
        number = str(self.fake.credit_card_number(card_type=kind))
        groups = [4, 6, 5] if len(number) == 15 else [4] * (len(number) // 4)
        return number, groups

    def ssn(self) -> tuple[str, list[int]]:
        return str(self.fake.ssn()).replace("-", ""), [3, 2, 4]

    def phone(self) -> tuple[str, list[int]]:
        rng = self.rng
        number = (
            str(rng.choice(AREA_CODES))
            + str(rng.randint(2, 9))
            + rng.choice([f"{n:02d}" for n in range(100) if n != 11])
            + f"{rng.randint(0, 9999):04d}"
        )
        return number, [3, 3, 4]

    # --- how digits are said -----------------------------------------------------------------

    def say(self, digits: str, written: bool) -> str:
        if written:
            return digits
        rng = self.rng
        out: list[str] = []
        i = 0
        while i < len(digits):
            ch = digits[i]
            if i + 1 < len(digits) and digits[i + 1] == ch and rng.random() < 0.25:
                out.append("double " + WORDS[int(ch)])
                i += 2
                continue
            out.append(("oh" if rng.random() < 0.6 else "zero") if ch == "0" else WORDS[int(ch)])
            i += 1
        return " ".join(out)

    def chunks(self, digits: str, groups: list[int]) -> list[str]:
        out, i = [], 0
        for g in groups:
            out.append(digits[i : i + g])
            i += g
        if i < len(digits):
            out[-1] += digits[i:]
        return out

    # --- calls -------------------------------------------------------------------------------

    def call(self, entity: str | None = None, style: str | None = None) -> Call:
        rng = self.rng
        if entity is None and style is None and rng.random() < 0.2:
            return self.negative()
        entity = entity or rng.choice(ENTITIES)
        if style is None:
            style = rng.choice(STYLES if entity in _GROUPED else ("one_turn", "fillers"))
        lower = rng.random() < 0.5
        script = _Script(rng, lower)
        self._opening(script)
        if entity in _GROUPED:
            self._grouped(script, entity, style)
        elif entity == "EMAIL_ADDRESS":
            self._email(script, style)
        elif entity == "DATE_OF_BIRTH":
            self._dob(script, style)
        else:
            self._cvv(script, style)
        self._closing(script)
        return Call(script.text, entity, style, script.spans)

    def _chat(self, script: _Script, size: int) -> None:
        """Small talk until the call is about `size` characters long (calls are 500-1,000)."""
        rng = self.rng
        who = rng.randrange(2)
        while script.size < size:
            script.turn(who, (rng.choice(CHAT[who]), None))
            who = 1 - who

    def _opening(self, script: _Script) -> None:
        rng = self.rng
        self._chat(script, rng.randint(100, 350))
        script.turn(
            0,
            (
                rng.choice(["Thank you for calling, how can I help?", "Hi, thanks for holding."]),
                None,
            ),
        )
        if rng.random() < 0.5:
            script.turn(
                1,
                (
                    rng.choice(
                        ["hi yeah I need to update my account", "I have a question about my bill"]
                    ),
                    None,
                ),
            )

    def _closing(self, script: _Script) -> None:
        # Calls of 500-1,000 characters: the length the throughput target is set on.
        self._chat(script, max(script.size + self.rng.randint(40, 200), self.rng.randint(520, 900)))
        if self.rng.random() < 0.6:
            script.turn(
                0,
                (
                    self.rng.choice(
                        ["Thank you, one moment.", "Great, you're all set.", "Perfect, thanks."]
                    ),
                    None,
                ),
            )

    def _grouped(self, script: _Script, entity: str, style: str) -> None:
        rng = self.rng
        if entity == "CREDIT_CARD":
            digits, groups = self.card()
            prompt = rng.choice(
                [
                    "Can I get the card number?",
                    "What's the long number on the card?",
                    "Go ahead with the card number.",
                ]
            )
        elif entity == "US_SSN":
            digits, groups = self.ssn()
            prompt = rng.choice(
                [
                    "Can you verify your social security number?",
                    "And your social?",
                    "I need the SSN on the account.",
                ]
            )
        else:
            digits, groups = self.phone()
            prompt = rng.choice(
                [
                    "What's the best phone number to reach you?",
                    "And a callback number?",
                    "Can I get your phone number?",
                ]
            )
        written = rng.random() < 0.3
        lead = rng.choice(["sure it's", "yeah", "it's", "okay", "uh it's"])
        chunks = self.chunks(digits, groups)
        said = [self.say(c, written) for c in chunks]
        script.turn(0, (prompt, None))
        if style == "one_turn":
            sep = rng.choice([" ", ", ", " ... "])
            script.turn(1, (lead, None), *self._pieces(said, entity, sep))
        elif style == "two_lines":
            cut = max(1, len(said) // 2)
            script.turn(1, (lead, None), *self._pieces(said[:cut], entity, " "))
            script.turn(1, *self._pieces(said[cut:], entity, " "))
        elif style in ("split_acks", "echo"):
            for k, chunk in enumerate(said):
                if k == 0:
                    script.turn(1, (lead, None), (chunk, entity))
                else:
                    script.turn(1, (chunk, entity))
                if k < len(said) - 1:
                    if style == "echo":
                        script.turn(
                            0, (chunk, entity), (rng.choice(["", "okay", "mhm", "got it"]), None)
                        )
                    else:
                        script.turn(0, (rng.choice(ACKS), None))
        elif style == "fillers":
            self._fill(script, entity, chunks, written, lead)
        else:  # read_back
            script.turn(1, (lead, None), *self._pieces(said, entity, rng.choice([" ", ", "])))
            back = [self.say(c, rng.random() < 0.3) for c in chunks]
            script.turn(
                0,
                (rng.choice(["Okay, that's", "Let me read that back,", "So I have"]), None),
                *self._pieces(back, entity, rng.choice([" ", ", ", " ... "])),
                (rng.choice(["correct?", "is that right?", "did I get that right?"]), None),
            )
            script.turn(1, (rng.choice(["yes", "yep that's it", "correct"]), None))

    def _pieces(self, said: list[str], entity: str, sep: str) -> list[tuple[str, str | None]]:
        # Adjacent groups are one piece of text (what lies between is a separator).
        return [(sep.join(said), entity)]

    def _fill(
        self, script: _Script, entity: str, chunks: list[str], written: bool, lead: str
    ) -> None:
        """Fillers or a self-correction inside the number, in one turn or across two."""
        rng = self.rng
        pieces: list[tuple[str, str | None]] = [(lead, None)]
        current: list[str] = []
        correction_done = False
        for k, chunk in enumerate(chunks):
            words = self.say(chunk, written).split(" ") if not written else [chunk]
            if (
                not written
                and not correction_done
                and rng.random() < 0.4
                and len(words) > 1
                and words[-2] != "double"
            ):
                # "five five five no sorry six": a wrong digit, then the right one.
                wrong = WORDS[(WORDS.index(words[-1]) + 1) % 10] if words[-1] in WORDS else "two"
                current.extend(words[:-1] + [wrong])
                pieces.append((" ".join(current), entity))
                pieces.append((rng.choice(["no sorry", "sorry", "no wait", "I mean"]), None))
                current = [words[-1]]
                correction_done = True
            elif k > 0 and rng.random() < 0.6:
                if current:
                    pieces.append((" ".join(current), entity))
                pieces.append((rng.choice(FILLERS), None))
                current = list(words)
                continue
            else:
                current.extend(words)
                continue
        if current:
            pieces.append((" ".join(current), entity))
        script.turn(1, *pieces)

    def _email(self, script: _Script, style: str) -> None:
        rng = self.rng
        first, last = self.fake.first_name().lower(), self.fake.last_name().lower()
        domain = rng.choice(["gmail", "yahoo", "outlook", "aol", "icloud", "hotmail"])
        tld = rng.choice(["com", "com", "net"])
        sep = rng.choice([" dot ", " underscore ", ""])
        number = rng.choice(["", "", str(rng.randint(1, 99))])
        form = rng.random()
        if form < 0.2:
            joint = sep.strip().replace("dot", ".").replace("underscore", "_")
            value = f"{first}{joint}{last}{number}@{domain}.{tld}"
        else:
            local_first = " ".join(first) if form < 0.4 else first
            value = f"{local_first}{sep or ' dot '}{last}{number} at {domain} dot {tld}"
        script.turn(0, (rng.choice(["And your email address?", "What email should we use?"]), None))
        lead = rng.choice(["it's", "sure it's", "yeah it's", "um it's"])
        script.turn(1, (lead, None), (value, "EMAIL_ADDRESS"))

    def _dob(self, script: _Script, style: str) -> None:
        rng = self.rng
        born = born_between(self.fake, 18, 90)
        month, day, year = born.month, born.day, born.year
        form = rng.random()
        year_words = (
            "nineteen "
            + (number_words(year % 100) if year % 100 >= 10 else "oh " + WORDS[year % 100])
            if year < 2000
            else (
                "two thousand "
                + (WORDS[year % 100] if year % 100 < 10 else number_words(year % 100))
            ).replace(" zero", "")
        )
        if form < 0.35:
            value = f"{MONTHS[month - 1]} {number_words(day)} {year_words}"
        elif form < 0.55:
            value = f"{MONTHS[month - 1]} {day} {year}"
        elif form < 0.75:
            value = f"{month:02d}/{day:02d}/{year}"
        else:
            value = (
                f"{self.say(f'{month:02d}', False)} {self.say(f'{day:02d}', False)} {year_words}"
            )
        script.turn(
            0,
            (
                rng.choice(
                    [
                        "Can I have your date of birth?",
                        "And your birthday?",
                        "What's your date of birth?",
                    ]
                ),
                None,
            ),
        )
        script.turn(
            1, (rng.choice(["it's", "sure", "uh", "yeah it's"]), None), (value, "DATE_OF_BIRTH")
        )

    def _cvv(self, script: _Script, style: str) -> None:
        rng = self.rng
        code = f"{rng.randint(0, 999):03d}"
        script.turn(
            0,
            (
                rng.choice(
                    [
                        "And the security code on the back?",
                        "What's the CVV?",
                        "The three digit security code please.",
                    ]
                ),
                None,
            ),
        )
        script.turn(
            1,
            (rng.choice(["it's", "sure", "uh"]), None),
            (self.say(code, rng.random() < 0.4), "CVV"),
        )

    # --- hard negatives ----------------------------------------------------------------------

    def negative(self) -> Call:
        rng = self.rng
        lower = rng.random() < 0.5
        script = _Script(rng, lower)
        self._opening(script)
        kind = rng.randrange(9)
        if kind == 0:
            number = str(rng.randint(10**7, 10**11))
            script.turn(
                0, ("Your order number is", None), (self.say(number, rng.random() < 0.5), None)
            )
        elif kind == 1:
            number = "1Z" + "".join(
                rng.choice("0123456789ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(16)
            )
            script.turn(0, (f"The tracking number is {number}.", None))
        elif kind == 2:
            number = str(rng.randint(10**5, 10**9))
            said = self.say(number, rng.random() < 0.5).split(" ")
            cut = len(said) // 2
            script.turn(0, ("Your ticket number is", None), (" ".join(said[:cut]), None))
            script.turn(1, ("okay", None))
            script.turn(0, (" ".join(said[cut:]), None))
        elif kind == 3:
            script.turn(
                0, (f"The total comes to ${rng.randint(1, 9999):,}.{rng.randint(0, 99):02d}.", None)
            )
        elif kind == 4:
            script.turn(
                0,
                (
                    f"I'll call you back at {rng.randint(1, 12)}:{rng.randint(0, 59):02d} pm, "
                    f"or around {number_words(rng.randint(1, 12))} "
                    f"{rng.choice(['thirty', 'fifteen', 'forty five'])}.",
                    None,
                ),
            )
        elif kind == 5:
            script.turn(
                0,
                (
                    f"Your appointment is on {rng.choice(MONTHS)} "
                    f"{number_words(rng.randint(1, 28))} at {rng.randint(1, 12)} pm.",
                    None,
                ),
            )
        elif kind == 6:
            script.turn(
                0,
                (f"Your balance is {rng.randint(100, 99999)}.{rng.randint(10, 99)} dollars.", None),
            )
        elif kind == 7:
            zipcode = f"{rng.randint(10000, 99999)}"
            script.turn(0, ("And your zip code?", None))
            script.turn(1, ("it's", None), (self.say(zipcode, rng.random() < 0.5), None))
        else:
            bad = luhn_complete(str(rng.randint(4 * 10**14, 5 * 10**14)))
            bad = bad[:-1] + str((int(bad[-1]) + 1) % 10)
            script.turn(
                0,
                ("Your reference number is", None),
                (" ".join(bad[i : i + 4] for i in range(0, 16, 4)), None),
            )
        self._closing(script)
        return Call(script.text, None, "negative", [])


def corpus(count: int, seed: int) -> list[Call]:
    gen = Generator(seed)
    return [gen.call() for _ in range(count)]
