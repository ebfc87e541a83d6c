"""`policy check`: the declaration's shape, its references, and its promises against each other.

Errors are contradictions or broken references (a notice that cannot be enforced as written).
Warnings are things a privacy officer should look at but may keep.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from honorbound.policy import translations
from honorbound.policy.jurisdictions import JurisdictionRules
from honorbound.policy.loader import parse_declaration
from honorbound.policy.problems import DeclarationError, Problem
from honorbound.policy.schema import (
    METHOD_NEEDS_CONTACT,
    PERIODLESS_TRIGGERS,
    Declaration,
    RecipientType,
    Right,
    RightsOffer,
    Selection,
    Trigger,
)
from honorbound.policy.taxonomy import (
    data_categories,
    data_uses,
    is_third_party_targeted,
    is_within,
    sensitive_hint,
)
from honorbound.policy.yamlsource import LineMap, did_you_mean

P = tuple[str | int, ...]

# Rights a consumer asks for (their state's answer and appeal rules apply); an offer of only
# marketing opt-outs to `all` does not make every state law's request rules apply.
REQUEST_RIGHTS = frozenset(
    {
        Right.access,
        Right.know,
        Right.correct,
        Right.delete,
        Right.portability,
        Right.opt_out_sale,
        Right.opt_out_sharing,
        Right.opt_out_targeted_advertising,
        Right.opt_out_profiling,
        Right.limit_sensitive,
    }
)
PRECISE_GEOLOCATION = "user.location.precise"


def check_text(
    text: str,
    file: str = "<declaration>",
    rules: JurisdictionRules | None = None,
    today: dt.date | None = None,
) -> list[Problem]:
    """Every problem in a declaration, errors and warnings, sorted by line. With `rules`, the
    notice is held against the state laws in force `today` (default: the real date) or on its
    effective date when later, and against every rule that starts to apply after that."""
    try:
        decl, lines = parse_declaration(text, file)
    except DeclarationError as exc:
        return sorted(exc.problems, key=lambda p: p.line)
    problems = list(_Checker(decl, lines, rules, today).run())
    return sorted(problems, key=lambda p: (p.line, p.message))


def check_file(
    path: str | Path, rules: JurisdictionRules | None = None, today: dt.date | None = None
) -> list[Problem]:
    path = Path(path)
    return check_text(path.read_text(encoding="utf-8"), str(path), rules, today)


def errors(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity == "error"]


@dataclass(frozen=True)
class _Finding:
    """One state-law shortfall of the notice for one state. Findings of one kind at one path
    are reported together (`{states}` names them; `{respond}`, `{extension}`, `{sources}` and
    `{doubt}` are filled from their rows)."""

    path: P
    kind: str
    state: str
    grouped: bool
    template: str
    rules: JurisdictionRules

    def render(self, states: list[str]) -> str:
        rows = [self.rules.states[s] for s in states]
        pairs = list(zip(states, rows, strict=True))
        one = len(states) == 1
        field = {"respond": "respond", "extension": "extension", "gpc": "universal_opt_out"}
        doubtful = [
            s
            for s, r in pairs
            if self.kind in field and any(u.startswith(field[self.kind]) for u in r.unconfirmed)
        ]
        return self.template.format(
            law=f"{states[0]} law" if one else f"the law of {', '.join(states)}",
            states=", ".join(states),
            respond=str(rows[0].respond.days)
            if one
            else ", ".join(f"{r.respond.days} ({s})" for s, r in pairs),
            extension=str(rows[0].extension.days)
            if one
            else ", ".join(f"{r.extension.days} ({s})" for s, r in pairs),
            source=f" ({rows[0].law})" if one else "",
            doubt=(f" (not confirmed for {', '.join(doubtful)}: verify it)" if doubtful else ""),
        )


class _Checker:
    def __init__(
        self,
        decl: Declaration,
        lines: LineMap,
        rules: JurisdictionRules | None,
        today: dt.date | None = None,
    ) -> None:
        self.d = decl
        self.lines = lines
        self.rules = rules
        self.today = today or dt.date.today()

    def error(self, path: P, message: str) -> Problem:
        return self.lines.problem(path, message)

    def warning(self, path: P, message: str) -> Problem:
        return self.lines.problem(path, message, "warning")

    def run(self) -> Iterator[Problem]:
        yield from self._ids()
        yield from self._categories()
        yield from self._purposes()
        yield from self._recipients()
        yield from self._retention()
        yield from self._rights()
        yield from self._commitments()
        yield from self._children_and_monitoring()
        yield from self._translations()

    def _translations(self) -> Iterator[Problem]:
        for severity, path, message in translations.problems(self.d):
            yield self.lines.problem(path, message, severity)

    # --- references -------------------------------------------------------------------------

    def _ids(self) -> Iterator[Problem]:
        for field, items in (
            ("subjects", [s.id for s in self.d.subjects]),
            ("categories", [c.key for c in self.d.categories]),
            ("purposes", [p.id for p in self.d.purposes]),
            ("recipients", [r.id for r in self.d.recipients]),
            ("retention", [r.id for r in self.d.retention]),
            ("rights", [r.id for r in self.d.rights]),
        ):
            seen: set[str] = set()
            attr = "key" if field == "categories" else "id"
            for i, value in enumerate(items):
                if value in seen:
                    yield self.error(
                        (field, i, attr),
                        f"{field} has '{value}' twice; each {attr} must be unique",
                    )
                seen.add(value)

    def _category_refs(self, path: P, selection: Selection) -> Iterator[Problem]:
        if selection == "all":
            return
        declared = [c.key for c in self.d.categories]
        for i, key in enumerate(selection):
            if key in declared:
                continue
            if key not in data_categories():
                yield self.error(
                    (*path, i),
                    f"category '{key}' is not in the taxonomy"
                    f"{did_you_mean(key, declared) or did_you_mean(key, data_categories())}",
                )
            else:
                yield self.error(
                    (*path, i),
                    f"category '{key}' is not declared under `categories`"
                    f"{did_you_mean(key, declared) or '; declare it first'}",
                )

    def _subject_refs(self, path: P, selection: Selection) -> Iterator[Problem]:
        if selection == "all":
            return
        declared = [s.id for s in self.d.subjects]
        for i, sid in enumerate(selection):
            if sid not in declared:
                yield self.error(
                    (*path, i),
                    f"subject type '{sid}' is not declared under `subjects`"
                    f"{did_you_mean(sid, declared) or '; declare it first'}",
                )

    def _purpose_refs(self, path: P, ids: list[str]) -> Iterator[Problem]:
        declared = [p.id for p in self.d.purposes]
        for i, pid in enumerate(ids):
            if pid not in declared:
                yield self.error(
                    (*path, i),
                    f"purpose '{pid}' is not declared under `purposes`"
                    f"{did_you_mean(pid, declared) or '; declare it first'}",
                )

    # --- sections ---------------------------------------------------------------------------

    def _categories(self) -> Iterator[Problem]:
        taxonomy = data_categories()
        used = {k for p in self.d.purposes for k in self.d.category_keys(p.categories)}
        for i, cat in enumerate(self.d.categories):
            for key, path in [(cat.key, ("categories", i, "key"))] + [
                (inc, ("categories", i, "includes", j)) for j, inc in enumerate(cat.includes)
            ]:
                if key not in taxonomy:
                    yield self.error(
                        path,
                        f"category '{key}' is not in the taxonomy{did_you_mean(key, taxonomy)}",
                    )
            yield from self._subject_refs(("categories", i, "subjects"), cat.subjects)
            for j, inc in enumerate(cat.includes):
                inc_hint = sensitive_hint(inc)
                if inc_hint is not None and not cat.sensitive:
                    yield self.warning(
                        ("categories", i, "includes", j),
                        f"category '{cat.key}' includes '{inc}', which is usually sensitive "
                        f"({inc_hint.source}); declare it as its own sensitive category",
                    )
            hint = sensitive_hint(cat.key)
            if hint is not None and not cat.sensitive:
                yield self.warning(
                    ("categories", i, "sensitive"),
                    f"category '{cat.key}' is usually sensitive ({hint.source}); "
                    "mark it `sensitive: true` or say why not in `note`",
                )
            if cat.key not in used:
                if cat.sensitive:
                    yield self.warning(
                        ("categories", i, "key"),
                        f"sensitive category '{cat.key}' has no stated purpose; "
                        "add a purpose that limits what it is used for",
                    )
                else:
                    yield self.warning(
                        ("categories", i, "key"),
                        f"category '{cat.key}' is collected but no purpose uses it; "
                        "add it to a purpose or remove it",
                    )
            for subject in self.d.subject_ids(cat.subjects):
                if not self.d.retention_rules_for(cat.key, subject):
                    yield self.error(
                        ("categories", i, "key"),
                        f"category '{cat.key}' has no retention rule for subject type "
                        f"'{subject}'; add one under `retention`",
                    )

    def _purposes(self) -> Iterator[Problem]:
        uses = data_uses()
        for i, purpose in enumerate(self.d.purposes):
            if purpose.use not in uses:
                yield self.error(
                    ("purposes", i, "use"),
                    f"data use '{purpose.use}' is not in the taxonomy"
                    f"{did_you_mean(purpose.use, uses)}",
                )
            yield from self._category_refs(("purposes", i, "categories"), purpose.categories)
            yield from self._subject_refs(("purposes", i, "subjects"), purpose.subjects)

    def _recipients(self) -> Iterator[Problem]:
        for i, rec in enumerate(self.d.recipients):
            yield from self._category_refs(("recipients", i, "categories"), rec.categories)
            yield from self._purpose_refs(("recipients", i, "purposes"), rec.purposes)
            for j, pid in enumerate(rec.purposes):
                purpose = self.d.purpose(pid)
                if purpose is None:
                    continue
                given = set(self.d.category_keys(rec.categories))
                allowed = set(self.d.category_keys(purpose.categories))
                if not given & allowed:
                    yield self.error(
                        ("recipients", i, "purposes", j),
                        f"recipient '{rec.id}' receives data for purpose '{pid}', but that "
                        "purpose covers none of the categories it receives; fix one of them",
                    )

    def _retention(self) -> Iterator[Problem]:
        for i, rule in enumerate(self.d.retention):
            yield from self._category_refs(("retention", i, "categories"), rule.categories)
            yield from self._subject_refs(("retention", i, "subjects"), rule.subjects)
            for j, trig in enumerate(rule.triggers):
                path = ("retention", i, "triggers", j)
                if trig.trigger not in PERIODLESS_TRIGGERS and trig.period is None:
                    yield self.error(
                        (*path, "trigger"),
                        f"trigger '{trig.trigger.value}' needs a `period` such as 'P6Y' or 'P90D'",
                    )
                if trig.trigger == Trigger.while_necessary:
                    yield self.warning(
                        (*path, "trigger"),
                        f"retention rule '{rule.id}' keeps data 'while necessary', which nothing "
                        "can enforce; state a trigger and a period",
                    )
        # Exactly one rule per category x subject type, so the retention engine never guesses.
        for cat in self.d.categories:
            for subject in self.d.subject_ids(cat.subjects):
                rules = self.d.retention_rules_for(cat.key, subject)
                if len(rules) > 1:
                    index = next(i for i, r in enumerate(self.d.retention) if r is rules[1])
                    yield self.error(
                        ("retention", index, "categories"),
                        f"retention rules '{rules[0].id}' and '{rules[1].id}' both cover "
                        f"category '{cat.key}' for subject type '{subject}'; narrow one of them",
                    )

    def _rights(self) -> Iterator[Problem]:
        for i, offer in enumerate(self.d.rights):
            for j, method in enumerate(offer.methods):
                needed = METHOD_NEEDS_CONTACT.get(method)
                if needed is not None and getattr(self.d.contact, needed) is None:
                    yield self.error(
                        ("rights", i, "methods", j),
                        f"rights '{offer.id}' can be exercised by {method.value}, but "
                        f"`contact.{needed}` is not given; add it",
                    )
        if self.rules is None:
            return
        yield from self._against_the_law()

    # --- the notice against the state laws, on its date and on every later change ----------

    def _against_the_law(self) -> Iterator[Problem]:
        """The state-law findings today (or on the notice's effective date, when later), then
        each finding that first appears on a later date a rule starts to apply (a law taking
        effect, a signal or geolocation rule starting), prefixed `from DATE:` so it is fixed
        before the day."""
        assert self.rules is not None
        start = max(self.d.effective_date, self.today)
        seen: set[tuple[P, str, str]] = set()
        for k, on in enumerate([start, *self.rules.change_dates(start)]):
            fresh = [f for f in self._law_findings(on) if (f.path, f.kind, f.state) not in seen]
            seen.update((f.path, f.kind, f.state) for f in fresh)
            groups: dict[tuple[P, str], list[_Finding]] = {}
            for f in fresh:
                groups.setdefault((f.path, f.kind if f.grouped else f"{f.kind}:{f.state}"), [])
                groups[(f.path, f.kind if f.grouped else f"{f.kind}:{f.state}")].append(f)
            for (path, _), items in groups.items():
                message = items[0].render([f.state for f in items])
                yield self.warning(path, message if k == 0 else f"from {on.isoformat()}: {message}")

    def _offer_states(self, offer: RightsOffer, on: dt.date) -> list[tuple[int | None, str]]:
        """(index in `jurisdictions` or None for a nation-wide offer, state) of the states with a
        law in force that an offer of request rights covers."""
        assert self.rules is not None
        found: list[tuple[int | None, str]] = []
        for j, juris in enumerate(offer.jurisdictions):
            if juris in ("all", "US"):
                if set(offer.rights) & REQUEST_RIGHTS:
                    found += [(None, code) for code in self.rules.states_in_force(on)]
            elif self.rules.in_force(juris.removeprefix("US-"), on) is not None:
                found.append((j, juris.removeprefix("US-")))
        return found

    def _law_findings(self, on: dt.date) -> list[_Finding]:
        assert self.rules is not None
        rules = self.rules
        findings: list[_Finding] = []
        for i, offer in enumerate(self.d.rights):
            for j, state in self._offer_states(offer, on):
                row = rules.states[state]
                nationwide = j is None
                path: P = ("rights", i, "jurisdictions") + ((j,) if j is not None else ())
                offered = {r for o in self.d.rights_for(f"US-{state}") for r in o.rights}
                if offer.response_days is not None and offer.response_days > row.respond.days:
                    findings.append(_Finding(path, "respond", state, nationwide, (
                        f"rights '{offer.id}' promise an answer in {offer.response_days} days"
                        f"{' everywhere' if nationwide else ''}, but {{law}} allows "
                        "{respond}; shorten `response_days`{doubt}"
                    ), rules))  # fmt: skip
                if offer.extension_days is not None and offer.extension_days > row.extension.days:
                    findings.append(_Finding(path, "extension", state, nationwide, (
                        f"rights '{offer.id}' allow a {offer.extension_days}-day extension"
                        f"{' everywhere' if nationwide else ''}, but {{law}} allows "
                        "{extension}; shorten `extension_days`{doubt}"
                    ), rules))  # fmt: skip
                if row.appeal.required and Right.appeal not in offered:
                    findings.append(_Finding(path, "appeal", state, nationwide, (
                        "{law} requires an appeal of a refused request{source}; add `appeal` "
                        f"to the rights offered {'everywhere' if nationwide else 'there'}"
                    ), rules))  # fmt: skip
        findings += self._universal_opt_out(on)
        findings += self._geolocation_sales(on)
        return findings

    def _covered_in_force(self, on: dt.date) -> list[str]:
        assert self.rules is not None
        covered = self.d.covered_states()
        return [c for c in self.rules.states_in_force(on) if covered is None or c in covered]

    def _universal_opt_out(self, on: dt.date) -> list[_Finding]:
        """States that require honoring opt-out preference signals (GPC) when a business sells,
        shares or targets ads."""
        assert self.rules is not None
        targets = any(p.targeted_advertising for p in self.d.purposes)
        if not (self.d.sells or self.d.shares or targets):
            return []
        if self.d.cookies is not None and self.d.cookies.honors_opt_out_preference_signal:
            return []
        path: P = ("cookies",) if self.d.cookies is not None else ("rights",)
        states = sorted(
            {
                j.removeprefix("US-")
                for o in self.d.rights
                for j in o.jurisdictions
                if (row := self.rules.in_force(j.removeprefix("US-"), on)) is not None
                and row.gpc_required(on)
            }
        )
        return [
            _Finding(
                path,
                "gpc",
                state,
                True,
                (
                    "the law of {states} requires honoring opt-out preference signals such as "
                    "Global Privacy Control when personal data is sold, shared or used for "
                    "targeted ads; set `cookies.honors_opt_out_preference_signal: true`{doubt}"
                ),
                self.rules,
            )  # fmt: skip
            for state in states
        ]

    def _geolocation_sales(self, on: dt.date) -> list[_Finding]:
        """A recipient marked as a sale that receives precise geolocation, where a state the
        notice covers bans selling it (consent does not cure it)."""
        assert self.rules is not None
        covered = self.d.covered_states()
        banned = [
            code
            for code in self.rules.states_in_force(on)
            if (covered is None or code in covered)
            and self.rules.geolocation_sale_banned(code, on) is not None
        ]
        found: list[_Finding] = []
        for i, rec in enumerate(self.d.recipients):
            if not rec.sale or not banned:
                continue
            keys = [
                k
                for k in self.d.category_keys(rec.categories)
                if is_within(k, PRECISE_GEOLOCATION) or is_within(PRECISE_GEOLOCATION, k)
            ]
            if keys:
                found += [
                    _Finding(
                        ("recipients", i, "sale"),
                        "geolocation",
                        state,
                        True,
                        (
                            f"recipient '{rec.id}' is sold '{keys[0]}', and the law of {{states}} "
                            "forbids selling precise geolocation whatever the consent; stop the "
                            "sale of that category or leave those states out"
                        ),
                        self.rules,
                    )  # fmt: skip
                    for state in banned
                ]
        return found

    def _commitments(self) -> Iterator[Problem]:
        c = self.d.commitments
        offered = {r.value for o in self.d.rights for r in o.rights}
        # Every state law with a right to opt out of sale or sharing requires offering it
        # wherever a sale or sharing happens (CCPA 1798.120, 1798.135; the state table).
        for attr, promise, rights in (
            ("sale", "sells_personal_data", {"opt_out_sale"}),
            (
                "sharing",
                "shares_for_targeted_advertising",
                {"opt_out_sharing", "opt_out_targeted_advertising"},
            ),
        ):
            if not (self.d.sells if attr == "sale" else self.d.shares) or offered & rights:
                continue
            index = next((i for i, r in enumerate(self.d.recipients) if getattr(r, attr)), None)
            path: P = ("recipients", index, attr) if index is not None else ("commitments", promise)
            word = "sells" if attr == "sale" else "shares"
            yield self.error(
                path,
                f"the notice {word} personal data but offers no way to opt out of it; add "
                f"`{sorted(rights)[0]}` to a `rights` offer (with its methods)",
            )
        for i, rec in enumerate(self.d.recipients):
            if rec.sale and not c.sells_personal_data:
                yield self.error(
                    ("recipients", i, "sale"),
                    f"recipient '{rec.id}' is marked as a sale, but the notice says it does not "
                    "sell personal data (`commitments.sells_personal_data: false`); "
                    "change one of them",
                )
            if rec.sharing and not c.shares_for_targeted_advertising:
                yield self.error(
                    ("recipients", i, "sharing"),
                    f"recipient '{rec.id}' is marked as sharing for targeted advertising, but "
                    "the notice says it does not share (`commitments."
                    "shares_for_targeted_advertising: false`); change one of them",
                )
            if rec.sharing and not c.sensitive_data_for_targeted_advertising:
                for key in self.d.category_keys(rec.categories):
                    if self.d.is_sensitive(key):
                        yield self.error(
                            ("recipients", i, "categories"),
                            f"sensitive category '{key}' is shared with '{rec.id}' for targeted "
                            "advertising, but the notice says sensitive data is not "
                            "(`commitments.sensitive_data_for_targeted_advertising: false`)",
                        )
        for i, rec in enumerate(self.d.recipients):
            if rec.type == RecipientType.advertising_partner and not (rec.sale or rec.sharing):
                # The notice page would say "we do not share" next to this partner: the two
                # statements read as a contradiction to a consumer.
                contradiction = (
                    "; the notice also says it does not share for targeted advertising "
                    "(`commitments.shares_for_targeted_advertising: false`), which reads as a "
                    "contradiction next to an advertising partner"
                    if not c.shares_for_targeted_advertising
                    else ""
                )
                yield self.warning(
                    ("recipients", i, "type"),
                    f"recipient '{rec.id}' is an advertising partner but is not marked as "
                    "`sharing`; if its ads are chosen from what people do on other sites, that "
                    "is sharing for targeted advertising: mark it, or say why not in "
                    f"`description`{contradiction}",
                )
        for i, purpose in enumerate(self.d.purposes):
            if is_third_party_targeted(purpose.use) and not c.shares_for_targeted_advertising:
                yield self.error(
                    ("purposes", i, "use"),
                    f"purpose '{purpose.id}' is third-party targeted advertising, but the notice "
                    "says it does not share for targeted advertising; change one of them",
                )
            if purpose.targeted_advertising and not c.sensitive_data_for_targeted_advertising:
                for key in self.d.category_keys(purpose.categories):
                    if self.d.is_sensitive(key):
                        yield self.error(
                            ("purposes", i, "categories"),
                            f"sensitive category '{key}' is used for targeted advertising by "
                            f"purpose '{purpose.id}', but the notice says sensitive data is not "
                            "(`commitments.sensitive_data_for_targeted_advertising: false`)",
                        )
        if c.sensitive_data_only_for_exempt_purposes:
            for i, purpose in enumerate(self.d.purposes):
                if purpose.use.startswith(("marketing", "personalize", "sales")):
                    for key in self.d.category_keys(purpose.categories):
                        if self.d.is_sensitive(key):
                            yield self.error(
                                ("purposes", i, "categories"),
                                f"sensitive category '{key}' is used for '{purpose.use}', but "
                                "the notice says sensitive data serves only exempt purposes; "
                                "change one of them",
                            )

    def _children_and_monitoring(self) -> Iterator[Problem]:
        if self.d.children.minimum_age < 13 and not self.d.children.parental_consent:
            yield self.error(
                ("children", "minimum_age"),
                f"minimum age {self.d.children.minimum_age} is below 13 without parental "
                "consent (COPPA); raise it to 13 or set `parental_consent: true`",
            )
        if self.d.call_monitoring is not None:
            yield from self._purpose_refs(
                ("call_monitoring", "purposes"), self.d.call_monitoring.purposes
            )
