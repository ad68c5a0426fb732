"""Nothing lost, one policy: queued store writes survive a Stop, a turn keeps the client and
account it started with, and one function decides which failures are retried."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from PIL import Image

from app.api.client import StepClient, should_retry
from app.api.errors import (
    ApiError,
    AuthError,
    BadRequest,
    ContentBlocked,
    InvalidKey,
    NetworkError,
    RateLimited,
    ServerError,
    Timeout,
)
from app.api.events import ContentDelta, Finished, Retrying
from app.api.request import ChatMessage, ChatRequest
from app.api.timeouts import Timeouts
from app.chat import ChatEngine
from app.config import Settings, account_id, resolve_paths
from app.media.intake import prepare_sync
from app.services import make_client
from app.store import BlobStore, Store
from app.turn_events import TurnFinished, TurnStarted
from tests.conftest import TEST_API_KEY
from tests.standin import StandIn

HI = ChatRequest(model="step-3.7-flash", messages=(ChatMessage("user", "hi"),))


@pytest.mark.parametrize(("err", "retry"), [
    (ApiError("x", status=408), True), (ApiError("x", status=409), True),
    (RateLimited("x"), True), (ServerError("x", status=503), True),
    (ApiError("x", status=599), True), (NetworkError("x"), True),
    (BadRequest("x"), False), (AuthError("x"), False), (InvalidKey("x"), False),
    (ApiError("x", status=402), False), (ApiError("x", status=404), False),
    (ContentBlocked("x"), False), (ApiError("x", status=413), False),
    (Timeout("mid-stream silence"), False),
])
def test_one_retry_policy(err: ApiError, retry: bool) -> None:
    assert should_retry(err) is retry


async def test_read_timeout_before_the_first_byte_is_a_retried_network_failure(
        standin: StandIn) -> None:
    standin.fault("slow_headers", seconds=2.0, times=1)
    async with StepClient(base_url=standin.base_url, api_key=TEST_API_KEY, backoff=0.01,
                          timeouts=Timeouts(read=0.3)) as client:
        events = [e async for e in client.stream_chat(HI)]
    [retry] = [e for e in events if isinstance(e, Retrying)]
    assert "did not answer" in retry.reason
    assert isinstance(events[-1], Finished)
    assert any(isinstance(e, ContentDelta) for e in events)


async def test_keep_alives_do_not_reset_the_reply_timeout(standin: StandIn) -> None:
    standin.fault("keepalive", after=2, interval=0.02)
    async with StepClient(base_url=standin.base_url, api_key=TEST_API_KEY, backoff=0.01,
                          timeouts=Timeouts(read=0.3)) as client:
        with pytest.raises(Timeout, match=r"stopped sending for 0\.3 s"):
            async for _ in client.stream_chat(HI):
                pass


async def test_a_write_queued_behind_slow_work_survives_cancellation(data_dir: Path) -> None:
    paths = resolve_paths({"STEPDESK_DATA_DIR": str(data_dir)})
    store = await Store.open(paths.db_path, owner_dir=paths.owner_dir)
    conv = await store.create_conversation("t", "m", "low")
    user = await store.add_user_message(conv.id, "q", [], model="m", effort="low")
    reply = await store.start_assistant_message(conv.id, reply_to=user.id, model="m",
                                                effort="low", version_of=None)
    gate = threading.Event()
    slow = asyncio.ensure_future(store._run(lambda _db: gate.wait(30)))  # slow store work
    last_batch = asyncio.ensure_future(store.append_reply(reply.id, "thought", "last words",
                                                          None))
    for _ in range(5):
        await asyncio.sleep(0)  # both jobs are now in the worker's queue
    last_batch.cancel()  # Stop, while the write still waits behind the slow job
    with pytest.raises(asyncio.CancelledError):
        await last_batch
    gate.set()
    await slow
    await store.close()  # the worker finishes every job it accepted
    store = await Store.open(paths.db_path, owner_dir=paths.owner_dir)
    try:
        saved = await store.get_message(reply.id)
        assert saved is not None and (saved.reasoning, saved.content) == ("thought",
                                                                          "last words")
    finally:
        await store.close()


async def test_settings_change_mid_turn_never_caches_under_the_other_account(
        standin: StandIn, data_dir: Path, tmp_path: Path) -> None:
    other = StandIn(api_key="sk-the-other-account-000000").start()
    paths = resolve_paths({"STEPDESK_DATA_DIR": str(data_dir)})
    store = await Store.open(paths.db_path, owner_dir=paths.owner_dir)
    first = Settings.resolve({"STEP_BASE_URL": standin.base_url}, {}, paths)
    second = Settings.resolve({"STEP_BASE_URL": other.base_url}, {}, paths)
    client1 = make_client(first, TEST_API_KEY)
    client2 = make_client(second, other.api_key)
    blobs = BlobStore(paths.blob_dir)
    engine = ChatEngine(store=store, client=client1, blobs=blobs, settings=first,
                        account=account_id(TEST_API_KEY))
    src = tmp_path / "pic.png"
    Image.new("RGB", (40, 30), (1, 2, 3)).save(src)
    media = prepare_sync(src, work_dir=blobs.tmp_dir)
    try:
        events = []
        async for event in engine.send(None, "what is it?", [media]):
            events.append(event)
            if isinstance(event, TurnStarted):  # the user saves new settings right now
                engine.update_settings(second, client2, account_id(other.api_key))
        assert isinstance(events[-1], TurnFinished), events[-1]
        assert len(standin.upload_requests()) == 1 and len(standin.chat_requests()) == 1
        assert other.requests == []
        old = await store.lookup_upload(media.sha256, standin.base_url,
                                        account_id(TEST_API_KEY))
        new = await store.lookup_upload(media.sha256, other.base_url,
                                        account_id(other.api_key))
        assert old is not None and new is None
        async for _ in engine.send(None, "and now?", []):  # the next turn uses the new ones
            pass
        assert len(other.chat_requests()) == 1
    finally:
        await client1.aclose()
        await client2.aclose()
        await store.close()
        other.stop()
