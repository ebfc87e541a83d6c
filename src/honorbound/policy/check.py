"""`policy check`: the declaration's shape, its references, and its promises against each other.

Errors are contradictions or broken references (a notice that cannot be enforced as written).
Warnings are things a privacy officer should look at but may keep.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from honorbound.policy.jurisdictions import JurisdictionRules
from honorbound.policy.loader import parse_declaration
from honorbound.policy.problems import DeclarationError, Problem
from honorbound.policy.schema import (
    METHOD_NEEDS_CONTACT,
    PERIODLESS_TRIGGERS,
    Declaration,
    RecipientType,
    Right,
    Selection,
    Trigger,
)
from honorbound.policy.taxonomy import (
    data_categories,
    data_uses,
    is_third_party_targeted,
    sensitive_hint,
)
from honorbound.policy.yamlsource import LineMap, did_you_mean

P = tuple[str | int, ...]


def check_text(
    text: str, file: str = "<declaration>", rules: JurisdictionRules | None = None
) -> list[Problem]:
    """Every problem in a declaration, errors and warnings, sorted by line."""
    try:
        decl, lines = parse_declaration(text, file)
    except DeclarationError as exc:
        return sorted(exc.problems, key=lambda p: p.line)
    problems = list(_Checker(decl, lines, rules).run())
    return sorted(problems, key=lambda p: (p.line, p.message))


def check_file(path: str | Path, rules: JurisdictionRules | None = None) -> list[Problem]:
    path = Path(path)
    return check_text(path.read_text(encoding="utf-8"), str(path), rules)


def errors(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity == "error"]


class _Checker:
    def __init__(self, decl: Declaration, lines: LineMap, rules: JurisdictionRules | None) -> None:
        self.d = decl
        self.lines = lines
        self.rules = rules

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
                continue
            for j, juris in enumerate(offer.jurisdictions):
                state = juris.removeprefix("US-")
                row = self.rules.states.get(state)
                if row is None:
                    continue
                path = ("rights", i, "jurisdictions", j)
                if offer.response_days is not None and offer.response_days > row.respond.days:
                    yield self.warning(
                        path,
                        f"rights '{offer.id}' promise an answer in {offer.response_days} days, "
                        f"but {state} law allows {row.respond.days}; shorten `response_days`",
                    )
                if offer.extension_days is not None and offer.extension_days > row.extension.days:
                    yield self.warning(
                        path,
                        f"rights '{offer.id}' allow a {offer.extension_days}-day extension, but "
                        f"{state} law allows {row.extension.days}; shorten `extension_days`",
                    )
                offered = {r for o in self.d.rights_for(juris) for r in o.rights}
                if row.appeal.required and Right.appeal not in offered:
                    yield self.warning(
                        path,
                        f"{state} law requires an appeal of a refused request ({row.source}); "
                        "add `appeal` to the rights offered there",
                    )
        yield from self._universal_opt_out()

    def _universal_opt_out(self) -> Iterator[Problem]:
        """States that require honoring opt-out preference signals (GPC) when a business sells,
        shares or targets ads."""
        if self.rules is None:
            return
        targets = any(p.targeted_advertising for p in self.d.purposes)
        if not (self.d.sells or self.d.shares or targets):
            return
        if self.d.cookies is not None and self.d.cookies.honors_opt_out_preference_signal:
            return
        on = self.d.effective_date
        states = sorted(
            {
                j.removeprefix("US-")
                for o in self.d.rights
                for j in o.jurisdictions
                if (row := self.rules.states.get(j.removeprefix("US-"))) is not None
                and row.gpc_required(on)
            }
        )
        if states:
            yield self.warning(
                ("cookies",) if self.d.cookies is not None else ("rights",),
                f"the law of {', '.join(states)} requires honoring opt-out preference signals "
                "such as Global Privacy Control when personal data is sold, shared or used for "
                "targeted ads; set `cookies.honors_opt_out_preference_signal: true`",
            )

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
                yield self.warning(
                    ("recipients", i, "type"),
                    f"recipient '{rec.id}' is an advertising partner but is not marked as "
                    "`sharing`; if its ads are chosen from what people do on other sites, that "
                    "is sharing for targeted advertising: mark it, or say why not in "
                    "`description`",
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
