"""May this call be recorded? The recording-consent decision for one call.

The rule comes from the jurisdiction rules data (`recording` in us-rules.yaml, with its
sources): a call is all-party when any party is in an all-party state (or a disputed one, or
a state nobody knows: the stricter rule wins), one-party otherwise. In an all-party call the
announcement ("this call may be recorded", an event from the dialer or IVR) must have been
played before recording, and continuing the call after it counts as consent
(`notice_counts_as_consent`). A party who declines stops the recording whatever the states
say: the decision is `stop`, and what the caller keeps is the evidence (the decision, its
reasons, the sources) written to the audit log by the caller of `decide`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from honorbound.policy.jurisdictions import JurisdictionRules
from honorbound.recordings.errors import RecordingError

Regime = Literal["one_party", "all_party"]


@dataclass(frozen=True)
class Party:
    role: str  # agent, customer, third_party, ...
    state: str | None  # two-letter US state; None when unknown


@dataclass(frozen=True)
class Decision:
    may_record: bool
    action: Literal["record", "announce_first", "stop"]
    regime: Regime
    reasons: list[str]
    sources: list[str] = field(default_factory=list)
    unconfirmed: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "may_record": self.may_record,
            "action": self.action,
            "regime": self.regime,
            "reasons": self.reasons,
            "sources": self.sources,
            "unconfirmed": self.unconfirmed,
        }


def decide(
    rules: JurisdictionRules,
    parties: Sequence[Party],
    *,
    announcement_played: bool,
    refused: bool = False,
) -> Decision:
    if len(parties) < 2:
        raise RecordingError("a call has at least two parties")
    rec = rules.recording
    strict = {r.state: r for r in rec.all_party_states + rec.disputed_states}
    reasons: list[str] = []
    sources: list[str] = []
    unconfirmed: list[str] = []
    for p in parties:
        code = (p.state or "").upper()
        if p.state is not None and (len(code) != 2 or not code.isalpha()):
            raise RecordingError(f"party {p.role!r}: state must be a two-letter US state code")
        if not code:
            reasons.append(f"state_unknown:{p.role}")
        elif code in strict:
            row = strict[code]
            reasons.append(f"all_party_state:{code}")
            sources.append(f"{code}: {row.source}")
            if not row.confirmed or code in {r.state for r in rec.disputed_states}:
                unconfirmed.append(f"{code}: {row.note or 'unconfirmed'}")
    regime: Regime = "all_party" if reasons else "one_party"
    sources.append(str(rec.source))
    if refused:
        return Decision(False, "stop", regime, [*reasons, "refused"], sources, unconfirmed)
    if regime == "all_party" and not announcement_played:
        return Decision(
            False,
            "announce_first",
            regime,
            [*reasons, "announcement_missing"],
            sources,
            unconfirmed,
        )
    if regime == "all_party":
        reasons.append("announcement_played")
    return Decision(True, "record", regime, reasons, sources, unconfirmed)
