"""What a phrase found in a conversation means: who said it, whether it was meant, what it asks.

The detection engine reports a phrase wherever its words occur ("stop calling me" inside
"you can say stop calling me", "delete my account" inside "don't delete my account"). Before
anything acts, each phrase is read in its place:

- **Speaker.** The label of its line ("Customer:", "[Agent]", or of the last labelled line
  above it). Only the customer's words act. A label that names no role ("speaker 1", a first
  name) is `unknown`: such a phrase is never applied by itself, staff review it. A text without
  any label is the person's own when it is an inbound SMS, email or web form, ours when outbound,
  and `unknown` for calls and chats.
- **Negation.** A negator among the last few words before the phrase, in the same clause
  ("I don't want you to stop calling me", "no borren mis datos"): not asked for.
- **Question or supposition.** A sentence ending in "?" or holding "¿", or a supposition before
  the phrase ("what if", "should I", "how do I"): not asked for, except a polite request of us
  ("can you take me off your list?") and the question forms that are themselves the request
  ("what information do you have on me?").
- **What it asks.** An opt-out's channel from its words (`voice`, `sms`, `email`, else `all`);
  a rights request's type from its words, with a confidence (`data/cues.yaml`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Final

import yaml
from pydantic import BaseModel, ConfigDict, Field

CUES_SCHEMA: Final = "honorbound/intent-cues/v1"
OPT_OUT: Final = "OPT_OUT_REQUEST"
RIGHTS: Final = "RIGHTS_REQUEST"

CUSTOMER: Final = "customer"
AGENT: Final = "agent"
UNKNOWN: Final = "unknown"


class TypeCue(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    type: str
    confidence: float = Field(gt=0, le=1)
    words: list[str] = Field(min_length=1)


class Cues(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    schema_id: str = Field(alias="schema")
    customer_labels: frozenset[str]
    agent_labels: frozenset[str]
    negators: list[str]
    spanish_negator: str
    spanish_words: frozenset[str]
    fillers: frozenset[str]
    negation_window_words: int = Field(ge=1, le=20)
    clause_starts: list[str]
    hypothetical: list[str]
    polite_request: list[str]
    channels: dict[str, list[str]]
    rights_types: list[TypeCue]
    open_at_confidence: float = Field(ge=0, le=1)
    opt_out_default: str = Field(pattern="^(apply|review)$")
    opt_out_default_source: str


@lru_cache(maxsize=1)
def cues() -> Cues:
    text = resources.files("honorbound.intents").joinpath("data/cues.yaml").read_text("utf-8")
    data = yaml.safe_load(text)
    if data.get("schema") != CUES_SCHEMA:
        raise ValueError(f"intents/data/cues.yaml: write `schema: {CUES_SCHEMA}`")
    return Cues.model_validate(data)


@dataclass(frozen=True)
class Said:
    """One phrase read in its place. `acts` is True only for the customer's own, meant request;
    `reason` says why not otherwise (`agent`, `unknown_speaker`, `negated`, `question`,
    `hypothetical`). Offsets are into the text as it was sent."""

    kind: str  # OPT_OUT or RIGHTS
    start: int
    end: int
    speaker: str
    acts: bool
    reason: str | None
    language: str
    channel: str | None = None  # opt-outs: voice | sms | email | all
    request_type: str | None = None  # rights requests
    confidence: float = 0.0


# A label at the start of a line: "Customer:", "speaker 1:", "SPEAKER_01:", "[Agent]".
# At most four words, so "my number is: ..." is no label.
_LABEL: Final = re.compile(
    r"[ \t]*(?:\[([^\]\n]{1,30})\][ \t]*:?|([^\W\d_][\w.'\- ]{0,29}?)[ \t]*:(?!//))"
)
_WORD: Final = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
_SENTENCE_END: Final = re.compile(r"[.!?\n]")
_CLAUSE_BREAK: Final = re.compile(r"[,;:—–]| - ")
_SELF_QUESTION: Final = re.compile(r"^\s*(?:what|which)\b", re.IGNORECASE)


def _norm_label(label: str) -> str:
    words = _WORD.findall(label.lower())
    return " ".join(w for w in words if not w.isdigit()).replace("_", " ").strip()


def _label_of(line: str) -> tuple[str, int] | None:
    """(normalised label, where the content starts) of a line, or None."""
    m = _LABEL.match(line)
    if m is None:
        return None
    raw = m.group(1) if m.group(1) is not None else m.group(2)
    if raw is None or len(raw.split()) > 4:
        return None
    return _norm_label(raw), m.end()


def _role(label: str, agent_name: str | None, c: Cues) -> str:
    compact = re.sub(r"\d+", "", label).replace("_", " ").strip()
    if compact in c.customer_labels:
        return CUSTOMER
    if compact in c.agent_labels:
        return AGENT
    if agent_name and compact == _norm_label(agent_name):
        return AGENT
    return UNKNOWN


@dataclass(frozen=True)
class _Line:
    start: int
    content: int  # where the words start (after any label)
    role: str | None  # None: the line has no label


def _lines(text: str, agent_name: str | None, c: Cues) -> list[_Line]:
    out: list[_Line] = []
    pos = 0
    for line in text.split("\n"):
        found = _label_of(line)
        if found is None:
            out.append(_Line(pos, pos, None))
        else:
            label, content = found
            out.append(_Line(pos, pos + content, _role(label, agent_name, c)))
        pos += len(line) + 1
    return out


def _phrase_in(haystack: str, phrases: Iterable[str]) -> bool:
    padded = f" {haystack} "
    return any(f" {phrase} " in padded for phrase in phrases)


def _words(text: str) -> list[str]:
    return [w.replace("’", "'") for w in _WORD.findall(text.lower())]


def _clause_prefix(text: str, floor: int, start: int, c: Cues) -> list[str]:
    """The words of the clause before the phrase: from the sentence start (or the label), cut
    at the last comma and the last clause-starting word."""
    before = text[floor:start]
    sentence = max((m.end() for m in _SENTENCE_END.finditer(before)), default=0)
    before = before[sentence:]
    breaks = [m.end() for m in _CLAUSE_BREAK.finditer(before)]
    if breaks:
        before = before[breaks[-1] :]
    words = _words(before)
    joined = " ".join(words)
    cut = -1
    for starter in c.clause_starts:
        i = f" {joined} ".rfind(f" {starter} ")
        if i != -1:
            cut = max(cut, i + len(starter))
    return _words(joined[cut + 1 :]) if cut != -1 else words


def _is_question(text: str, floor: int, start: int, end: int) -> bool:
    before = text[floor:start]
    sentence = max((m.end() for m in _SENTENCE_END.finditer(before)), default=0)
    after = _SENTENCE_END.search(text, end)
    ends_with_question = after is not None and text[after.start()] == "?"
    return ends_with_question or "¿" in before[sentence:] or "¿" in text[start:end]


def _language(phrase: str, c: Cues) -> str:
    words = _words(phrase)
    return "es" if sum(w in c.spanish_words for w in words) * 2 > len(words) else "en"


def channel_of(phrase: str, c: Cues | None = None) -> str:
    c = c or cues()
    words = " ".join(_words(phrase.replace("-", " ")))
    found = [
        channel
        for channel, names in c.channels.items()
        if _phrase_in(words, (" ".join(_words(n.replace("-", " "))) for n in names))
    ]
    return found[0] if len(found) == 1 else "all"


def request_type_of(phrase: str, c: Cues | None = None) -> tuple[str, float]:
    """The request type a rights phrase names, and how sure the reading is (0.3: no cue)."""
    c = c or cues()
    words = " ".join(_words(phrase))
    for row in c.rights_types:
        if _phrase_in(words, (" ".join(_words(w)) for w in row.words)):
            return row.type, row.confidence
    return "access_categories", 0.3


def _meant(
    kind: str, text: str, floor: int, start: int, end: int, language: str, c: Cues
) -> str | None:
    """None when the phrase is asked for, else why not."""
    prefix = [w for w in _clause_prefix(text, floor, start, c) if w not in c.fillers]
    last = prefix[-c.negation_window_words :]
    window = " ".join(last)
    if _phrase_in(window, c.negators):
        return "negated"
    if language == "es" and c.spanish_negator in last:
        return "negated"
    joined = " ".join(prefix)
    polite = _phrase_in(joined, c.polite_request)
    if _phrase_in(joined, c.hypothetical) and not polite:
        return "hypothetical"
    if _is_question(text, floor, start, end):
        self_question = kind == RIGHTS and bool(_SELF_QUESTION.match(text[start:end]))
        if not (polite or self_question):
            return "question"
    return None


def read(
    text: str,
    spans: Sequence[tuple[str, int, int]],
    *,
    channel: str,
    direction: str,
    agent_name: str | None = None,
) -> list[Said]:
    """Read each (kind, start, end) intent span of `text`, an interaction of `channel`
    (call, chat, email, sms, web_form) and `direction` (inbound, outbound)."""
    c = cues()
    lines = _lines(text, agent_name, c)
    labelled = any(line.role is not None for line in lines)
    starts = [line.start for line in lines]
    out: list[Said] = []
    for kind, start, end in sorted(spans, key=lambda s: (s[1], s[2])):
        if kind not in (OPT_OUT, RIGHTS) or not 0 <= start < end <= len(text):
            continue
        i = max(0, _bisect(starts, start))
        if start < lines[i].content:
            continue  # inside a label
        role: str | None = None
        for j in range(i, -1, -1):
            if lines[j].role is not None:
                role = lines[j].role
                break
        if role is None:
            if labelled:
                role = UNKNOWN
            elif channel in ("sms", "email", "web_form"):
                role = CUSTOMER if direction == "inbound" else AGENT
            else:
                role = UNKNOWN
        phrase = text[start:end]
        language = _language(phrase, c)
        floor = lines[i].content
        reason = _meant(kind, text, floor, start, end, language, c)
        if reason is None and role != CUSTOMER:
            reason = "agent" if role == AGENT else "unknown_speaker"
        if kind == OPT_OUT:
            out.append(
                Said(
                    kind, start, end, role, reason is None, reason, language, channel_of(phrase, c)
                )
            )
        else:
            rtype, confidence = request_type_of(phrase, c)
            out.append(
                Said(
                    kind,
                    start,
                    end,
                    role,
                    reason is None,
                    reason,
                    language,
                    request_type=rtype,
                    confidence=confidence,
                )
            )
    return out


def _bisect(starts: list[int], position: int) -> int:
    lo, hi = 0, len(starts)
    while lo < hi:
        mid = (lo + hi) // 2
        if starts[mid] <= position:
            lo = mid + 1
        else:
            hi = mid
    return lo - 1


def intent_spans(text: str) -> list[tuple[str, int, int]]:
    """The detection engine's intent spans of `text` (its public `scan`)."""
    from honorbound.detect import INTENT_TYPES, scan

    return [(f.type, f.start, f.end) for f in scan(text) if f.type in INTENT_TYPES]
