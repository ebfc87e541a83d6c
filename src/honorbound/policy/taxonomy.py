"""The names a declaration may use for data categories and purposes (data uses).

fideslang's default taxonomy first; then the project extension below for what a contact
center handles and fideslang lacks (recordings, transcripts, chat logs, HR history, ...).
Project keys follow the same dotted scheme and each has a parent that already exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

import yaml


@dataclass(frozen=True)
class TaxonomyEntry:
    key: str
    name: str
    description: str
    parent: str | None
    source: str  # "fideslang" or "honorbound"


# Contact-center categories fideslang 3 does not have. Checked against the installed
# default taxonomy: `user.workplace` and `user.job_title` exist, but no employment or
# education history, no veteran/disability status, no call recording/transcript/chat log.
PROJECT_CATEGORIES: tuple[TaxonomyEntry, ...] = (
    TaxonomyEntry(
        "user.contact_center",
        "Contact-center interaction data",
        "What a person says or writes to agents, and the records of those interactions.",
        "user",
        "honorbound",
    ),
    TaxonomyEntry(
        "user.contact_center.call_recording",
        "Call recording",
        "Audio of a telephone or voice call with an agent or an IVR.",
        "user.contact_center",
        "honorbound",
    ),
    TaxonomyEntry(
        "user.contact_center.transcript",
        "Call transcript",
        "Text produced from a call recording, by a person or by speech recognition.",
        "user.contact_center",
        "honorbound",
    ),
    TaxonomyEntry(
        "user.contact_center.chat_log",
        "Chat log",
        "Messages exchanged in web chat, SMS, social messaging or email support.",
        "user.contact_center",
        "honorbound",
    ),
    TaxonomyEntry(
        "user.contact_center.interaction_metadata",
        "Interaction metadata",
        "When, how long, through which channel and with which agent a contact happened.",
        "user.contact_center",
        "honorbound",
    ),
    TaxonomyEntry(
        "user.education_history",
        "Education history",
        "Schools, degrees, certificates and statements about a person's education.",
        "user",
        "honorbound",
    ),
    TaxonomyEntry(
        "user.employment_history",
        "Employment history",
        "Jobs held, employers, salary, certifications and qualifications; resumes.",
        "user",
        "honorbound",
    ),
    TaxonomyEntry(
        "user.background_check",
        "Background check",
        "Results of background screening done for onboarding agents or contractors.",
        "user",
        "honorbound",
    ),
    TaxonomyEntry(
        "user.demographic.veteran_status",
        "Veteran status",
        "Whether a person served in the armed forces, and related status.",
        "user.demographic",
        "honorbound",
    ),
    TaxonomyEntry(
        "user.demographic.disability_status",
        "Disability status",
        "Whether a person has a disability, as stated by them or a third party.",
        "user.demographic",
        "honorbound",
    ),
    TaxonomyEntry(
        "user.demographic.physical_characteristics",
        "Physical characteristics",
        "Height, weight and other physical descriptions of a person.",
        "user.demographic",
        "honorbound",
    ),
    TaxonomyEntry(
        "user.financial.assets_and_income",
        "Assets and income",
        "Statements about ownership of assets, income or salary.",
        "user.financial",
        "honorbound",
    ),
    TaxonomyEntry(
        "user.financial.billing",
        "Billing information",
        "Billing address, invoices and payment history other than card or bank numbers.",
        "user.financial",
        "honorbound",
    ),
)

PROJECT_USES: tuple[TaxonomyEntry, ...] = (
    TaxonomyEntry(
        "essential.service.operations.quality_assurance",
        "Quality assurance and training",
        "Monitoring or recording contacts to train agents and check service quality.",
        "essential.service.operations",
        "honorbound",
    ),
    TaxonomyEntry(
        "marketing.market_research",
        "Market research and surveys",
        "Customer satisfaction surveys and research questionnaires.",
        "marketing",
        "honorbound",
    ),
    TaxonomyEntry(
        "employment.onboarding",
        "Onboarding agents and contractors",
        "Evaluating, qualifying, certifying and background-checking agents and contractors.",
        "employment",
        "honorbound",
    ),
    TaxonomyEntry(
        "functional.service.research_and_development",
        "Research and development",
        "Internal research to improve existing services and develop new ones.",
        "functional.service",
        "honorbound",
    ),
    TaxonomyEntry(
        "essential.service.on_behalf_of_client",
        "Services for a client (processor role)",
        "Processing done on a client's instructions as its processor or service provider.",
        "essential.service",
        "honorbound",
    ),
)

# Uses that are targeted (cross-context behavioural) advertising in the sense of US state
# laws: ads chosen from a person's activity over time and across sites. First-party
# targeting counts as targeted advertising but not as "sharing" with a third party.
TARGETED_ADVERTISING_USES: frozenset[str] = frozenset(
    {
        "marketing.advertising.first_party.targeted",
        "marketing.advertising.third_party.targeted",
        "marketing.advertising.profiling",
    }
)
THIRD_PARTY_TARGETED_USES: frozenset[str] = frozenset(
    {"marketing.advertising.third_party.targeted"}
)


def _fideslang_entries(kind: str) -> list[TaxonomyEntry]:
    from fideslang.default_taxonomy import DEFAULT_TAXONOMY

    items = DEFAULT_TAXONOMY.data_category if kind == "category" else DEFAULT_TAXONOMY.data_use
    return [
        TaxonomyEntry(
            item.fides_key,
            item.name or item.fides_key,
            item.description or "",
            item.parent_key,
            "fideslang",
        )
        for item in items
    ]


@cache
def data_categories() -> dict[str, TaxonomyEntry]:
    """Every data category key a declaration may use, by key."""
    entries = {e.key: e for e in _fideslang_entries("category")}
    entries.update({e.key: e for e in PROJECT_CATEGORIES})
    return entries


@cache
def data_uses() -> dict[str, TaxonomyEntry]:
    """Every data use (purpose) key a declaration may use, by key."""
    entries = {e.key: e for e in _fideslang_entries("use")}
    entries.update({e.key: e for e in PROJECT_USES})
    return entries


def is_within(key: str, ancestor: str) -> bool:
    """`user.contact.email` is within `user.contact` and within itself."""
    return key == ancestor or key.startswith(ancestor + ".")


def is_targeted_advertising(use: str) -> bool:
    return any(is_within(use, t) for t in TARGETED_ADVERTISING_USES)


def is_third_party_targeted(use: str) -> bool:
    return any(is_within(use, t) for t in THIRD_PARTY_TARGETED_USES)


@dataclass(frozen=True)
class SensitiveHint:
    prefix: str
    source: str


@cache
def sensitive_hints() -> tuple[SensitiveHint, ...]:
    """Category prefixes that US state laws usually treat as sensitive (data file)."""
    text = resources.files("honorbound.policy").joinpath("data/sensitive-categories.yaml")
    rows = yaml.safe_load(text.read_text(encoding="utf-8"))["sensitive"]
    return tuple(SensitiveHint(str(r["prefix"]), str(r["source"])) for r in rows)


def sensitive_hint(key: str) -> SensitiveHint | None:
    for hint in sensitive_hints():
        if is_within(key, hint.prefix):
            return hint
    return None
