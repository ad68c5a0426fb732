"""Turn events: the one vocabulary `chat.py` speaks to the CLI and the GUI (DESIGN.md).

The wire events `ReasoningDelta`, `ContentDelta`, `Usage` and `Retrying` are re-exported
unchanged from `app.api.events`; the rest describe the turn around them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from app.api.events import ContentDelta, ReasoningDelta, Retrying, Usage

if TYPE_CHECKING:
    from app.media.intake import PreparedMedia


@dataclass(frozen=True, slots=True)
class TurnStarted:
    conversation_id: int
    user_message_id: int
    assistant_message_id: int


@dataclass(frozen=True, slots=True)
class MediaPrepared:
    attachment: PreparedMedia
    changes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class MediaOmitted:
    """Earlier media left out of this request to stay within the request-wide limits."""

    names: tuple[str, ...]
    reason: str


@dataclass(frozen=True, slots=True)
class UploadProgress:
    """Bytes of one medium sent so far; `sha256` names the attachment (tray items key on it)."""

    sha256: str
    name: str
    sent: int
    total: int


@dataclass(frozen=True, slots=True)
class TurnFinished:
    """The reply ended: status is `complete`, `truncated` or `stopped`."""

    status: str
    finish_reason: str | None = None


@dataclass(frozen=True, slots=True)
class TurnFailed:
    """The reply failed: status is `interrupted`, `blocked` or `error`; `error` is one sentence."""

    status: str
    error: str
    exit_code: int = 3
    trace_id: str | None = field(default=None)


TurnEvent = (
    TurnStarted
    | MediaPrepared
    | MediaOmitted
    | UploadProgress
    | Retrying
    | ReasoningDelta
    | ContentDelta
    | Usage
    | TurnFinished
    | TurnFailed
)

__all__ = [
    "ContentDelta",
    "MediaOmitted",
    "MediaPrepared",
    "ReasoningDelta",
    "Retrying",
    "TurnEvent",
    "TurnFailed",
    "TurnFinished",
    "TurnStarted",
    "UploadProgress",
    "Usage",
]
