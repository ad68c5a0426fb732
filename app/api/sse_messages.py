"""Messages-API (Anthropic-style) replies → the same wire events as Chat Completions.

Tolerates StepFun's documented variations (stepfun-api.md §4): `message_start` without usage,
`stop_reason` at the top of `message_delta` or nested in its `delta`, and thinking blocks that
may or may not be sent.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from app.api.errors import ApiError, ContentBlocked, StreamInterrupted
from app.api.events import ContentDelta, Finished, ReasoningDelta, StreamEvent, Usage
from app.api.sse_chat import BLOCKED, ENDED_EARLY, MALFORMED, chunk_error
from app.api.sse_json import decode

STOP_REASONS = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length",
                "tool_use": "tool_calls", "refusal": "content_filter"}


def finish_reason(stop_reason: str) -> str:
    """Map an Anthropic `stop_reason` onto the Chat Completions vocabulary of `Finished`."""
    return STOP_REASONS.get(stop_reason, stop_reason)


def _usage(raw: Any, prompt: int) -> Usage | None:
    if not isinstance(raw, dict):
        return None
    return Usage(raw.get("input_tokens") or prompt, raw.get("output_tokens") or 0,
                 raw.get("cache_read_input_tokens") or raw.get("cached_tokens") or 0)


async def messages_batches(batches: AsyncIterator[list[str]], trace_id: str | None
                           ) -> AsyncIterator[list[StreamEvent]]:
    """Yield the events of one streamed Messages reply, one list per network read, as
    `app.api.sse_chat.chat_batches` does: the last list ends with Finished, or an ApiError is
    raised after the events that came before the failure."""
    stop: str | None = None
    prompt = 0
    events: list[StreamEvent] = []
    ended = False
    async for batch in batches:
        events = []
        failure: ApiError | None = None
        for data in batch:
            try:
                event = decode(data)
                kind = event.get("type")
            except (ValueError, AttributeError, RecursionError):  # a server controls nesting
                failure = StreamInterrupted(MALFORMED, trace_id=trace_id)
                break
            if kind == "content_block_delta":
                delta = event.get("delta") or {}
                dtype = delta.get("type")
                if dtype == "text_delta" and delta.get("text"):
                    events.append(ContentDelta(delta["text"]))
                elif dtype == "thinking_delta" and delta.get("thinking"):
                    events.append(ReasoningDelta(delta["thinking"]))
            elif kind == "message_start":
                usage = _usage((event.get("message") or {}).get("usage"), 0)
                if usage is not None:
                    prompt = usage.prompt
                    events.append(usage)
            elif kind == "message_delta":
                nested = event.get("delta") or {}
                stop = event.get("stop_reason") or nested.get("stop_reason") or stop
                usage = _usage(event.get("usage"), prompt)
                if usage is not None:
                    events.append(usage)
            elif kind == "message_stop":
                stop = stop or "end_turn"
                ended = True
                break
            elif kind == "error":
                failure = chunk_error(event.get("error"), trace_id)
                break
        if failure is not None:
            if events:
                yield events
            raise failure
        if ended:
            break
        if events:
            yield events
    else:
        events = []
    reason = None if stop is None else finish_reason(stop)
    if reason is None or reason == "content_filter":
        if events:
            yield events
        if reason is None:
            raise StreamInterrupted(ENDED_EARLY, trace_id=trace_id)
        raise ContentBlocked(BLOCKED, trace_id=trace_id)
    events.append(Finished(reason))
    yield events


def messages_result(body: dict[str, Any], trace_id: str | None
                    ) -> tuple[str, str, Usage | None, str | None]:
    """(content, reasoning, usage, finish_reason) of a non-streamed Messages reply."""
    if body.get("type") == "error" or ("error" in body and "content" not in body):
        raise chunk_error(body.get("error"), trace_id)
    content, reasoning = [], []
    for block in body.get("content") or []:
        if block.get("type") == "text":
            content.append(block.get("text") or "")
        elif block.get("type") == "thinking":
            reasoning.append(block.get("thinking") or "")
    stop = body.get("stop_reason")
    reason = finish_reason(stop) if stop else None
    if reason == "content_filter":
        raise ContentBlocked(BLOCKED, trace_id=trace_id)
    return "".join(content), "".join(reasoning), _usage(body.get("usage"), 0), reason
