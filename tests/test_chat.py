"""The chat engine on its own: versions, stop, context limits, API styles, inline media."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from PIL import Image

from app import limits
from app.chat import CONTINUE_PROMPT, ChatEngine, title_from_prompt
from app.config import Settings, account_id, resolve_paths
from app.media.intake import PreparedMedia, prepare_sync
from app.services import make_client
from app.store import BlobStore, Store
from app.turn_events import (
    ContentDelta,
    MediaOmitted,
    TurnEvent,
    TurnFailed,
    TurnFinished,
    TurnStarted,
    UploadProgress,
)
from tests.conftest import TEST_API_KEY


@pytest.fixture
async def engine_parts(standin, data_dir: Path) -> AsyncIterator[tuple[ChatEngine, Store]]:
    paths = resolve_paths({"STEPDESK_DATA_DIR": str(data_dir)})
    store = await Store.open(paths.db_path, owner_dir=paths.owner_dir)
    settings = Settings.resolve({"STEP_BASE_URL": standin.base_url}, {}, paths)
    client = make_client(settings, TEST_API_KEY)
    blobs = BlobStore(paths.blob_dir)
    engine = ChatEngine(store=store, client=client, blobs=blobs, settings=settings,
                        account=account_id(TEST_API_KEY))
    try:
        yield engine, store
    finally:
        await client.aclose()
        await store.close()


def image(engine: ChatEngine, tmp_path: Path, n: int, size: tuple[int, int] = (32, 32)) -> (
        PreparedMedia):
    src = tmp_path / f"img{n}.png"
    Image.new("RGB", size, (n % 256, (n * 7) % 256, (n * 13) % 256)).save(src)
    return prepare_sync(src, work_dir=engine._blobs.tmp_dir)


def text_of(message: dict) -> str:
    content = message["content"]
    return content if isinstance(content, str) else content[-1]["text"]


async def collect(events: AsyncIterator[TurnEvent]) -> list[TurnEvent]:
    return [event async for event in events]


def test_title_from_prompt() -> None:
    assert title_from_prompt("  What   is\nthis? ") == "What is this?"
    long = title_from_prompt("word " * 30)
    assert len(long) <= 61 and long.endswith("…")
    assert title_from_prompt("") == "New conversation"


async def test_regenerate_keeps_both_versions(engine_parts, standin) -> None:
    engine, store = engine_parts
    standin.reply(content="first answer")
    events = await collect(engine.send(None, "question"))
    started = next(e for e in events if isinstance(e, TurnStarted))
    standin.reply(content="second answer")
    again = await collect(engine.regenerate(started.assistant_message_id))
    assert isinstance(again[-1], TurnFinished) and again[-1].status == "complete"
    versions = await store.versions(started.assistant_message_id)
    assert [v.content for v in versions] == ["first answer", "second answer"]
    active = await store.active_messages(started.conversation_id)
    assert [m.content for m in active] == ["question", "second answer"]
    # The regenerated request did not include the first answer.
    assert [m["role"] for m in standin.chat_requests()[1].json["messages"]] == ["user"]


async def test_edit_and_resend_makes_a_new_user_version(engine_parts, standin) -> None:
    engine, store = engine_parts
    events = await collect(engine.send(None, "typo questoin"))
    started = next(e for e in events if isinstance(e, TurnStarted))
    await collect(engine.edit_and_resend(started.user_message_id, "fixed question"))
    active = await store.active_messages(started.conversation_id)
    assert next(m.content for m in active) == "fixed question"
    assert text_of(standin.chat_requests()[-1].json["messages"][-1]) == "fixed question"
    assert len(await store.versions(started.user_message_id)) == 2


async def test_continue_reply_sends_a_continue_turn(engine_parts, standin) -> None:
    engine, _store = engine_parts
    standin.fault("finish_length")
    events = await collect(engine.send(None, "long"))
    started = next(e for e in events if isinstance(e, TurnStarted))
    assert events[-1] == TurnFinished("truncated", "length")
    await collect(engine.continue_reply(started.assistant_message_id))
    sent = standin.chat_requests()[-1].json["messages"]
    assert text_of(sent[-1]) == CONTINUE_PROMPT
    assert [m["role"] for m in sent] == ["user", "assistant", "user"]


async def test_cancel_keeps_partial_reply_as_stopped_even_when_cancelled_twice(
        engine_parts, standin) -> None:
    engine, store = engine_parts
    standin.fault("paced", count=3000, duration=15)
    seen: list[TurnEvent] = []

    async def consume() -> None:
        async for event in engine.send(None, "stream"):
            seen.append(event)

    task = asyncio.ensure_future(consume())
    while sum(isinstance(e, ContentDelta) for e in seen) < 50:
        await asyncio.sleep(0.02)
    task.cancel()
    await asyncio.sleep(0)
    task.cancel()  # a second, impatient cancel must not lose the reply
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await asyncio.sleep(0.1)  # the shielded save finishes on its own
    started = next(e for e in seen if isinstance(e, TurnStarted))
    message = await store.get_message(started.assistant_message_id)
    assert message is not None and message.status == "stopped"
    received = "".join(e.text for e in seen if isinstance(e, ContentDelta))
    assert message.content and received.startswith(message.content)


async def test_request_wide_image_limit_leaves_out_oldest(engine_parts, standin,
                                                          tmp_path: Path) -> None:
    engine, _store = engine_parts
    per_turn = 25
    conversation = None
    for turn in range(3):  # 75 images across three turns; the request may carry 60
        media = [image(engine, tmp_path, turn * per_turn + i) for i in range(per_turn)]
        events = await collect(engine.send(conversation, f"turn {turn}", media))
        conversation = next(e for e in events if isinstance(e, TurnStarted)).conversation_id
    omitted = [e for e in events if isinstance(e, MediaOmitted)]
    assert omitted and len(omitted[0].names) == 3 * per_turn - limits.MAX_IMAGES_PER_REQUEST
    body = standin.chat_requests()[-1].json
    sent = [p for m in body["messages"] if isinstance(m["content"], list)
            for p in m["content"] if p["type"] == "image_url"]
    assert len(sent) == limits.MAX_IMAGES_PER_REQUEST
    first_turn_parts = body["messages"][0]["content"]
    assert sum(p["type"] == "image_url" for p in first_turn_parts) == 10  # oldest 15 left out
    assert len(standin.upload_requests()) == 75  # each distinct image uploaded exactly once


async def test_upload_progress_events(engine_parts, standin, tmp_path: Path) -> None:
    engine, _ = engine_parts
    events = await collect(engine.send(None, "look", [image(engine, tmp_path, 1, (300, 200))]))
    progress = [e for e in events if isinstance(e, UploadProgress)]
    assert progress and progress[-1].sent == progress[-1].total > 0


async def test_messages_style_sends_base64_images(engine_parts, standin, tmp_path: Path) -> None:
    engine, _ = engine_parts
    engine._settings = engine.settings.with_changes(api_style="messages")
    events = await collect(engine.send(None, "what", [image(engine, tmp_path, 2)]))
    assert isinstance(events[-1], TurnFinished), events[-1]
    assert standin.upload_requests() == []
    body = standin.messages_requests()[0].json
    block = body["messages"][0]["content"][0]
    assert block["type"] == "image" and block["source"]["type"] == "base64"
    assert body["output_config"]["effort"] == "medium"


async def test_inline_media_when_uploads_are_off(engine_parts, standin, tmp_path: Path) -> None:
    engine, _ = engine_parts
    engine._settings = engine.settings.with_changes(upload_media=False)
    await collect(engine.send(None, "what", [image(engine, tmp_path, 3)]))
    assert standin.upload_requests() == []
    part = standin.chat_requests()[0].json["messages"][0]["content"][0]
    assert part["image_url"]["url"].startswith("data:image/png;base64,")


async def test_server_error_before_text_is_error_status(engine_parts, standin) -> None:
    engine, store = engine_parts
    standin.fault("status_500", times=None)
    engine._client._backoff = 0.01
    events = await collect(engine.send(None, "hello"))
    failed = events[-1]
    assert isinstance(failed, TurnFailed) and failed.status == "error"
    assert failed.trace_id
    started = next(e for e in events if isinstance(e, TurnStarted))
    message = await store.get_message(started.assistant_message_id)
    assert message is not None and message.status == "error" and message.error


async def test_template_turn_titles_the_conversation_by_template(engine_parts, standin,
                                                                 tmp_path: Path) -> None:
    from app.chat import template_title

    engine, store = engine_parts
    media = [image(engine, tmp_path, 9)]
    title = template_title("Receipt → table", "", ["lunch.png"])
    events = await collect(engine.send(None, "A long template prompt …", media, title=title))
    started = next(e for e in events if isinstance(e, TurnStarted))
    conversation = await store.get_conversation(started.conversation_id)
    assert conversation is not None and conversation.title == "Receipt → table: lunch.png"
