"""Plain, immutable records handed out by the Store (no live rows cross the thread boundary)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

ExportFormat = Literal["md", "json"]

STATUSES = frozenset(
    {"streaming", "complete", "truncated", "stopped", "interrupted", "blocked", "error"}
)
"""Message statuses, as in DESIGN.md's status table."""


@dataclass(frozen=True)
class Conversation:
    id: int
    title: str
    created_at: int  # ms since the epoch
    updated_at: int
    model: str
    effort: str | None
    pinned: bool


@dataclass(frozen=True)
class AttachmentRecord:
    kind: str  # "image" | "video"
    mime: str
    sha256: str
    bytes: int
    width: int | None
    height: int | None
    duration_s: float | None
    original_name: str
    ordinal: int
    id: int | None = None
    message_id: int | None = None
    edits: str | None = None  # JSON edit steps (app.media.edit_steps) applied to `edit_base`
    edit_base: str | None = None  # sha256 of the PNG blob the edits apply to ("Edit again")


@dataclass(frozen=True)
class Message:
    id: int
    conversation_id: int
    role: str
    content: str
    reasoning: str
    status: str
    error: str | None
    model: str | None
    effort: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    cached_tokens: int | None
    version_of: int | None  # id of the first message of the version group; None for the first
    reply_to: int | None  # the user message an assistant message answers
    created_at: int
    finished_at: int | None
    finish_reason: str | None
    attachments: tuple[AttachmentRecord, ...]
    comparison_id: int | None = None  # the effort comparison this answer was one column of
    kept_answer: int | None = None  # on a user turn: the answer chosen among its versions
    # An answer's timings and token counts (JSON); on a user turn {"template": slug}.
    figures: dict[str, Any] | None = None

    @property
    def template(self) -> str | None:
        """On a user turn: the slug of the task template it was sent with, if any."""
        slug = self.figures.get("template") if self.role == "user" and self.figures else None
        return slug if isinstance(slug, str) and slug else None


@dataclass(frozen=True)
class ComparisonRecord:
    """One "compare efforts" run on a user turn: the answers it made and the one kept."""

    id: int
    conversation_id: int
    user_message_id: int
    efforts: tuple[str, ...]
    template: str | None
    kept_message_id: int | None
    created_at: int
    answers: tuple[Message, ...] = ()  # its columns, in effort order as asked

    @property
    def kept_effort(self) -> str | None:
        kept = next((m for m in self.answers if m.id == self.kept_message_id), None)
        return kept.effort if kept is not None else None


@dataclass(frozen=True)
class SearchHit:
    conversation_id: int
    message_id: int
    title: str
    role: str
    snippet: str  # text around the match, matches wrapped in the requested markers
    created_at: int


@dataclass(frozen=True)
class UploadRecord:
    sha256: str
    base_url: str
    account: str
    file_id: str
    bytes: int
    uploaded_at: int
    last_used_at: int
    name: str = ""  # the file name the user attached it as (newest use), for the files view
