"""The oracle: a small interpreter of the declaration, written for the tests alone.

It reads the declaration YAML and the jurisdiction rules YAML itself and keeps its own account
of what happened (which notice version was in force when each value was collected, every
choice a person made, in order). It imports nothing from honorbound.disclosures,
honorbound.consent.decisions or honorbound.vault.rules. Its rules are the plain-language
statement in docs/guarantees.md; each rule below carries the number it has there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

RULES_FILE = Path(__file__).resolve().parents[2] / "src/honorbound/policy/data/us-rules.yaml"
TARGETED = (
    "marketing.advertising.first_party.targeted",
    "marketing.advertising.third_party.targeted",
    "marketing.advertising.profiling",
)
CONSENT_TYPES = {"third_party", "business_partner", "authorized_representative"}


def within(key: str, ancestor: str) -> bool:
    return key == ancestor or key.startswith(ancestor + ".")


class Notice:
    """One adopted version of the declaration, as plain dictionaries."""

    def __init__(self, text: str) -> None:
        self.d: dict[str, Any] = yaml.safe_load(text)

    def _select(self, selection: Any, universe: list[str]) -> list[str]:
        return list(universe) if selection == "all" else list(selection)

    @property
    def category_keys(self) -> list[str]:
        return [c["key"] for c in self.d["categories"]]

    @property
    def subject_types(self) -> list[str]:
        return [s["id"] for s in self.d["subjects"]]

    def purpose(self, pid: str) -> dict[str, Any] | None:
        return next((p for p in self.d["purposes"] if p["id"] == pid), None)

    def recipient(self, rid: str) -> dict[str, Any] | None:
        return next((r for r in self.d.get("recipients", []) if r["id"] == rid), None)

    def declared(self, key: str) -> str | None:
        """The declared category a stored key falls under: itself, else the nearest ancestor."""
        best = None
        for declared in self.category_keys:
            if within(key, declared) and (best is None or len(declared) > len(best)):
                best = declared
        return best

    def sensitive(self, key: str) -> bool:
        declared = self.declared(key)
        return any(c["key"] == declared and c.get("sensitive") for c in self.d["categories"])

    def purpose_categories(self, p: dict[str, Any]) -> list[str]:
        return self._select(p["categories"], self.category_keys)

    def purpose_subjects(self, p: dict[str, Any]) -> list[str]:
        return self._select(p.get("subjects", "all"), self.subject_types)

    def recipient_categories(self, r: dict[str, Any]) -> list[str]:
        return self._select(r["categories"], self.category_keys)

    def sells(self) -> bool:
        return bool(self.d.get("commitments", {}).get("sells_personal_data"))

    def shares(self) -> bool:
        return bool(self.d.get("commitments", {}).get("shares_for_targeted_advertising"))

    def receives(self, r: dict[str, Any], pid: str) -> bool:
        """Rule 3: only for the purposes listed for it (an authority listing none: any)."""
        if r.get("purposes"):
            return pid in r["purposes"]
        return r["type"] == "authority"

    def default_basis(self, r: dict[str, Any], pid: str) -> str | None:
        """Rule 4."""
        if r.get("sale"):
            return "sale"
        if r.get("sharing"):
            return "sharing"
        if r["type"] in ("advertising_partner", "analytics_partner"):
            p = self.purpose(pid)
            if p is not None and any(within(p["use"], t) for t in TARGETED):
                return "sharing"
            return None
        if r.get("consent_required") or r["type"] in CONSENT_TYPES:
            return "consent"
        return {
            "affiliate": "affiliate",
            "authority": "legal_process",
            "acquirer": "corporate_transaction",
        }.get(r["type"], "service_provider")

    def basis_ok(self, r: dict[str, Any], basis: str) -> bool:
        """Rule 5: a sale or sharing must be declared for the recipient and by the notice."""
        if (basis == "sale" or r.get("sale")) and not self.sells():
            return False
        if (basis == "sharing" or r.get("sharing")) and not self.shares():
            return False
        if basis == "sale" and not r.get("sale"):
            return False
        return not (basis == "sharing" and not r.get("sharing"))

    def allows(
        self, recipient: str | None, pid: str, basis: str | None, key: str, subject_type: str
    ) -> bool:
        """Does this version allow data of `key` about a `subject_type` to go to `recipient`
        (None: own use) for `pid`? Used for the version a value was collected under (rule 9)."""
        p = self.purpose(pid)
        declared = self.declared(key)
        if p is None or declared is None or declared not in self.purpose_categories(p):
            return False
        if subject_type not in self.purpose_subjects(p):
            return False
        if recipient is None:
            return True
        r = self.recipient(recipient)
        if r is None or not self.receives(r, pid):
            return False
        if declared not in self.recipient_categories(r):
            return False
        return basis is None or self.basis_ok(r, basis)


@dataclass
class Value:
    ref: str  # record:<id> or identity:<kind>
    key: str  # the stored category
    version: int  # index of the notice version in force when it was collected
    text: str


@dataclass
class Person:
    id: int
    type: str
    state: str | None
    age: int | None
    values: list[Value] = field(default_factory=list)
    # Every choice, in the order recorded: (purpose, channel, scope, action).
    choices: list[tuple[str, str, str, str]] = field(default_factory=list)
    erased: bool = False

    def latest(self, purposes: set[str], scope: str = "") -> str | None:
        """Rule 6: the latest choice on channel `all` (a choice about use and disclosure)."""
        found = None
        for purpose, channel, event_scope, action in self.choices:
            if channel == "all" and event_scope == scope and purpose in purposes:
                found = action
        return found

    def out_of(self, kind: str) -> bool:
        groups = {
            "sale": {"sale", "all"},
            "sharing": {"sharing", "targeted_advertising", "all"},
            "sensitive": {"sensitive_data_use", "all"},
            "marketing": {"marketing", "all"},
            "profiling": {"profiling", "all"},
        }
        return self.latest(groups[kind]) == "opt_out"


class Minors:
    """Rule 8: who counts as a minor for sale or sharing, per state (the rules data)."""

    def __init__(self) -> None:
        self.states: dict[str, Any] = yaml.safe_load(RULES_FILE.read_text())["states"]

    def limit(self, state: str | None, activity: str) -> int:
        rows = [self.states[state]] if state in self.states else list(self.states.values())
        return max(
            (
                m["under"]
                for row in rows
                for m in row.get("minors", [])
                if m.get("requirement") != "unspecified"
                and (m.get("activities") is None or activity in m["activities"])
            ),
            default=0,
        )


def expected(
    versions: list[Notice],
    people: dict[int, Person],
    minors: Minors,
    recipient: str | None,
    categories: list[str],
    pid: str,
    subject_ids: list[int],
) -> tuple[bool, dict[int, list[str]], dict[int, set[str]]]:
    """(blocked, allowed categories per subject, values that may go per subject)."""
    notice = versions[-1]
    p = notice.purpose(pid)
    r = notice.recipient(recipient) if recipient is not None else None
    if recipient is not None and (r is None or not notice.receives(r, pid)):
        return True, {}, {}  # rules 1, 3
    if p is None:
        return True, {}, {}  # rule 2
    basis = None
    if r is not None:
        basis = notice.default_basis(r, pid)
        if basis is None or not notice.basis_ok(r, basis):
            return True, {}, {}  # rules 4, 5
    selling = r is not None and (basis == "sale" or bool(r.get("sale")))
    sharing = r is not None and (basis == "sharing" or bool(r.get("sharing")))
    targeted = any(within(p["use"], t) for t in TARGETED)
    usable = [
        k
        for k in categories
        if notice.declared(k) is not None
        and (r is None or notice.declared(k) in notice.recipient_categories(r))
        and notice.declared(k) in notice.purpose_categories(p)
    ]
    allowed: dict[int, list[str]] = {}
    values: dict[int, set[str]] = {}
    for sid in dict.fromkeys(subject_ids):
        person = people.get(sid)
        if person is None or person.erased:
            continue
        if person.type not in notice.purpose_subjects(p):
            continue  # rule 7a
        if selling and person.out_of("sale"):
            continue  # rule 6
        if (sharing or targeted) and person.out_of("sharing"):
            continue
        if within(p["use"], "marketing") and person.out_of("marketing"):
            continue
        if p.get("profiling") and person.out_of("profiling"):
            continue
        if person.latest({"declared_purpose"}, pid) == "opt_out":
            continue
        if recipient is not None and person.latest({"recipient"}, recipient) == "opt_out":
            continue  # rule 7b
        consented = (
            person.latest({"recipient"}, recipient) == "opt_in"
            if recipient is not None
            else person.latest({"declared_purpose"}, pid) == "opt_in"
        )
        if r is not None and r.get("consent_required") and not consented:
            continue  # rule 7c
        if (selling or sharing) and person.age is not None:
            activity = "sale" if selling else "sharing"
            if person.age < minors.limit(person.state, activity):
                continue  # rule 8
        mine = [k for k in usable if not (notice.sensitive(k) and person.out_of("sensitive"))]
        kept: set[str] = set()
        may_go: set[str] = set()
        for value in person.values:
            wanted = next((k for k in mine if within(value.key, k)), None)
            if wanted is None:
                continue
            old = versions[value.version]
            if (
                value.version == len(versions) - 1
                or consented
                or old.allows(recipient, pid, basis, value.key, person.type)
            ):
                kept.add(wanted)
                may_go.add(value.ref)
        final = [k for k in mine if k in kept or not any(within(v.key, k) for v in person.values)]
        if final:
            allowed[sid] = final
            values[sid] = may_go
    return False, allowed, values
