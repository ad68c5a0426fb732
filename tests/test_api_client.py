"""StepClient against the real HTTP stand-in: streaming, whole replies, both API styles, files."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from app.api.client import StepClient, Timeouts
from app.api.errors import BadRequest, FileNotFound
from app.api.events import ContentDelta, Finished, ReasoningDelta, StreamEvent, Usage
from app.api.request import ChatMessage, ChatRequest, MediaRef
from tests.conftest import TEST_API_KEY
from tests.standin import StandIn

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64


@pytest.fixture
async def client(standin: StandIn) -> AsyncIterator[StepClient]:
    async with StepClient(base_url=standin.base_url, api_key=TEST_API_KEY, backoff=0.01,
                          timeouts=Timeouts(read=5)) as step:
        yield step


def _req(*messages: ChatMessage, **kw: object) -> ChatRequest:
    return ChatRequest(model="step-3.7-flash", messages=messages, **kw)  # type: ignore[arg-type]


async def _collect(client: StepClient, req: ChatRequest) -> list[StreamEvent]:
    return [event async for event in client.stream_chat(req)]


def _text(events: list[StreamEvent], kind: type) -> str:
    return "".join(e.text for e in events if isinstance(e, kind))


def _file(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


async def test_stream_chat_yields_reasoning_then_content_usage_and_finished(
        client: StepClient, standin: StandIn) -> None:
    events = await _collect(client, _req(ChatMessage("user", "hello there")))
    assert _text(events, ReasoningDelta) == "The user asks: hello there"
    assert _text(events, ContentDelta) == ("Seen 0 image(s) and 0 video(s) in 1 user turn(s) "
                                           "at medium effort. You said: hello there")
    kinds = [type(e) for e in events]
    assert kinds.index(ReasoningDelta) < kinds.index(ContentDelta)
    assert events[-1] == Finished("stop")
    usages = [e for e in events if isinstance(e, Usage)]
    deltas = sum(isinstance(e, ContentDelta | ReasoningDelta) for e in events)
    assert usages and usages[-1].completion == deltas  # one token per delta at the stand-in
    assert all(u != Usage(0, 0, 0) for u in usages)
    assert client.last_trace_id == standin.chat_requests()[-1].trace_id


async def test_request_on_the_wire(client: StepClient, standin: StandIn) -> None:
    await _collect(client, _req(ChatMessage("user", "describe", (
        MediaRef("image", "image/png", "data:image/png;base64,iVBORw0KGgoAAAAAAAAAAA=="),))))
    rec = standin.chat_requests()[-1]
    assert rec.headers["Authorization"] == f"Bearer {TEST_API_KEY}"
    body = rec.json
    assert body["stream"] is True and body["reasoning_effort"] == "medium"
    assert "max_tokens" not in body
    parts = body["messages"][0]["content"]
    assert parts[0]["image_url"]["detail"] == "high" and parts[-1]["type"] == "text"


async def test_multi_turn_context_and_cached_tokens(client: StepClient, standin: StandIn,
                                                    tmp_path: Path) -> None:
    first = await client.upload_file(_file(tmp_path, "a.png", PNG), mime="image/png")
    second = await client.upload_file(_file(tmp_path, "b.mp4", MP4), mime="video/mp4")
    req = _req(ChatMessage("user", "one", (MediaRef("image", "image/png", f"stepfile://{first.id}"),
                                           MediaRef("image", "image/png",
                                                    f"stepfile://{first.id}"))),
               ChatMessage("assistant", "ok"),
               ChatMessage("user", "two", (MediaRef("video", "video/mp4",
                                                    f"stepfile://{second.id}"),)))
    events = await _collect(client, req)
    assert _text(events, ContentDelta).startswith("Seen 2 image(s) and 1 video(s) in 2 user")
    last = [e for e in events if isinstance(e, Usage)][-1]
    assert last.cached > 0 and last.prompt > last.cached


async def test_base_url_with_trailing_slash(standin: StandIn) -> None:
    async with StepClient(base_url=standin.base_url + "/", api_key=TEST_API_KEY) as step:
        assert await step.list_models() == ["step-3.7-flash", "step-3.5-flash",
                                            "step-3.5-flash-2603", "step-1o-turbo-vision"]


async def test_reasoning_content_field_is_read(client: StepClient, standin: StandIn) -> None:
    standin.reasoning_key = "reasoning_content"
    events = await _collect(client, _req(ChatMessage("user", "deep")))
    assert _text(events, ReasoningDelta) == "The user asks: deep"
    result = await client.chat(_req(ChatMessage("user", "deep")))
    assert result.reasoning == "The user asks: deep"


async def test_configured_reply_and_chunking(client: StepClient, standin: StandIn) -> None:
    standin.reply(content="Hello, world!", reasoning="", chunks=5)
    events = await _collect(client, _req(ChatMessage("user", "hi")))
    deltas = [e.text for e in events if isinstance(e, ContentDelta)]
    assert "".join(deltas) == "Hello, world!" and len(deltas) == 5
    assert not _text(events, ReasoningDelta)


async def test_non_streaming_chat_both_styles(client: StepClient, standin: StandIn) -> None:
    result = await client.chat(_req(ChatMessage("user", "whole")))
    assert result.content.endswith("You said: whole")
    assert result.reasoning == "The user asks: whole"
    assert result.finish_reason == "stop" and result.usage is not None
    assert standin.chat_requests()[-1].json["stream"] is False
    result = await client.chat(_req(ChatMessage("user", "whole"), api_style="messages"))
    assert result.content.endswith("You said: whole") and result.finish_reason == "stop"
    assert result.reasoning == "The user asks: whole"
    assert standin.messages_requests()[-1].json["max_tokens"] > 0


@pytest.mark.parametrize("nested", [False, True])
@pytest.mark.parametrize("thinking", [False, True])
async def test_messages_stream(client: StepClient, standin: StandIn, tmp_path: Path,
                               nested: bool, thinking: bool) -> None:
    standin.messages_stop_nested, standin.messages_thinking = nested, thinking
    image = MediaRef("image", "image/png", "stepfile://unused", _file(tmp_path, "i.png", PNG))
    req = _req(ChatMessage("user", "look", (image,)), api_style="messages", effort="high")
    events = await _collect(client, req)
    assert _text(events, ContentDelta).startswith("Seen 1 image(s)")
    assert _text(events, ReasoningDelta) == ("The user asks: look" if thinking else "")
    assert events[-1] == Finished("stop")
    assert isinstance(events[-2], Usage) and events[-2].prompt > 0
    body = standin.messages_requests()[-1].json
    assert body["output_config"] == {"effort": "high"}
    assert body["messages"][0]["content"][0]["source"]["type"] == "base64"


async def test_video_requests_use_chat_completions_even_in_messages_style(
        client: StepClient, standin: StandIn) -> None:
    fid = standin.add_file(MP4, "v.mp4")
    req = _req(ChatMessage("user", "watch", (MediaRef("video", "video/mp4",
                                                      f"stepfile://{fid}"),)),
               api_style="messages")
    events = await _collect(client, req)
    assert events[-1] == Finished("stop")
    assert len(standin.chat_requests()) == 1 and not standin.messages_requests()


@pytest.mark.parametrize("style", ["chat", "messages"])
async def test_finish_length_is_reported(client: StepClient, standin: StandIn,
                                         style: str) -> None:
    standin.fault("finish_length", endpoint=style)
    events = await _collect(client, _req(ChatMessage("user", "long"), api_style=style))
    assert events[-1] == Finished("length")


async def test_flood_of_deltas_arrives_complete(client: StepClient, standin: StandIn) -> None:
    standin.fault("flood", count=20_000)
    events = await _collect(client, _req(ChatMessage("user", "flood")))
    assert sum(isinstance(e, ContentDelta) for e in events) == 20_000
    assert [e for e in events if isinstance(e, Usage)][-1].completion == 20_000
    assert events[-1] == Finished("stop")


@pytest.mark.parametrize(("crlf", "comments"), [(True, False), (False, True), (True, True)])
async def test_sse_line_endings_and_comments(client: StepClient, standin: StandIn,
                                             crlf: bool, comments: bool) -> None:
    standin.crlf, standin.sse_comments = crlf, comments
    events = await _collect(client, _req(ChatMessage("user", "lines")))
    assert _text(events, ContentDelta).endswith("You said: lines")
    standin.fault("flood", count=5000)  # 64 KiB writes split lines (and CRLF pairs) anywhere
    events = await _collect(client, _req(ChatMessage("user", "lines")))
    assert sum(isinstance(e, ContentDelta) for e in events) == 5000
    assert events[-1] == Finished("stop")


async def test_paced_stream_arrives_complete(client: StepClient, standin: StandIn) -> None:
    standin.fault("paced", count=300, duration=0.6)
    events = await _collect(client, _req(ChatMessage("user", "paced")))
    assert sum(isinstance(e, ContentDelta) for e in events) == 300


async def test_cancelling_the_consumer_closes_the_stream(client: StepClient,
                                                         standin: StandIn) -> None:
    standin.fault("stall", after=3)
    first = asyncio.Event()

    async def consume() -> None:
        async for event in client.stream_chat(_req(ChatMessage("user", "stall"))):
            if isinstance(event, ContentDelta | ReasoningDelta):
                first.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(first.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 2)
    # The connection pool is usable straight away.
    assert (await _collect(client, _req(ChatMessage("user", "next"))))[-1] == Finished("stop")


async def test_closing_the_generator_early_frees_the_connection(client: StepClient) -> None:
    for _ in range(3):  # more than once: a leaked connection would pile up
        async with contextlib.aclosing(client.stream_chat(_req(ChatMessage("user", "x")))) as gen:
            async for event in gen:
                if isinstance(event, ContentDelta):
                    break
    assert (await _collect(client, _req(ChatMessage("user", "y"))))[-1] == Finished("stop")


# -- files and models ------------------------------------------------------------------------
async def test_upload_streams_a_multi_megabyte_file_byte_for_byte(
        client: StepClient, standin: StandIn, tmp_path: Path) -> None:
    data = PNG + os.urandom(5 * 1024 * 1024 + 123)
    path = _file(tmp_path, "big.png", data)
    progress: list[tuple[int, int]] = []
    obj = await client.upload_file(path, mime="image/png",
                                   progress=lambda sent, total: progress.append((sent, total)))
    rec = standin.upload_requests()[-1]
    assert rec.file_bytes == data and rec.filename == "big.png" and rec.purpose == "storage"
    assert int(rec.headers["Content-Length"]) > len(data)
    assert "Transfer-Encoding" not in rec.headers
    assert obj.bytes == len(data) and obj.id.startswith("file-") and obj.status == "processed"
    assert len(progress) > 10 and progress[-1] == (len(data), len(data))
    assert [p[0] for p in progress] == sorted(p[0] for p in progress)


@pytest.mark.parametrize("name", ['photo "1".png', "照片 é.png", "back\\slash.png"])
async def test_upload_quotes_filenames_safely(client: StepClient, standin: StandIn,
                                              tmp_path: Path, name: str) -> None:
    obj = await client.upload_file(_file(tmp_path, "x.png", PNG), filename=name)
    assert obj.filename == name == standin.upload_requests()[-1].filename


async def test_file_get_list_delete(client: StepClient, standin: StandIn,
                                    tmp_path: Path) -> None:
    obj = await client.upload_file(_file(tmp_path, "a.png", PNG))
    assert await client.get_file(obj.id) == obj
    assert [f.id for f in await client.list_files()] == [obj.id]
    await client.delete_file(obj.id)
    assert await client.list_files() == []
    with pytest.raises(FileNotFound):
        await client.get_file(obj.id)
    with pytest.raises(FileNotFound):
        await client.delete_file(obj.id)


async def test_upload_with_a_wrong_purpose_is_a_bad_request(client: StepClient,
                                                            tmp_path: Path) -> None:
    with pytest.raises(BadRequest, match="purpose"):
        await client.upload_file(_file(tmp_path, "a.png", PNG), purpose="file-extract")


async def test_stream_with_a_stepfile_and_detail_low(client: StepClient, standin: StandIn,
                                                     tmp_path: Path) -> None:
    obj = await client.upload_file(_file(tmp_path, "a.png", PNG), mime="image/png")
    req = dataclasses.replace(_req(ChatMessage("user", "x", (
        MediaRef("image", "image/png", f"stepfile://{obj.id}"),))), detail="low")
    await _collect(client, req)
    body = standin.chat_requests()[-1].json
    assert json.dumps(body).count(f"stepfile://{obj.id}") == 1
    assert body["messages"][0]["content"][0]["image_url"]["detail"] == "low"


# -- construction: proxy, environment, transport ----------------------------------------------
async def test_proxy_comes_from_the_constructor(standin: StandIn) -> None:
    proxy = standin.base_url.removesuffix("/v1")  # the stand-in accepts absolute-form requests
    async with StepClient(base_url="http://api.stepfun.invalid/v1", api_key=TEST_API_KEY,
                          proxy=proxy) as step:
        assert len(await step.list_models()) == 4
    assert standin.requests[-1].headers["Host"] == "api.stepfun.invalid"


async def test_proxy_environment_is_ignored(standin: StandIn,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(var, "http://127.0.0.1:9")  # nothing listens there
    async with StepClient(base_url=standin.base_url, api_key=TEST_API_KEY) as step:
        assert len(await step.list_models()) == 4


async def test_transport_is_injectable_and_verify_takes_an_ssl_context(
        standin: StandIn) -> None:
    import ssl

    transport = httpx.AsyncHTTPTransport(retries=0)
    async with StepClient(base_url=standin.base_url, api_key=TEST_API_KEY,
                          transport=transport) as step:
        assert len(await step.list_models()) == 4
    async with StepClient(base_url="https://api.stepfun.ai/v1", api_key=TEST_API_KEY,
                          verify=ssl.create_default_context()):
        pass
