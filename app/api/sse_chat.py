"""Chat Completions replies → wire events, streamed (SSE) or whole.

Survives the quirks in stepfun-api.md §2.3–2.5: `""` and `null` mean the same for
`finish_reason`, `role` and `content`; usage is cumulative on every chunk and `cached_tokens` may
sit at the top of `usage` or in `prompt_tokens_details`; thinking arrives as `reasoning` or, with
`reasoning_format=deepseek-style`, as `reasoning_content`. This loop runs once per delta, so it is
kept lean: one JSON decode (`app.api.sse_json`), plain dict lookups, no regex, Usage only when it
changed, and the events of one network read handed up together.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from app.api.errors import ApiError, ContentBlocked, StreamInterrupted
from app.api.events import ContentDelta, Finished, ReasoningDelta, StreamEvent, Usage
from app.api.sse_json import decode

MALFORMED = "The server sent a malformed chunk, so the reply was cut off."
ENDED_EARLY = "The reply ended before the server finished it; the connection may have dropped."
BLOCKED = "StepFun's content review stopped the reply."


def usage_from(raw: dict[str, Any]) -> Usage:
    """Usage from an OpenAI-style usage object, reading `cached_tokens` in both places."""
    cached = raw.get("cached_tokens")
    if not cached:
        details = raw.get("prompt_tokens_details")
        cached = details.get("cached_tokens") if isinstance(details, dict) else 0
    out = raw.get("completion_tokens_details")
    reasoning = out.get("reasoning_tokens") if isinstance(out, dict) else None
    return Usage(raw.get("prompt_tokens") or 0, raw.get("completion_tokens") or 0, cached or 0,
                 reasoning if isinstance(reasoning, int) else None)


def chunk_error(err: Any, trace_id: str | None) -> ApiError:
    """An `{"error": …}` object sent inside the stream instead of a chunk."""
    message = str(err.get("message") or "") if isinstance(err, dict) else str(err)
    if isinstance(err, dict) and err.get("type") == "censorship_block":
        return ContentBlocked(BLOCKED, trace_id=trace_id)
    said = f": {message.rstrip('.')}." if message else "."
    return StreamInterrupted(f"The server reported an error mid-reply{said}", trace_id=trace_id)


async def chat_batches(batches: AsyncIterator[list[str]], trace_id: str | None
                       ) -> AsyncIterator[list[StreamEvent]]:
    """Yield the events of one streamed reply, one list per network read; the last list ends
    with Finished, or an ApiError is raised after the events that came before the failure.

    `batches` are SSE data payloads grouped per network read (`app.api.sse_lines`). Keeping
    the read's events together lets every layer above take one step per read rather than one
    per delta. Usage is cumulative, so only the latest of a batch is kept, and only when it
    changed.
    """
    finish: str | None = None
    # The all-zero preamble usage is not worth an event.
    last_usage: tuple[int, int, int, int | None] = (0, 0, 0, None)
    done = False
    events: list[StreamEvent] = []
    async for batch in batches:
        events = []
        failure: ApiError | None = None
        raw = None
        for data in batch:
            if data == "[DONE]":
                done = True
                break
            try:
                chunk = decode(data)
                choices = chunk.get("choices")
            except (ValueError, AttributeError, RecursionError):  # a server controls nesting
                failure = StreamInterrupted(MALFORMED, trace_id=trace_id)
                break
            if choices:
                choice = choices[0]
                delta = choice.get("delta")
                if delta:
                    text = delta.get("reasoning") or delta.get("reasoning_content")
                    if text:
                        events.append(ReasoningDelta(text))
                    text = delta.get("content")
                    if text:
                        events.append(ContentDelta(text))
                reason = choice.get("finish_reason")
                if reason:
                    finish = reason
            elif "error" in chunk:
                failure = chunk_error(chunk["error"], trace_id)
                break
            raw = chunk.get("usage") or raw
        if failure is not None:
            if events:  # the good deltas before the failure are shown and kept
                yield events
            raise failure
        if raw:
            usage = usage_from(raw)
            key = (usage.prompt, usage.completion, usage.cached, usage.reasoning)
            if key != last_usage:
                last_usage = key
                events.append(usage)
        if done:
            break
        if events:
            yield events
    else:
        events = []
    if finish is None and not done:  # every list was handed on in the loop
        raise StreamInterrupted(ENDED_EARLY, trace_id=trace_id)
    if finish == "content_filter":
        if events:
            yield events
        raise ContentBlocked(BLOCKED, trace_id=trace_id)
    events.append(Finished(finish or "stop"))  # [DONE] without a finish reason: "stop"
    yield events


def chat_result(body: dict[str, Any], trace_id: str | None
                ) -> tuple[str, str, Usage | None, str | None]:
    """(content, reasoning, usage, finish_reason) of a non-streamed reply."""
    choices = body.get("choices") or []
    if not choices:
        if "error" in body:
            raise chunk_error(body["error"], trace_id)
        raise StreamInterrupted("The server sent a reply with no choices.", trace_id=trace_id)
    choice = choices[0]
    message = choice.get("message") or {}
    reasoning = message.get("reasoning") or message.get("reasoning_content") or ""
    finish = choice.get("finish_reason") or None
    if finish == "content_filter":
        raise ContentBlocked(BLOCKED, trace_id=trace_id)
    raw = body.get("usage")
    usage = usage_from(raw) if isinstance(raw, dict) else None
    return message.get("content") or "", reasoning, usage, finish
