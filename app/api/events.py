"""Wire events produced by the StepFun client while a reply streams.

Both API styles (Chat Completions and Messages) are turned into these, so nothing above
`app/api` needs to know which one was used.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass
from typing import TypeVar

from app.usage import Usage  # a stream event too; defined below the layers (the store keeps it)

__all__ = ["ContentDelta", "Finished", "ReasoningDelta", "Retrying", "StreamEvent", "Usage",
           "unbatched"]


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


T = TypeVar("T")


async def unbatched(batches: AsyncGenerator[Sequence[T], None]) -> AsyncGenerator[T, None]:
    """One event at a time from a stream of event lists (each a network read's events).

    Closing or cancelling this generator closes `batches` at once, in the same task."""
    async with contextlib.aclosing(batches):
        async for batch in batches:
            for event in batch:
                yield event
