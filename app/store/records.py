"""Plain, immutable records handed out by the Store (no live rows cross the thread boundary)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

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
