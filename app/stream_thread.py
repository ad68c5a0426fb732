"""A worker thread with its own asyncio event loop, for streams that must not cost the UI thread.

Why: under qasync every network read, SSE line, JSON decode and engine event of a reply runs
on the UI thread, so three replies at once cost it nearly three times one. A `StreamThread`
runs such async work on its own loop and hands the loop that asked (the "home" loop, the UI's)
what it produced in batches, at most one hop per `interval`: the home loop's share no longer
grows with the rate of network reads or the number of streams, only with what it shows.

- `stream(make, collector)`, awaited on the home loop, runs the async generator `make()` on the
  worker, feeds its items to `collector.add` there and yields what `collector.take()` returns,
  once per hop: the collector decides what a batch is (all items; or deltas joined per column
  and a snapshot of the figures), so the home loop never handles items one by one. A new hop
  leaves at most once per `interval` and only after the home loop took the previous one: a
  busy home gets bigger batches, never a backlog. Leaving the `async for` (or cancelling the
  task in it) cancels the worker's generator and waits, shielded, until its cleanup has
  finished, so a reply's "stopped" write has landed when it returns.
- `HomeCalls(obj, home)` is `obj` for code on the worker whose awaitable methods run on the
  home loop: the store, whose change listeners must hear about writes on the UI loop. As with
  the store itself, a call once made completes even if the worker task awaiting it is
  cancelled.
- `call(fn, *args)` runs a plain function on the worker (a Stop); `run(fn)` awaits a coroutine
  there; `aclose()` lets whatever still runs finish its cleanup and ends the thread.

No Qt and nothing of the app: any loop that implements `call_soon_threadsafe` is a home.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import threading
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

T = TypeVar("T")
B = TypeVar("B")
R = TypeVar("R")
T_contra = TypeVar("T_contra", contravariant=True)
B_co = TypeVar("B_co", covariant=True)

FRAME_S = 1 / 30
"""Default batching interval: a screen shows no more than this anyway."""


class Collector(Protocol[T_contra, B_co]):
    """Gathers a stream's items on the worker into what one hop carries home."""

    def add(self, item: T_contra) -> None:
        """One item, on the worker."""

    def take(self) -> B_co:
        """What was gathered since the last take (the collector starts afresh)."""


@dataclass
class _Delivery(Generic[B]):
    batch: B
    final: bool = False
    error: BaseException | None = None


