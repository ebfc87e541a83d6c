"""The words of the notices to people: `templates/notice.<language>.yaml` and the state names,
read once by the runtime (`Runtime.breach_wording`) and handed to whoever renders a notice.

What a state's notice must contain is the rules data's (`breach_notice_content`); this is only
how each part reads, in each language, and under which heading it sits."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

from honorbound.breach.errors import BreachInputError

LANGUAGES = ("en", "es")
SECTIONS = ("what_happened", "what_information", "what_we_are_doing", "what_you_can_do",
            "more_information")  # fmt: skip


@dataclass(frozen=True)
class Wording:
    by_language: dict[str, dict[str, Any]]
    state_names: dict[str, str]

    def language(self, language: str) -> dict[str, Any]:
        found = self.by_language.get(language)
        if found is None:
            raise BreachInputError("language", f"is one of {', '.join(LANGUAGES)}")
        return found


def _read(name: str) -> Any:
    return yaml.safe_load(
        resources.files("honorbound.breach").joinpath(f"templates/{name}").read_text("utf-8")
    )


def load_wording() -> Wording:
    """Read and check the shipped templates: every heading has its sections, every fragment a
    section names is written, in every language."""
    by_language: dict[str, dict[str, Any]] = {}
    for language in LANGUAGES:
        data = _read(f"notice.{language}.yaml")
        sections = data["sections"]
        missing = [s for s in SECTIONS if s not in sections or s not in data["headings"]]
        unwritten = [f for s in sections.values() for f in s if f not in data["fragments"]]
        if missing or unwritten:
            raise ValueError(
                f"templates/notice.{language}.yaml: headings or sections missing {missing}, "
                f"fragments not written {unwritten}"
            )
        by_language[language] = data
    return Wording(by_language, dict(_read("states.yaml")))
