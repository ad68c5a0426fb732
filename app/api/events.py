"""Wire events produced by the StepFun client while a reply streams.

Both API styles (Chat Completions and Messages) are turned into these, so nothing above
`app/api` needs to know which one was used.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.usage import Usage  # a stream event too; defined below the layers (the store keeps it)

__all__ = ["ContentDelta", "Finished", "ReasoningDelta", "Retrying", "StreamEvent", "Usage"]


@dataclass(frozen=True, slots=True)
class ReasoningDelta:
    """A piece of the model's thinking text."""

    text: str


@dataclass(frozen=True, slots=True)
class ContentDelta:
    """A piece of the answer text."""

    text: str


@dataclass(frozen=True, slots=True)
class Finished:
    """The server ended the reply: `stop`, `length`, `content_filter` or `tool_calls`."""

    reason: str


@dataclass(frozen=True, slots=True)
class Retrying:
    """A request failed before any reply arrived and will be sent again after `delay` s."""

    attempt: int
    delay: float
    reason: str


StreamEvent = ReasoningDelta | ContentDelta | Usage | Finished | Retrying
