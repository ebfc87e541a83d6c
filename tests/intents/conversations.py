"""A generator of conversations in which a customer asks (or does not ask) to stop being
contacted or to exercise a privacy right, with the truth of each: who speaks, which language,
how the request is phrased, ASR noise (lower case, no punctuation, fillers), and hard negatives
(the agent saying the words, negations, questions, suppositions).

Written for these tests from how such calls go, not from the detector's phrase list: each
phrasing here is one a customer might say; the detector must find it and `intents.said` must
read it right."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from faker import Faker

_fake = Faker("en_US")


@dataclass(frozen=True)
class Case:
    text: str
    channel: str  # of the interaction
    kind: str | None  # OPT_OUT_REQUEST | RIGHTS_REQUEST | None (nothing must act)
    opt_out_channel: str | None = None
    request_type: str | None = None
    why: str = ""


# (phrase, channel it concerns)
OPT_OUTS_EN = [
    ("stop calling me", "voice"),
    ("please stop calling me", "voice"),
    ("stop calling this number", "voice"),
    ("don't call me again", "voice"),
    ("do not call me anymore", "voice"),
    ("never call me again", "voice"),
    ("quit calling me", "voice"),
    ("stop texting me", "sms"),
    ("don't text me anymore", "sms"),
    ("stop messaging me", "sms"),
    ("stop emailing me", "email"),
    ("do not email me again", "email"),
    ("stop contacting me", "all"),
    ("take me off your list", "all"),
    ("remove me from your list", "all"),
    ("take my number off your calling list", "voice"),
    ("put me on your do not call list", "voice"),
    ("unsubscribe me", "all"),
    ("opt me out", "all"),
    ("i don't want any more calls", "voice"),
    ("i do not want these texts", "sms"),
]
OPT_OUTS_ES = [
    ("no me llamen más", "voice"),
    ("no me vuelvan a llamar", "voice"),
    ("dejen de llamarme", "voice"),
    ("no quiero más llamadas", "voice"),
    ("no quiero mensajes", "sms"),
    ("dejen de mandarme mensajes", "sms"),
    ("sáquenme de su lista", "all"),
    ("no me escriban", "all"),
]
RIGHTS_EN = [
    ("delete my data", "delete"),
    ("please delete all my personal information", "delete"),
    ("erase my information", "delete"),
    ("what information do you have on me", "access_categories"),
    ("what data do you have about me", "access_categories"),
    ("i want a copy of my data", "access_specific"),
    ("do not sell my information", "opt_out_sale"),
    ("don't share my personal data", "opt_out_sharing"),
]
RIGHTS_ES = [
    ("borren mis datos", "delete"),
    ("borra mis datos", "delete"),
    ("elimina toda mi información", "delete"),
    ("eliminen mi información", "delete"),
    ("quiero una copia de mis datos", "access_specific"),
    ("no vendan mis datos", "opt_out_sale"),
]
LEAD_INS = ["", "look, ", "honestly ", "yeah so ", "ok ", "i'm sorry but ", "um ", "uh, ", "and "]
LEAD_INS_ES = ["", "mire, ", "por favor ", "oiga ", "pues ", "este, "]
CUSTOMER_LABELS = ["Customer", "CUSTOMER", "caller", "Caller", "[Customer]", "client", "Consumer"]
CUSTOMER_LABELS_ES = ["Cliente", "cliente", "[Cliente]"]
AGENT_LABELS = ["Agent", "AGENT", "Rep", "[Agent]", "operator", "Representative"]
AGENT_LABELS_ES = ["Agente", "agente", "Asesor"]
GREETINGS = [
    "thank you for calling {company}, my name is {name}, how can I help you?",
    "hi, this is {name} with {company}. am I speaking with the account holder?",
    "good afternoon, {company} customer care.",
]
GREETINGS_ES = ["gracias por llamar a {company}, le atiende {name}.", "buenas tardes, {company}."]
SMALL_TALK = [
    "I got a call yesterday about my account.",
    "yeah, hi. it's about the bill.",
    "my account number is the one on file.",
]
CLOSINGS = ["okay, I'll make a note of that.", "understood. anything else?", "got it."]
CLOSINGS_ES = ["entendido.", "muy bien, anotado."]

# Hard negatives: the words are there but nothing is asked for.
NEGATIONS = [
    "i don't want you to {p}",
    "you don't have to {p}",
    "no need to {p}",
    "i never asked you to {p}",
]
NEGATIONS_RIGHTS = ["don't {p}", "please don't {p}", "i don't want you to {p}"]
SUPPOSITIONS = [
    "what if i want you to {p}",
    "if i say {p} what happens",
    "should i {p}",
    "how do i {p}",
    "do i have to {p}",
]
QUESTIONS = ["is it true you {p}?", "did you {p}?"]


def _asr(text: str, rng: random.Random, keep: str = "") -> str:
    """Speech-to-text output: lower case, no punctuation but the labels' colons, hesitations
    between words. `keep`: a phrase left whole (the detector's phrase patterns do not read
    through a filler inside a phrase, "stop uh calling me": a known limit, measured apart)."""
    lines = []
    for line in text.split("\n"):
        label, _, words = line.partition(": ")
        words = re.sub(r"[.,!?¿¡]", "", words.lower())
        if rng.random() < 0.3:
            held = keep.lower()
            parts = words.split(held) if held and held in words else [words]
            parts = [
                re.sub(r"(?<=\w) (?=\w)", lambda m: " uh " if rng.random() < 0.15 else " ", p)
                for p in parts
            ]
            words = held.join(parts)
        lines.append(f"{label}: {words}")
    return "\n".join(lines)


def _turns(
    rng: random.Random, spanish: bool, customer_line: str, agent_says: str | None = None
) -> tuple[str, str]:
    company, name = _fake.company(), _fake.first_name()
    customer = rng.choice(CUSTOMER_LABELS_ES if spanish else CUSTOMER_LABELS)
    agent = rng.choice(AGENT_LABELS_ES if spanish else AGENT_LABELS)
    greeting = rng.choice(GREETINGS_ES if spanish else GREETINGS).format(company=company, name=name)
    turns = [f"{agent}: {greeting}"]
    if rng.random() < 0.5:
        turns.append(f"{customer}: {rng.choice(SMALL_TALK)}")
    if agent_says is not None:
        turns.append(f"{agent}: {agent_says}")
    turns.append(f"{customer}: {customer_line}")
    turns.append(f"{agent}: {rng.choice(CLOSINGS_ES if spanish else CLOSINGS)}")
    return "\n".join(turns), rng.choice(["call", "chat"])


def _end(rng: random.Random) -> str:
    return rng.choice([".", "!", "", " please.", " thanks."])


def positive(rng: random.Random) -> Case:
    spanish = rng.random() < 0.3
    if rng.random() < 0.6:
        phrase, channel = rng.choice(OPT_OUTS_ES if spanish else OPT_OUTS_EN)
        kind, rtype = "OPT_OUT_REQUEST", None
    else:
        phrase, rtype = rng.choice(RIGHTS_ES if spanish else RIGHTS_EN)
        kind, channel = "RIGHTS_REQUEST", None
    lead = rng.choice(LEAD_INS_ES if spanish else LEAD_INS)
    polite = not spanish and kind == "OPT_OUT_REQUEST" and rng.random() < 0.2
    line = f"can you {phrase}?" if polite else f"{lead}{phrase}{_end(rng)}"
    text, interaction = _turns(rng, spanish, line)
    if rng.random() < 0.4 and not polite:
        text = _asr(text, rng, keep=phrase)
    return Case(text, interaction, kind, channel, rtype, "positive")


def negative(rng: random.Random) -> Case:
    which = rng.choice(["agent", "negation", "supposition", "question"])
    spanish = which in ("agent", "negation") and rng.random() < 0.3
    if which == "agent":
        phrase, _ = rng.choice(OPT_OUTS_ES if spanish else OPT_OUTS_EN)
        says = (
            f"si desea, puede decir {phrase} en cualquier momento."
            if spanish
            else f"you can always say {phrase} and we will honor it."
        )
        text, interaction = _turns(
            rng, spanish, "okay, thanks." if not spanish else "gracias.", says
        )
    elif which == "negation":
        if spanish:
            phrase, _ = rng.choice([r for r in RIGHTS_ES if not r[0].startswith("no ")])
            line = f"por favor no {phrase}."
        elif rng.random() < 0.5:
            phrase, _ = rng.choice([o for o in OPT_OUTS_EN if o[0].startswith("stop")])
            line = rng.choice(NEGATIONS).format(p=phrase)
        else:
            phrase = rng.choice(["delete my account", "delete my data", "erase my information"])
            line = rng.choice(NEGATIONS_RIGHTS).format(p=phrase)
        text, interaction = _turns(rng, spanish, line)
    elif which == "supposition":
        phrase = rng.choice(["unsubscribe", "opt out", "delete my data", "stop calling me"])
        line = rng.choice(SUPPOSITIONS).format(p=phrase)
        text, interaction = _turns(rng, False, line + rng.choice(["?", "", "."]))
    else:
        phrase = rng.choice(["delete my data", "stop calling me", "erase my information"])
        text, interaction = _turns(rng, False, rng.choice(QUESTIONS).format(p=phrase))
    if which != "question" and rng.random() < 0.4:
        text = _asr(text, rng)
    return Case(text, interaction, None, why=which)