class _Channel(Generic[T, B]):
    """The worker side of one stream: feeds the collector, sends a batch home at most once
    per interval and only when the home loop has taken the one before."""

    def __init__(self, worker: asyncio.AbstractEventLoop, home: asyncio.AbstractEventLoop,
                 inbox: asyncio.Queue[_Delivery[B]], collector: Collector[T, B],
                 interval: float) -> None:
        self._worker, self._home, self._inbox = worker, home, inbox
        self._collector, self._interval = collector, interval
        self._dirty = self._in_flight = False
        self._sent_at = -interval
        self._timer: asyncio.TimerHandle | None = None

    def put(self, item: T) -> None:
        self._collector.add(item)
        self._dirty = True
        self._schedule()

    def taken(self) -> None:
        """The home loop has handled the last batch (called on the worker)."""
        self._in_flight = False
        self._schedule()

    def end(self, task: asyncio.Task[None]) -> None:
        """Done callback of the worker task: what is left, and the end."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        error = None if task.cancelled() else task.exception()
        self._deliver(_Delivery(self._collector.take(), final=True, error=error))

    def _schedule(self) -> None:
        if self._dirty and not self._in_flight and self._timer is None:
            delay = max(0.0, self._sent_at + self._interval - self._worker.time())
            self._timer = self._worker.call_later(delay, self._send)

    def _send(self) -> None:
        self._timer = None
        self._dirty, self._in_flight = False, True
        self._sent_at = self._worker.time()
        self._deliver(_Delivery(self._collector.take()))

    def _deliver(self, delivery: _Delivery[B]) -> None:
        with contextlib.suppress(RuntimeError):  # the home loop is closed: nobody listens
            self._home.call_soon_threadsafe(self._inbox.put_nowait, delivery)


class StreamThread:
    """One worker thread and its event loop; see the module docstring. Start by creating it,
    end with `await aclose()` on the home loop."""

    def __init__(self, name: str, *, interval: float = FRAME_S) -> None:
        self._interval = interval
        self._loop = asyncio.new_event_loop()  # made here: callbacks queue before it runs
        self._streams: dict[object, asyncio.Task[None]] = {}
        self._ended: asyncio.Future[None] | None = None
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)
        self._thread.start()

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def call(self, fn: Callable[..., object], *args: object) -> None:
        """Run `fn(*args)` on the worker soon, in the order of the calls (dropped once the
        thread has ended: nothing runs there any more)."""
        with contextlib.suppress(RuntimeError):  # the worker's loop is closed
            self._loop.call_soon_threadsafe(fn, *args)

    async def run(self, fn: Callable[[], Awaitable[R]]) -> R:
        """Await `fn()` on the worker from the home loop."""
        return await asyncio.wrap_future(
            asyncio.run_coroutine_threadsafe(_awaited(fn), self._loop))

    async def stream(self, make: Callable[[], AsyncGenerator[T, None]],
                     collector: Collector[T, B]) -> AsyncGenerator[B, None]:
        """Run `make()` on the worker; yield its items as batches (see the module docstring).

        The last batch comes with the end; an exception of the generator is raised here
        after it."""
        if self._ended is not None:
            raise RuntimeError("this stream thread is closed")
        home = asyncio.get_running_loop()
        inbox: asyncio.Queue[_Delivery[B]] = asyncio.Queue()
        key = object()
        channel = _Channel(self._loop, home, inbox, collector, self._interval)
        self.call(self._start, key, make, channel)
        ended = False
        try:
            while True:
                delivery = await inbox.get()
                ended = delivery.final
                yield delivery.batch
                if ended:
                    if delivery.error is not None:
                        raise delivery.error
                    return
                self.call(channel.taken)
        finally:
            if not ended:
                self.call(self._cancel, key)
                await asyncio.shield(_until_final(inbox))

    async def aclose(self, timeout: float = 10.0) -> None:
        """Let every task on the worker finish (their cleanup included: shielded writes of a
        stopped reply), cancelling only those still running after `timeout`; then close the
        loop and end the thread. Awaited on the home loop, which keeps running meanwhile."""
        if self._ended is None:
            self._ended = asyncio.get_running_loop().create_future()
            self.call(self._shut_down, timeout, asyncio.get_running_loop(), self._ended)
        await asyncio.shield(self._ended)
        self._thread.join()

    # -- on the worker -------------------------------------------------------------------------

    def _main(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_forever()
        finally:
            self._loop.close()

    def _start(self, key: object, make: Callable[[], AsyncGenerator[T, None]],
               channel: _Channel[T, B]) -> None:
        task = self._loop.create_task(_pump(make, channel))
        self._streams[key] = task
        task.add_done_callback(channel.end)
        task.add_done_callback(lambda _t: self._streams.pop(key, None))

    def _cancel(self, key: object) -> None:
        task = self._streams.get(key)
        if task is not None:
            task.cancel()

    def _shut_down(self, timeout: float, home: asyncio.AbstractEventLoop,
                   ended: asyncio.Future[None]) -> None:
        self._loop.create_task(self._finish(timeout, home, ended))

    async def _finish(self, timeout: float, home: asyncio.AbstractEventLoop,
                      ended: asyncio.Future[None]) -> None:
        for task in self._streams.values():
            task.cancel()
        me = asyncio.current_task()
        deadline = self._loop.time() + timeout
        # Cleanup may leave tasks of its own (a shielded write outlives a twice-cancelled
        # task): wait for those too, until the deadline, then cancel what is left once.
        while (others := [t for t in asyncio.all_tasks(self._loop) if t is not me]) and \
                self._loop.time() < deadline:
            await asyncio.wait(others, timeout=deadline - self._loop.time())
        for task in others:
            task.cancel()
        if others:
            await asyncio.wait(others, timeout=1.0)
        await self._loop.shutdown_asyncgens()
        await self._loop.shutdown_default_executor()  # `asyncio.to_thread` work of the streams
        self._loop.call_soon(self._stop, home, ended)

    def _stop(self, home: asyncio.AbstractEventLoop, ended: asyncio.Future[None]) -> None:
        self._loop.stop()
        home.call_soon_threadsafe(_settle, ended)


class HomeCalls:
    """`target` for code on the worker loop: each of its coroutine methods runs on `home`.

    Only coroutine methods are offered (a plain attribute read across threads is a race this
    proxy would hide). A call once made runs to its end on the home loop even if the worker
    task awaiting it is cancelled: the store's own promise, kept across the hop. The methods
    named in `direct` are the target's own, called on the worker: the caller vouches that
    they may run on any loop.
    """

    def __init__(self, target: object, home: asyncio.AbstractEventLoop, *,
                 direct: frozenset[str] = frozenset()) -> None:
        self._target, self._home, self._direct = target, home, direct

    def __getattr__(self, name: str) -> Callable[..., Awaitable[Any]]:
        method = getattr(self._target, name)
        if not inspect.iscoroutinefunction(method):
            raise AttributeError(f"{name} is not a coroutine method of {self._target!r}")
        if name in self._direct:
            return method
        home = self._home

        async def on_home(*args: object, **kwargs: object) -> Any:
            worker = asyncio.get_running_loop()
            waiter: asyncio.Future[Any] = worker.create_future()

            def settle(job: asyncio.Task[Any]) -> None:
                with contextlib.suppress(RuntimeError):  # the worker's loop is closed
                    worker.call_soon_threadsafe(_copy_outcome, job, waiter)

            def start() -> None:
                home.create_task(method(*args, **kwargs)).add_done_callback(settle)

            home.call_soon_threadsafe(start)
            return await waiter

        return on_home


async def _pump(make: Callable[[], AsyncGenerator[T, None]], channel: _Channel[T, Any]) -> None:
    async with contextlib.aclosing(make()) as items:
        async for item in items:
            channel.put(item)


async def _awaited(fn: Callable[[], Awaitable[R]]) -> R:
    return await fn()


async def _until_final(inbox: asyncio.Queue[_Delivery[Any]]) -> None:
    while not (await inbox.get()).final:
        pass


def _settle(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _copy_outcome(job: asyncio.Task[Any], waiter: asyncio.Future[Any]) -> None:
    """Give the worker's waiter the home job's result (read even when nobody waits any more,
    so asyncio does not log it as never retrieved)."""
    if job.cancelled():
        if not waiter.done():
            waiter.cancel()
        return
    error = job.exception()
    if waiter.done():
        return
    if error is not None:
        waiter.set_exception(error)
    else:
        waiter.set_result(job.result())
