"""What the engine reports: a typed span of the original text, with a confidence score."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Finding:
    """One detected entity or intent.

    `start`/`end` are offsets (Python string indices, i.e. code points) into the text that was
    scanned, never into a normalised copy. `text` is the matched original text; it is personal
    data, so it is left out of `to_dict()` and of `repr()`.
    """

    type: str
    start: int
    end: int
    score: float
    text: str | None = field(default=None, repr=False, compare=False)

    @property
    def entity_type(self) -> str:
        """Presidio's name for `type`, so code written for Presidio reads our findings."""
        return self.type

    def to_dict(self) -> dict[str, object]:
        return {"type": self.type, "start": self.start, "end": self.end, "score": self.score}
