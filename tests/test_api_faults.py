"""Every stand-in fault through StepClient: error classes, messages, retries, no leaked key."""

from __future__ import annotations

import asyncio
import base64
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from app.api.client import StepClient, Timeouts
from app.api.errors import (
    ApiError,
    AuthError,
    BadRequest,
    ContentBlocked,
    FileNotFound,
    InsufficientBalance,
    NetworkError,
    RateLimited,
    ServerError,
    StreamInterrupted,
    Timeout,
    TooLarge,
)
from app.api.events import ContentDelta, Finished, Retrying, StreamEvent
from app.api.request import ChatMessage, ChatRequest, MediaRef
from tests.conftest import TEST_API_KEY
from tests.standin import StandIn

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64
HI = ChatRequest(model="step-3.7-flash", messages=(ChatMessage("user", "hi"),))


@pytest.fixture
async def client(standin: StandIn) -> AsyncIterator[StepClient]:
    async with StepClient(base_url=standin.base_url, api_key=TEST_API_KEY, backoff=0.01,
                          timeouts=Timeouts(read=0.5)) as step:
        yield step


def _image(url: str) -> ChatMessage:
    return ChatMessage("user", "x", (MediaRef("image", "image/png", url),))


async def _run(client: StepClient, req: ChatRequest = HI
               ) -> tuple[list[StreamEvent], ApiError | None]:
    """All events until the end or the error; asserts the key is in no error text."""
    events: list[StreamEvent] = []
    try:
        async for event in client.stream_chat(req):
            events.append(event)
    except ApiError as err:
        _assert_clean(err)
        return events, err
    return events, None


def _assert_clean(err: ApiError) -> None:
    for text in (str(err), repr(err), err.message, str(err.args)):
        assert TEST_API_KEY not in text and TEST_API_KEY[8:20] not in text
    assert err.message.endswith(".") and "\n" not in err.message


# -- status errors ---------------------------------------------------------------------------
@pytest.mark.parametrize(("fault", "cls", "words"), [
    ("status_401", AuthError, "The API key was rejected"),
    ("status_402", InsufficientBalance, "insufficient balance"),
    ("status_451", ContentBlocked, "content review"),
    ("status_413", TooLarge, "too large"),
    ("status_400", BadRequest, "refused the request"),
])
async def test_errors_that_are_never_retried(client: StepClient, standin: StandIn, fault: str,
                                             cls: type[ApiError], words: str) -> None:
    standin.fault(fault, times=None)
    events, err = await _run(client)
    assert isinstance(err, cls) and words in err.message and not events
    assert err.trace_id == standin.chat_requests()[-1].trace_id and err.trace_id in str(err)
    assert len(standin.chat_requests()) == 1


async def test_censorship_block_type_in_a_400_is_content_blocked(client: StepClient,
                                                                 standin: StandIn) -> None:
    standin.fault("status_400", type="censorship_block", message="blocked.")
    _, err = await _run(client)
    assert isinstance(err, ContentBlocked) and err.status == 400


async def test_bad_request_carries_the_servers_message(client: StepClient,
                                                       standin: StandIn) -> None:
    standin.fault("status_400", message="invalid msg role: function")
    _, err = await _run(client)
    assert isinstance(err, BadRequest) and "invalid msg role: function" in err.message


async def test_a_key_echoed_by_the_server_is_redacted(client: StepClient,
                                                      standin: StandIn) -> None:
    standin.fault("status_400", message=f"bad key {TEST_API_KEY} in header")
    _, err = await _run(client)  # _run asserts the key is absent
    assert isinstance(err, BadRequest) and "[redacted]" in err.message


async def test_wrong_key_is_an_auth_error_without_the_key(standin: StandIn) -> None:
    wrong = "sk-wrong-key-9876543210"
    async with StepClient(base_url=standin.base_url, api_key=wrong) as step:
        with pytest.raises(AuthError) as info:
            await step.list_models()
        assert wrong not in str(info.value) and wrong not in repr(info.value)
        assert wrong not in repr(step)


# -- retries ---------------------------------------------------------------------------------
async def test_429_with_retry_after_is_honoured(client: StepClient, standin: StandIn) -> None:
    standin.fault("status_429", retry_after=0.2, times=2)
    loop = asyncio.get_running_loop()
    start = loop.time()
    events, err = await _run(client)
    assert err is None and events[-1] == Finished("stop")
    retries = [e for e in events if isinstance(e, Retrying)]
    assert [(r.attempt, r.delay) for r in retries] == [(1, 0.2), (2, 0.2)]
    assert "rate-limiting" in retries[0].reason
    assert loop.time() - start >= 0.4
    assert len(standin.chat_requests()) == 3


