"""Compare efforts, core: one turn answered at several efforts at once, against the stand-in."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from PIL import Image

from app.chat import ChatEngine
from app.compare import (
    ColumnEvent,
    Comparer,
    CompareStarted,
    Comparison,
    Figures,
    parse_efforts,
    version_label,
)
from app.config import Settings, account_id, resolve_paths
from app.media.intake import PreparedMedia, prepare_sync
from app.services import make_client
from app.store import BlobStore, Store
from app.turn_events import (
    ContentDelta,
    ReasoningDelta,
    Retrying,
    TurnFailed,
    TurnFinished,
    TurnStarted,
    UploadProgress,
)
from tests.conftest import TEST_API_KEY


class TaskClock:
    """A clock that ticks by one second each time a task reads it, separately per task.

    The comparison reads its clock only inside each column's task, so every column sees
    0, 1, 2, … however the three streams interleave: the figures are exact and repeatable.
    """

    def __init__(self) -> None:
        self.ticks: dict[str, int] = {}

    def __call__(self) -> float:
        task = asyncio.current_task()
        name = task.get_name() if task is not None else ""
        self.ticks[name] = self.ticks.get(name, -1) + 1
        return float(self.ticks[name])


class Parts:
    def __init__(self, engine: ChatEngine, store: Store, paths, settings, clock) -> None:
        self.engine, self.store, self.paths, self.settings = engine, store, paths, settings
        self.clock = clock
        self.comparer = Comparer(engine, store, clock=clock)


@pytest.fixture
async def parts(standin, data_dir: Path) -> AsyncIterator[Parts]:
    paths = resolve_paths({"STEPDESK_DATA_DIR": str(data_dir)})
    store = await Store.open(paths.db_path, owner_dir=paths.owner_dir)
    settings = Settings.resolve({"STEP_BASE_URL": standin.base_url}, {}, paths)
    client = make_client(settings, TEST_API_KEY)
    engine = ChatEngine(store=store, client=client, blobs=BlobStore(paths.blob_dir),
                        settings=settings, account=account_id(TEST_API_KEY))
    try:
        yield Parts(engine, store, paths, settings, TaskClock())
    finally:
        await client.aclose()
        await store.close()


def image(parts: Parts, tmp_path: Path, n: int) -> PreparedMedia:
    src = tmp_path / f"img{n}.png"
    Image.new("RGB", (40, 30), (n * 40 % 256, 90, 200)).save(src)
    return prepare_sync(src, work_dir=parts.engine._blobs.tmp_dir)


async def run(comparison: Comparison) -> list[object]:
    return [item async for item in comparison.events()]


def column(items: list[object], effort: str) -> list[object]:
    return [i.event for i in items if isinstance(i, ColumnEvent) and i.effort == effort]


def answer_text(items: list[object], effort: str) -> str:
    return "".join(e.text for e in column(items, effort) if isinstance(e, ContentDelta))


def media_urls(body: dict) -> list[str]:
    return [part[part["type"]]["url"] for m in body["messages"] if isinstance(m["content"], list)
            for part in m["content"] if part["type"] in ("image_url", "video_url")]


@pytest.mark.parametrize(("text", "expected"), [
    ("low,medium,high", ("low", "medium", "high")),
    (" High , low ", ("high", "low")),
    ("low,,medium", ("low", "medium")),
])
def test_parse_efforts(text: str, expected: tuple[str, ...]) -> None:
    assert parse_efforts(text) == expected


@pytest.mark.parametrize(("text", "says"), [
    ("", "at least two"), ("low", "at least two"), ("low,low", "once"),
    ("low,extreme", "'extreme' is not an effort"), ("low;high", "is not an effort"),
    ("none,low", "is not an effort"),
])
def test_parse_efforts_refuses(text: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        parse_efforts(text)


async def test_same_request_at_three_efforts_with_one_upload_per_file(
        parts: Parts, standin, tmp_path: Path) -> None:
    media = [image(parts, tmp_path, 1), image(parts, tmp_path, 2)]
    items = await run(parts.comparer.new_turn(None, "Which is bigger?", media))
    assert len(standin.upload_requests()) == 2  # one per file, not one per column
    uploads = [i for i in items if isinstance(i, UploadProgress)]
    assert uploads and not any(isinstance(i, ColumnEvent) and
                               isinstance(i.event, UploadProgress) for i in items)
    bodies = [r.json for r in standin.chat_requests()]
    assert sorted(b["reasoning_effort"] for b in bodies) == ["high", "low", "medium"]
    urls = {tuple(media_urls(b)) for b in bodies}
    assert len(urls) == 1 and all(u.startswith("stepfile://") for u in urls.pop())
    assert len({str(b["messages"]) for b in bodies}) == 1  # same text, media and history
    for effort in ("low", "medium", "high"):
        assert f"at {effort} effort" in answer_text(items, effort)
        assert column(items, effort)[-1] == TurnFinished("complete", "stop")


async def test_columns_stream_at_the_same_time(parts: Parts, standin) -> None:
    # The stand-in sends each stream's first deltas, then holds every stream until all three
    # have got that far: sequential columns could never pass this point (they would drop).
    standin.fault("rendezvous", times=3, parties=3, after=2)
    items = await run(parts.comparer.new_turn(None, "Together?"))
    events = [i for i in items if isinstance(i, ColumnEvent)]
    first_finish = next(n for n, i in enumerate(events) if isinstance(i.event, TurnFinished))
    for effort in ("low", "medium", "high"):
        first_delta = next(n for n, i in enumerate(events) if i.effort == effort and
                           isinstance(i.event, ReasoningDelta | ContentDelta))
        assert first_delta < first_finish, effort
        assert column(items, effort)[-1] == TurnFinished("complete", "stop")


async def test_figures_come_from_the_stream(parts: Parts, standin) -> None:
    standin.reasoning_tokens = True
    standin.reply(content="one two three four", reasoning="hmm let me see")
    comparison = parts.comparer.new_turn(None, "Count")
    items = await run(comparison)
    for effort in ("low", "medium", "high"):
        f = comparison.figures[effort]
        # Clock reads in the column: start 0, first thought 1, first answer 2, end 3.
        assert (f.first_reasoning_s, f.first_answer_s, f.total_s) == (1.0, 2.0, 3.0)
        assert (f.reasoning_tokens, f.answer_tokens, f.tokens_estimated) == (4, 4, False)
        usage = [e for e in column(items, effort) if type(e).__name__ == "Usage"][-1]
        assert (f.prompt_tokens, f.cached_tokens) == (usage.prompt, usage.cached)
        assert f.status == "complete" and f.message_id is not None
        stored = await parts.store.get_message(f.message_id)
        assert stored is not None and Figures.from_dict(stored.figures or {}) == f
        assert stored.comparison_id == comparison.comparison_id
        assert version_label(stored) == f"{effort} · 3.0 s"


async def test_reasoning_tokens_without_server_split_come_from_the_counter(
        parts: Parts, standin) -> None:
    standin.reply(content="a b c", reasoning="x y z w v")
    comparison = parts.comparer.new_turn(None, "Count", efforts=("low", "high"))
    await run(comparison)
    for f in comparison.figures.values():
        assert f.reasoning_tokens is not None and f.answer_tokens is not None
        assert f.reasoning_tokens + f.answer_tokens == 8  # the stand-in counts every delta


async def test_keeping_medium_makes_it_the_answer_after_a_restart_too(
        parts: Parts, standin) -> None:
    comparison = parts.comparer.new_turn(None, "Pick one")
    await run(comparison)
    medium = comparison.figures["medium"].message_id
    assert medium is not None
    conversation = comparison.conversation_id
    assert conversation is not None
    kept = await parts.comparer.keep(medium)
    assert kept.effort == "medium"
    await parts.store.close()
    store = await Store.open(parts.paths.db_path, owner_dir=parts.paths.owner_dir)
    try:
        user, answer = await store.active_messages(conversation)
        assert answer.id == medium and "at medium effort" in answer.content
        assert user.kept_answer == medium
        versions = await store.versions(medium)
        assert sorted(m.effort or "" for m in versions) == ["high", "low", "medium"]
        assert {m.reply_to for m in versions} == {user.id}
        conv = await store.get_conversation(conversation)
        assert conv is not None and conv.effort == "medium"  # remembered per conversation
        [record] = await store.list_comparisons(conversation)
        assert record.efforts == ("low", "medium", "high")
        assert [m.effort for m in record.answers] == ["low", "medium", "high"]
        assert (record.kept_message_id, record.kept_effort) == (medium, "medium")
    finally:
        await store.close()


async def test_a_new_conversation_keeps_the_effort_it_was_composed_at_until_one_is_kept(
        parts: Parts, standin) -> None:
    # The composer said High: comparing must not quietly make the conversation Low (the
    # first compared effort) when no answer is kept; keeping one then sets it.
    comparison = parts.comparer.new_turn(None, "Pick one", effort="high")
    await run(comparison)
    conversation = await parts.store.get_conversation(comparison.conversation_id or 0)
    assert conversation is not None and conversation.effort == "high"
    await parts.comparer.keep(comparison.figures["low"].message_id or 0)
    conversation = await parts.store.get_conversation(comparison.conversation_id or 0)
    assert conversation is not None and conversation.effort == "low"


async def test_conversation_continues_from_the_kept_answer(parts: Parts, standin) -> None:
    comparison = parts.comparer.new_turn(None, "Pick one")
    await run(comparison)
    await parts.comparer.keep(comparison.figures["low"].message_id or 0)
    async for _ in parts.engine.send(comparison.conversation_id, "And then?"):
        pass
    history = standin.chat_requests()[-1].json["messages"]
    assert [m["role"] for m in history] == ["user", "assistant", "user"]
    assert "at low effort" in history[1]["content"]  # the kept answer, not the newest (high)


async def test_a_new_answer_after_keeping_is_shown(parts: Parts, standin) -> None:
    comparison = parts.comparer.new_turn(None, "Pick one")
    await run(comparison)
    await parts.comparer.keep(comparison.figures["low"].message_id or 0)
    async for _ in parts.engine.regenerate(comparison.figures["low"].message_id or 0,
                                           effort="high"):
        pass
    shown = await parts.store.active_messages(comparison.conversation_id or 0)
    assert shown[-1].id > max(f.message_id or 0 for f in comparison.figures.values())


async def test_a_429_on_one_column_retries_only_that_column(parts: Parts, standin) -> None:
    standin.fault("status_429", times=1, effort="high", retry_after=0)
    comparison = parts.comparer.new_turn(None, "Busy?")
    items = await run(comparison)
    [retry] = [e for e in column(items, "high") if isinstance(e, Retrying)]
    assert retry.delay == 0.0  # the server's Retry-After, not our own backoff
    assert not any(isinstance(e, Retrying) for eff in ("low", "medium")
                   for e in column(items, eff))
    assert comparison.figures["high"].retries == 1
    efforts = [r.json["reasoning_effort"] for r in standin.chat_requests()]
    assert sorted(efforts) == ["high", "high", "low", "medium"]
    assert all(f.status == "complete" for f in comparison.figures.values())


async def test_the_others_finish_while_one_column_waits_out_its_retry_after(
        parts: Parts, standin) -> None:
    """A long `Retry-After` on high: low and medium stream to the end meanwhile (no timing:
    high stays in its wait until it is stopped, which cuts straight through the wait)."""
    from app.api.client import RETRY_AFTER_CAP

    standin.fault("status_429", times=1, effort="high", retry_after=3600)
    comparison = parts.comparer.new_turn(None, "Busy?")
    items = []
    async for item in comparison.events():
        items.append(item)
        figures = comparison.figures
        if figures["low"].done and figures["medium"].done and \
                figures["high"].status == "retrying":
            comparison.stop("high")
    [retry] = [e for e in column(items, "high") if isinstance(e, Retrying)]
    assert retry.delay == min(3600.0, RETRY_AFTER_CAP)  # the server's, up to our cap
    assert comparison.figures["low"].status == comparison.figures["medium"].status == "complete"
    assert column(items, "high")[-1] == TurnFinished("stopped")
    assert sorted(r.json["reasoning_effort"] for r in standin.chat_requests()) == [
        "high", "low", "medium"]  # high was never asked again
    stored = await parts.store.get_message(comparison.figures["high"].message_id or 0)
    assert stored is not None and stored.status == "stopped"


async def test_a_failing_column_leaves_the_others_intact(parts: Parts, standin) -> None:
    standin.fault("status_429", times=None, effort="medium", retry_after=0)
    comparison = parts.comparer.new_turn(None, "Busy?")
    items = await run(comparison)
    failed = column(items, "medium")[-1]
    assert isinstance(failed, TurnFailed) and failed.status == "error"
    assert "rate" in failed.error.lower()
    assert comparison.figures["medium"].status == "error"
    for effort in ("low", "high"):
        assert comparison.figures[effort].status == "complete"
        stored = await parts.store.get_message(comparison.figures[effort].message_id or 0)
        assert stored is not None and f"at {effort} effort" in stored.content


async def test_stop_one_column_keeps_its_partial_and_the_others_go_on(
        parts: Parts, standin) -> None:
    standin.fault("stall", times=1, effort="medium", after=3)
    comparison = parts.comparer.new_turn(None, "Stop me")
    items = []
    async for item in comparison.events():
        items.append(item)
        if isinstance(item, ColumnEvent) and item.effort == "medium" and \
                isinstance(item.event, ContentDelta | ReasoningDelta):
            comparison.stop("medium")
    assert column(items, "medium")[-1] == TurnFinished("stopped")
    medium = await parts.store.get_message(comparison.figures["medium"].message_id or 0)
    assert medium is not None and medium.status == "stopped"
    assert medium.reasoning  # the partial is kept
    assert comparison.figures["medium"].status == "stopped"
    for effort in ("low", "high"):
        assert comparison.figures[effort].status == "complete"


async def test_a_stop_before_the_columns_begin_ends_them_as_stopped(parts: Parts,
                                                                   standin) -> None:
    """Stop all before anything streams, or Stop on one column before its task begins (the
    window's Stop comes from another thread and may land then): the column ends `stopped`
    without a request, and the comparison does not wait for it."""
    early = parts.comparer.new_turn(None, "Never mind")
    early.stop()
    items = await run(early)
    for effort in ("low", "medium", "high"):
        assert column(items, effort)[-1] == TurnFinished("stopped")
        assert early.figures[effort].status == "stopped"
    assert standin.chat_requests() == []

    late = parts.comparer.new_turn(None, "Not high")
    async for item in late.events():
        if isinstance(item, CompareStarted):
            late.stop("high")
    assert late.figures["high"].status == "stopped"
    assert late.figures["low"].status == late.figures["medium"].status == "complete"
    assert sorted(r.json["reasoning_effort"] for r in standin.chat_requests()) == [
        "low", "medium"]


async def test_cancelling_the_comparison_stops_every_column(parts: Parts, standin) -> None:
    standin.fault("stall", times=3, after=2)
    comparison = parts.comparer.new_turn(None, "Stop all")
    started: set[str] = set()
    all_streaming = asyncio.Event()

    async def consume() -> None:
        async for item in comparison.events():
            if isinstance(item, ColumnEvent) and isinstance(item.event, ReasoningDelta):
                started.add(item.effort)
                if len(started) == 3:
                    all_streaming.set()

    task = asyncio.ensure_future(consume())
    await all_streaming.wait()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    for effort in ("low", "medium", "high"):
        stored = await parts.store.get_message(comparison.figures[effort].message_id or 0)
        assert stored is not None and stored.status == "stopped" and stored.reasoning


async def test_comparing_a_sent_turn_keeps_its_earlier_answer(parts: Parts, standin) -> None:
    events = [e async for e in parts.engine.send(None, "Once", effort="medium")]
    started = next(e for e in events if isinstance(e, TurnStarted))
    comparison = parts.comparer.sent_turn(started.user_message_id, efforts=("low", "high"),
                                          template="receipt-to-table")
    items = await run(comparison)
    assert isinstance(items[0], CompareStarted)
    versions = await parts.store.versions(started.assistant_message_id)
    assert [m.effort for m in versions] == ["medium", "low", "high"]
    [record] = await parts.comparer.comparisons(started.conversation_id)
    assert record.template == "receipt-to-table" and record.kept_message_id is None
    assert len(standin.chat_requests()) == 3


async def test_a_turn_sent_from_a_template_is_compared_with_its_template(
        parts: Parts, standin) -> None:
    """No template passed when comparing: the turn's own (stored when it was sent) is used;
    a comparison of a new turn from a template stores it with the turn too."""
    events = [e async for e in parts.engine.send(None, "Total?", effort="low",
                                                 template="receipt-to-table")]
    started = next(e for e in events if isinstance(e, TurnStarted))
    comparison = parts.comparer.sent_turn(started.user_message_id, efforts=("low", "high"))
    await run(comparison)
    assert comparison.template == "receipt-to-table"
    plain = parts.comparer.new_turn(started.conversation_id, "No template",
                                    efforts=("low", "high"))
    await run(plain)
    assert plain.template is None
    templated = parts.comparer.new_turn(started.conversation_id, "Chart", efforts=("low", "high"),
                                        template="chart-to-data")
    await run(templated)
    user = await parts.store.get_message(templated.user_message_id or 0)
    assert user is not None and user.template == "chart-to-data"
    again = parts.comparer.sent_turn(user.id, efforts=("medium", "high"))
    await run(again)
    records = await parts.comparer.comparisons(started.conversation_id)
    assert [r.template for r in records] == ["receipt-to-table", None, "chart-to-data",
                                             "chart-to-data"]


async def test_an_upload_failure_fails_every_column_once(parts: Parts, standin,
                                                         tmp_path: Path) -> None:
    standin.fault("status_400", endpoint="upload", times=None, message="bad file")
    comparison = parts.comparer.new_turn(None, "Look", [image(parts, tmp_path, 3)])
    items = await run(comparison)
    assert len(standin.upload_requests()) == 1 and standin.chat_requests() == []
    for effort in ("low", "medium", "high"):
        [failed] = column(items, effort)
        assert isinstance(failed, TurnFailed) and "bad file" in failed.error
        assert comparison.figures[effort].status == "error"
