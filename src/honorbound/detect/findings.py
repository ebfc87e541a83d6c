"""What the engine reports: a typed span of the original text, with a confidence score."""

from __future__ import annotations

from typing import Final


class Finding:
    """One detected entity or intent.

    `start`/`end` are offsets (Python string indices, i.e. code points) into the text that was
    scanned, never into a normalised copy. `text` is the matched original text; it is personal
    data, so it is left out of `to_dict()`, of `repr()` and of equality.

    `value_id` links the pieces of one value delivered in several places of a conversation
    (a card read in four groups across turns, with "okay" between): each contiguous piece is
    a finding of its own, so redaction leaves the words between alone, and all pieces carry the
    same `value_id` (the start offset of the first piece). None for a value in one piece.

    A value object: compiled (see setup.py) its attributes cannot be reassigned; findings are
    equal and hash alike when type, span and score are. (Written out rather than a frozen
    dataclass, whose generated `__init__` would run interpreted and cost ~15x more.)
    """

    __slots__ = ("end", "score", "start", "text", "type", "value_id")

    def __init__(
        self,
        type: str,
        start: int,
        end: int,
        score: float,
        text: str | None = None,
        value_id: int | None = None,
    ) -> None:
        self.type: Final = type
        self.start: Final = start
        self.end: Final = end
        self.score: Final = score
        self.text: Final = text
        self.value_id: Final = value_id

    @property
    def entity_type(self) -> str:
        """Presidio's name for `type`, so code written for Presidio reads our findings."""
        return self.type

    def _key(self) -> tuple[str, int, int, float]:
        return (self.type, self.start, self.end, self.score)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Finding):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return (
            f"Finding(type={self.type!r}, start={self.start!r}, end={self.end!r}, "
            f"score={self.score!r})"
        )

    def __reduce__(
        self,
    ) -> tuple[type[Finding], tuple[str, int, int, float, str | None, int | None]]:
        # Compiled, the class has no instance dict: pickle and copy need to be told how to
        # rebuild one (job queues pickle their payloads).
        return (Finding, (self.type, self.start, self.end, self.score, self.text, self.value_id))

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "type": self.type,
            "start": self.start,
            "end": self.end,
            "score": self.score,
        }
        if self.value_id is not None:
            out["value_id"] = self.value_id
        return out