async def test_429_without_retry_after_backs_off(client: StepClient, standin: StandIn) -> None:
    standin.fault("status_429", times=2)
    events, err = await _run(client)
    assert err is None
    delays = [e.delay for e in events if isinstance(e, Retrying)]
    assert len(delays) == 2 and all(0 < d <= 0.02 * 2 for d in delays)
    assert len(standin.chat_requests()) == 3


async def test_429_persisting_gives_up_after_max_retries(standin: StandIn) -> None:
    standin.fault("status_429", retry_after=0, times=None)
    async with StepClient(base_url=standin.base_url, api_key=TEST_API_KEY,
                          max_retries=2) as step:
        _, err = await _run(step)
    assert isinstance(err, RateLimited) and err.retry_after == 0
    assert len(standin.chat_requests()) == 3


@pytest.mark.parametrize("status", [500, 503])
async def test_server_error_then_success(client: StepClient, standin: StandIn,
                                         status: int) -> None:
    standin.fault(f"status_{status}")
    events, err = await _run(client)
    assert err is None and events[-1] == Finished("stop")
    assert len(standin.chat_requests()) == 2


async def test_server_error_persisting(client: StepClient, standin: StandIn) -> None:
    standin.fault("status_500", times=None)
    events, err = await _run(client)
    assert isinstance(err, ServerError) and "HTTP 500" in err.message
    assert sum(isinstance(e, Retrying) for e in events) == 3
    assert len(standin.chat_requests()) == 4


async def test_non_streaming_calls_retry_too(client: StepClient, standin: StandIn) -> None:
    standin.fault("status_503", endpoint="models", times=2)
    assert len(await client.list_models()) == 4
    standin.fault("status_500", endpoint="chat")
    assert (await client.chat(HI)).finish_reason == "stop"


async def test_cancelling_during_a_retry_sleep_is_immediate(standin: StandIn) -> None:
    standin.fault("status_429", retry_after=20, times=None)
    async with StepClient(base_url=standin.base_url, api_key=TEST_API_KEY) as step:
        retrying = asyncio.Event()

        async def consume() -> None:
            async for event in step.stream_chat(HI):
                if isinstance(event, Retrying):
                    retrying.set()

        task = asyncio.create_task(consume())
        await asyncio.wait_for(retrying.wait(), 5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(task, 1)
    assert len(standin.chat_requests()) == 1


async def test_connection_refused_is_a_network_error_naming_the_host() -> None:
    with socket.socket() as sock:  # a port that nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with StepClient(base_url=f"http://127.0.0.1:{port}/v1", api_key=TEST_API_KEY,
                          backoff=0.01) as step:
        events, err = await _run(step)
        assert isinstance(err, NetworkError) and "127.0.0.1" in err.message
        assert sum(isinstance(e, Retrying) for e in events) == 3
        with pytest.raises(NetworkError, match=r"127\.0\.0\.1"):
            await step.list_files()


# -- mid-stream faults: never retried once the reply started -------------------------------
@pytest.mark.parametrize("style", ["chat", "messages"])
async def test_dropped_connection_mid_stream(client: StepClient, standin: StandIn,
                                             style: str) -> None:
    standin.fault("drop", endpoint=style, after=3)
    events, err = await _run(client, ChatRequest(model="step-3.7-flash", api_style=style,
                                                 messages=(ChatMessage("user", "hi"),)))
    assert isinstance(err, StreamInterrupted) and "dropped" in err.message
    assert err.trace_id is not None
    assert events and not any(isinstance(e, Finished) for e in events)
    assert len(standin.chat_requests() if style == "chat" else standin.messages_requests()) == 1


@pytest.mark.parametrize("style", ["chat", "messages"])
async def test_stream_ending_without_a_finish(client: StepClient, standin: StandIn,
                                              style: str) -> None:
    standin.fault("truncate", endpoint=style, after=2)
    events, err = await _run(client, ChatRequest(model="step-3.7-flash", api_style=style,
                                                 messages=(ChatMessage("user", "hi"),)))
    assert isinstance(err, StreamInterrupted) and "ended before" in err.message
    assert not any(isinstance(e, Finished) for e in events)


@pytest.mark.parametrize("together", [False, True], ids=["own-read", "same-read"])
@pytest.mark.parametrize("style", ["chat", "messages"])
async def test_malformed_chunk(client: StepClient, standin: StandIn, style: str,
                               together: bool) -> None:
    """The deltas before a bad chunk arrive, whether it came in a read of its own or in the
    same read as them (one batch: the good part of it is still handed on)."""
    standin.fault("malformed", endpoint=style, after=2, together=together)
    events, err = await _run(client, ChatRequest(model="step-3.7-flash", api_style=style,
                                                 messages=(ChatMessage("user", "hi"),)))
    assert isinstance(err, StreamInterrupted) and "malformed" in err.message
    assert sum(isinstance(e, ContentDelta) or hasattr(e, "text") for e in events) == 2


