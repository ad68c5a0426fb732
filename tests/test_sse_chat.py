"""The SSE chunk parsers on exact batches: what a network read's worth of data lines gives.

Over real HTTP the stand-in decides how lines fall into reads; here each case fixes the
batches, so a bad line in the middle of a batch is tested for certain (tests/test_api_faults.py
runs the same over the wire).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable

import pytest

from app.api.errors import ApiError, ContentBlocked, StreamInterrupted
from app.api.events import ContentDelta, Finished, ReasoningDelta, StreamEvent, Usage
from app.api.sse_chat import chat_batches
from app.api.sse_json import decode
from app.api.sse_messages import messages_batches


def chunk(content: str = "", reasoning: str = "", finish: str = "", done: int = 0) -> str:
    delta = {"role": "", "content": content, **({"reasoning": reasoning} if reasoning else {})}
    return json.dumps({"id": "c", "object": "chat.completion.chunk",
                       "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                       "usage": {"prompt_tokens": 5, "completion_tokens": done}})


def text_delta(text: str) -> str:
    return json.dumps({"type": "content_block_delta", "index": 0,
                       "delta": {"type": "text_delta", "text": text}})


async def _feed(batches: list[list[str]]) -> AsyncIterator[list[str]]:
    for batch in batches:
        yield batch


Parser = Callable[[AsyncIterator[list[str]], str | None], AsyncIterator[list[StreamEvent]]]


async def _run(parser: Parser, batches: list[list[str]]
               ) -> tuple[list[list[StreamEvent]], ApiError | None]:
    out: list[list[StreamEvent]] = []
    try:
        async for events in parser(_feed(batches), "trace-1"):
            out.append(events)
    except ApiError as err:
        return out, err
    return out, None


async def test_one_list_per_read_and_finished_last() -> None:
    out, err = await _run(chat_batches, [
        [chunk(reasoning="hm", done=1), chunk("Hel", done=2), chunk("lo", done=3)],
        [chunk(" there", done=4), chunk(finish="stop", done=4), "[DONE]"],
    ])
    assert err is None
    assert out == [[ReasoningDelta("hm"), ContentDelta("Hel"), ContentDelta("lo"),
                    Usage(5, 3, 0)],
                   [ContentDelta(" there"), Usage(5, 4, 0), Finished("stop")]]


async def test_done_without_a_finish_reason_is_stop_in_the_same_list() -> None:
    out, err = await _run(chat_batches, [[chunk("a", done=1), chunk("b", done=2), "[DONE]"]])
    assert err is None
    assert out == [[ContentDelta("a"), ContentDelta("b"), Usage(5, 2, 0), Finished("stop")]]


async def test_finish_in_one_read_and_done_in_the_next() -> None:
    out, err = await _run(chat_batches, [[chunk("a", finish="length", done=1)], ["[DONE]"]])
    assert err is None
    assert out == [[ContentDelta("a"), Usage(5, 1, 0)], [Finished("length")]]


@pytest.mark.parametrize("bad", ['{"choices": [{"delta": ', "[1, 2]", '"text"', "{}x",
                                 "\ufeff{}", "[" * 100_000 + "]" * 100_000])
async def test_a_bad_line_mid_batch_hands_on_the_good_ones_first(bad: str) -> None:
    out, err = await _run(chat_batches, [
        [chunk("a", done=1)],
        [chunk("b", done=2), chunk("c", done=3), bad, chunk("never", done=4)],
    ])
    assert isinstance(err, StreamInterrupted) and "malformed" in err.message
    assert err.trace_id == "trace-1"
    assert out == [[ContentDelta("a"), Usage(5, 1, 0)], [ContentDelta("b"), ContentDelta("c")]]


async def test_an_error_object_mid_batch_after_the_good_ones() -> None:
    blocked = json.dumps({"error": {"type": "censorship_block", "message": "no"}})
    out, err = await _run(chat_batches, [[chunk("a", done=1), blocked, chunk("b", done=2)]])
    assert isinstance(err, ContentBlocked)
    assert out == [[ContentDelta("a")]]


async def test_content_filter_hands_on_the_last_deltas_then_blocks() -> None:
    out, err = await _run(chat_batches, [[chunk("a", done=1),
                                          chunk(finish="content_filter", done=1), "[DONE]"]])
    assert isinstance(err, ContentBlocked)
    assert out == [[ContentDelta("a"), Usage(5, 1, 0)]]


async def test_a_stream_cut_before_done_ends_early_after_its_deltas() -> None:
    out, err = await _run(chat_batches, [[chunk("a", done=1)], [chunk("b", done=2)]])
    assert isinstance(err, StreamInterrupted) and "ended before" in err.message
    assert out == [[ContentDelta("a"), Usage(5, 1, 0)], [ContentDelta("b"), Usage(5, 2, 0)]]


async def test_messages_a_bad_line_mid_batch_hands_on_the_good_ones_first() -> None:
    out, err = await _run(messages_batches, [
        [json.dumps({"type": "message_start", "message": {"usage": {"input_tokens": 7}}}),
         text_delta("x"), text_delta("y"), "not json", text_delta("never")],
    ])
    assert isinstance(err, StreamInterrupted) and "malformed" in err.message
    assert out == [[Usage(7, 0, 0), ContentDelta("x"), ContentDelta("y")]]


async def test_messages_one_list_per_read_and_finished_last() -> None:
    out, err = await _run(messages_batches, [
        [text_delta("x")],
        [json.dumps({"type": "message_delta", "delta": {"stop_reason": "end_turn"},
                     "usage": {"output_tokens": 2}}),
         json.dumps({"type": "message_stop"})],
    ])
    assert err is None
    assert out == [[ContentDelta("x")], [Usage(0, 2, 0), Finished("stop")]]


@pytest.mark.parametrize("data", [
    '{"a": 1}', ' {"a": 1}', '{"a": 1} ', '\t{"a": [1, 2.5, null, true]}\r', '"s"', "3",
    "NaN", "-Infinity", '{"a": "\\u00e9\\ud83d\\ude00"}', '{"a": 1}{"b": 2}', '{"a": 1} x',
    "", " ", "\ufeff{}", "{", "[1,]", '{"a" 1}', "nul", "[" * 100_000 + "]" * 100_000,
])
def test_decode_is_json_loads(data: str) -> None:
    """Same value, or the same kind of failure, as `json.loads` for every shape a server
    could send: exact values, whitespace around them, extra data, garbage, deep nesting."""
    try:
        expected: object = json.loads(data)
    except (ValueError, RecursionError) as exc:
        with pytest.raises(type(exc)):
            decode(data)
        return
    got = decode(data)
    assert got == expected or (got != got and expected != expected)  # NaN is not NaN
    assert type(got) is type(expected)
