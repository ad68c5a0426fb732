"""`app.stream_thread`: a worker loop on its own thread, batches home, store calls home.

Real threads and real event loops (the home loop is the test's own); every wait is on an
event or a future, never on the clock. The autouse leak fixture checks that each test leaves
no thread behind.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import AsyncGenerator, Iterator

import pytest

from app.stream_thread import HomeCalls, StreamThread


class Joined:
    """A collector that records the thread it runs on and joins the items of each batch."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self.threads: set[str] = set()

    def add(self, item: str) -> None:
        self.threads.add(threading.current_thread().name)
        self.items.append(item)

    def take(self) -> str:
        self.threads.add(threading.current_thread().name)
        batch, self.items = "".join(self.items), []
        return batch


@pytest.fixture
def thread() -> Iterator[StreamThread]:
    worker = StreamThread("test-stream", interval=0)
    yield worker
    assert not worker.is_alive(), "each test closes its thread"


async def test_items_arrive_in_order_gathered_on_the_worker(thread: StreamThread) -> None:
    async def letters() -> AsyncGenerator[str, None]:
        for letter in "stream":
            yield letter

    collector = Joined()
    batches = [b async for b in thread.stream(letters, collector)]
    await thread.aclose()
    assert "".join(batches) == "stream"
    assert collector.threads == {"test-stream"}  # gathered and taken off the home thread
    with pytest.raises(RuntimeError, match="closed"):
        await anext(thread.stream(letters, collector))


async def test_a_busy_home_gets_one_bigger_batch_not_a_backlog(thread: StreamThread) -> None:
    """A new batch leaves only once the home loop took the last one."""
    first_taken = asyncio.Event()  # the worker's: set from home through `thread.call`
    rest_made: concurrent.futures.Future[None] = concurrent.futures.Future()

    async def items() -> AsyncGenerator[str, None]:
        yield "a"
        await first_taken.wait()
        for letter in "bcdef":
            yield letter
        rest_made.set_result(None)

    batches = []
    async for batch in thread.stream(items, Joined()):
        batches.append(batch)
        if batch == "a":
            thread.call(first_taken.set)
            await asyncio.wrap_future(rest_made)  # home is busy while the rest is made
    await thread.aclose()
    assert batches == ["a", "bcdef"]


async def test_an_error_of_the_stream_is_raised_at_home_after_its_items(
        thread: StreamThread) -> None:
    async def failing() -> AsyncGenerator[str, None]:
        yield "x"
        raise LookupError("There is no user message 7.")

    seen = []
    with pytest.raises(LookupError, match="no user message 7"):
        async for batch in thread.stream(failing, Joined()):
            seen.append(batch)
    await thread.aclose()
    assert "".join(seen) == "x"


async def test_leaving_early_cancels_the_stream_and_waits_for_its_cleanup(
        thread: StreamThread) -> None:
    cleaned: list[str] = []
    never = asyncio.Event()  # the worker's, never set

    async def endless() -> AsyncGenerator[str, None]:
        try:
            yield "first"
            await never.wait()
            yield "never"
        finally:
            await asyncio.sleep(0)  # cleanup that awaits, as a reply's "stopped" write does
            cleaned.append(threading.current_thread().name)

    stream = thread.stream(endless, Joined())
    assert await anext(stream) == "first"
    await stream.aclose()
    assert cleaned == ["test-stream"]  # done by the time aclose returned
    await thread.aclose()


async def test_cancelling_the_home_task_stops_the_stream_too(thread: StreamThread) -> None:
    started: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    stopped: list[bool] = []
    never = asyncio.Event()

    async def endless() -> AsyncGenerator[str, None]:
        try:
            yield "go"
            await never.wait()
        except asyncio.CancelledError:
            stopped.append(True)
            raise

    async def consume() -> None:
        async for _ in thread.stream(endless, Joined()):
            if not started.done():
                started.set_result(None)

    task = asyncio.ensure_future(consume())
    await started
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert stopped == [True]
    await thread.aclose()


class Counter:
    """A stand-in for the store: coroutine methods that say which thread ran them."""

    def __init__(self) -> None:
        self.ran_on: list[str] = []
        self.gate = asyncio.Event()  # the home loop's
        self.finished = asyncio.Event()
        self.name = "not a coroutine"

    async def record(self, value: int) -> int:
        self.ran_on.append(threading.current_thread().name)
        return value * 2

    async def slow(self) -> str:
        await self.gate.wait()
        self.ran_on.append("slow finished")
        self.finished.set()
        return "done"

    async def fail(self) -> None:
        raise ValueError("disk full")


async def test_home_calls_run_on_the_home_loop(thread: StreamThread) -> None:
    counter = Counter()
    face = HomeCalls(counter, asyncio.get_running_loop())

    async def on_worker() -> int:
        return await face.record(21)

    assert await thread.run(on_worker) == 42
    assert counter.ran_on == [threading.current_thread().name]

    async def failing() -> None:
        await face.fail()

    with pytest.raises(ValueError, match="disk full"):
        await thread.run(failing)
    with pytest.raises(AttributeError, match="not a coroutine method"):
        _ = face.name

    direct = HomeCalls(counter, asyncio.get_running_loop(), direct=frozenset({"record"}))

    async def direct_on_worker() -> int:
        return await direct.record(1)

    assert await thread.run(direct_on_worker) == 2
    assert counter.ran_on[-1] == "test-stream"  # a direct call runs where it is made
    await thread.aclose()


async def test_a_home_call_once_made_finishes_when_its_worker_task_is_cancelled(
        thread: StreamThread) -> None:
    counter = Counter()
    face = HomeCalls(counter, asyncio.get_running_loop())

    async def on_worker() -> None:
        task = asyncio.ensure_future(face.slow())
        await asyncio.sleep(0)  # the call is on its way home
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    await thread.run(on_worker)
    counter.gate.set()
    await counter.finished.wait()
    assert counter.ran_on == ["slow finished"]
    await thread.aclose()


async def test_close_lets_the_cleanup_of_a_stopped_stream_finish(thread: StreamThread) -> None:
    """A shielded write left behind by a cancelled task still lands before the thread ends."""
    counter = Counter()
    face = HomeCalls(counter, asyncio.get_running_loop())
    never = asyncio.Event()

    async def stopping() -> AsyncGenerator[str, None]:
        try:
            yield "part"
            await never.wait()
        except asyncio.CancelledError:
            await asyncio.shield(face.slow())  # as the engine keeps a stopped reply
            raise

    stream = thread.stream(stopping, Joined())
    assert await anext(stream) == "part"
    closing = asyncio.ensure_future(stream.aclose())
    await asyncio.sleep(0)
    counter.gate.set()
    await closing
    await thread.aclose()
    assert counter.ran_on == ["slow finished"]
    assert not thread.is_alive()