async def test_stalled_stream_is_a_read_timeout(client: StepClient, standin: StandIn) -> None:
    standin.fault("stall", after=2)
    events, err = await _run(client)
    assert isinstance(err, Timeout)
    assert err.message.startswith("The server stopped sending for 0.5 s")
    assert len(standin.chat_requests()) == 1 and events


async def test_content_filter_after_partial_reply(client: StepClient, standin: StandIn) -> None:
    standin.fault("finish_content_filter")
    events, err = await _run(client)
    assert isinstance(err, ContentBlocked) and any(isinstance(e, ContentDelta) for e in events)
    standin.fault("finish_content_filter")
    with pytest.raises(ContentBlocked):
        await client.chat(HI)


# -- files vanishing and request validation --------------------------------------------------
async def test_expired_file_is_file_not_found(client: StepClient, standin: StandIn) -> None:
    fid = standin.add_file(PNG, "a.png")
    req = ChatRequest(model="step-3.7-flash", messages=(_image(f"stepfile://{fid}"),))
    assert (await _run(client, req))[1] is None
    standin.expire_files()
    _, err = await _run(client, req)
    assert isinstance(err, FileNotFound) and err.status == 400
    standin.fault("file_not_found")
    assert isinstance((await _run(client))[1], FileNotFound)
    assert len(standin.chat_requests()) == 3


def _data_url(data: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


@pytest.mark.parametrize(("case", "words"), [
    ("61 images", "too many images"),
    ("20 MB", "20 MB"),
    ("bmp", "unsupported image type"),
    ("mislabelled", "does not match"),
    ("video on text model", "does not support video"),
    ("video too big", "128 MB"),
    ("not a video", "unsupported video type"),
])
async def test_request_limits_are_bad_requests(client: StepClient, standin: StandIn,
                                               case: str, words: str) -> None:
    model, media = "step-3.7-flash", [MediaRef("image", "image/png", _data_url(PNG))]
    if case == "61 images":
        media *= 61
    elif case == "20 MB":
        standin.max_image_bytes = 100
        media *= 2
    elif case == "bmp":
        media = [MediaRef("image", "image/bmp", _data_url(b"BM" + b"\0" * 64, "image/bmp"))]
    elif case == "mislabelled":
        media = [MediaRef("image", "image/jpeg", _data_url(PNG, "image/jpeg"))]
    else:
        data = MP4 if case != "not a video" else b"\0" * 64
        media = [MediaRef("video", "video/mp4", f"stepfile://{standin.add_file(data)}")]
        model = "step-3.5-flash" if case == "video on text model" else model
        standin.max_video_bytes = 10 if case == "video too big" else standin.max_video_bytes
    req = ChatRequest(model=model, messages=(ChatMessage("user", "x", tuple(media)),))
    _, err = await _run(client, req)
    assert isinstance(err, BadRequest) and words in err.message
    assert len(standin.chat_requests()) == 1


async def test_60_images_within_20_mb_are_fine(client: StepClient) -> None:
    media = (MediaRef("image", "image/png", _data_url(PNG)),) * 60
    events, err = await _run(client, ChatRequest(model="step-3.7-flash",
                                                 messages=(ChatMessage("user", "x", media),)))
    assert err is None and events[-1] == Finished("stop")


# -- uploads ---------------------------------------------------------------------------------
async def test_upload_retry_reopens_the_file(client: StepClient, standin: StandIn,
                                             tmp_path: Path) -> None:
    path = tmp_path / "a.png"
    path.write_bytes(PNG + b"payload" * 50_000)
    standin.fault("status_500", endpoint="upload")
    progress: list[int] = []
    obj = await client.upload_file(path, progress=lambda sent, total: progress.append(sent))
    attempts = standin.upload_requests()
    assert len(attempts) == 2 and [r.status for r in attempts] == [500, 200]
    assert attempts[0].file_bytes == attempts[1].file_bytes == path.read_bytes()
    assert obj.bytes == path.stat().st_size
    assert progress.count(path.stat().st_size) == 2  # progress restarted for the retry


async def test_upload_is_not_retried_on_a_client_error(client: StepClient, standin: StandIn,
                                                       tmp_path: Path) -> None:
    path = tmp_path / "a.png"
    path.write_bytes(PNG)
    standin.fault("status_402", endpoint="upload")
    with pytest.raises(InsufficientBalance):
        await client.upload_file(path)
    assert len(standin.upload_requests()) == 1


async def test_upload_of_a_missing_file_is_an_api_error(client: StepClient,
                                                        tmp_path: Path) -> None:
    with pytest.raises(ApiError, match=r"Could not read gone\.png"):
        await client.upload_file(tmp_path / "gone.png")
