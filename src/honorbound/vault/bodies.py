"""The body of one interaction as callers send it: `POST /v1/subjects/{id}/interactions`, and
each line of bulk ingest (`POST /v1/interactions/bulk`, `honorbound ingest`) with its
`subject_id`. One model for every way in, so every way in accepts and refuses the same."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from honorbound.vault.collection import NewInteraction
from honorbound.vault.models import Channel, Direction


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RecordingIn(_In):
    uri: str = Field(min_length=1, max_length=2000)
    sha256: str = Field(pattern=r"^[0-9a-fA-F]{64}$")


class InteractionIn(_In):
    channel: Channel
    direction: Direction
    started_at: AwareDatetime
    ended_at: AwareDatetime | None = None
    agent: str | None = Field(default=None, max_length=200)
    text: str | None = Field(
        default=None,
        max_length=1_000_000,
        description="Transcript, chat, email or form body. Screened before it is stored.",
    )
    recording: RecordingIn | None = None
    tags: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(
        default_factory=list, max_length=50
    )
    attachments: list[Any] | None = Field(
        default=None,
        max_length=50,
        description="Not taken in: any attachment is refused (422, rule "
        "`attachments_not_supported`); send a text attachment's words in `text`.",
    )

    def new_interaction(self) -> NewInteraction:
        """What the vault stores (`vault.collection.add_interaction`)."""
        return NewInteraction(
            channel=self.channel,
            direction=self.direction,
            started_at=self.started_at,
            ended_at=self.ended_at,
            agent=self.agent,
            text=self.text,
            recording_uri=self.recording.uri if self.recording else None,
            recording_sha256=self.recording.sha256 if self.recording else None,
            tags=self.tags,
        )


class BulkInteractionIn(InteractionIn):
    """One line of bulk ingest: an interaction body plus the subject it belongs to."""

    subject_id: int
