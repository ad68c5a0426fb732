"""Where the window's comparisons run: on a worker thread with its own event loop.

Three paced streams cost the UI thread almost three times one when their network reads, SSE
parsing, JSON decoding and engine events all run under qasync; the UI itself only appends
text. So a comparison runs on an `app.stream_thread.StreamThread`: a twin of the window's
engine there, with its own HTTP client (same base URL, key, timeouts, proxy, trust and retry
policy; kept while the window's client is the same one, so its connections are reused), and
the store reached through `HomeCalls`: every call still goes through the store's own API and
its one SQLite thread, made on the UI loop so its change listeners hear about writes there
(appending reply text, which tells them nothing, goes straight from the worker), and a write
once made lands even when the column that made it is stopped. The UI loop receives one
`CompareBatch` per hop (at most one per frame): each column's deltas already joined on the
worker, the other events in order, and a `Progress` snapshot taken at the same instant.

Qt-free; the comparison controller drives it. `Comparison` objects live on the worker only.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from app.compare import ColumnEvent, CompareEvent, Comparer, Comparison, Figures
from app.stream_thread import HomeCalls, StreamThread
from app.turn_events import ContentDelta, ReasoningDelta, Usage

if TYPE_CHECKING:
    from app.api.client import StepClient
    from app.store import Store


@dataclass(frozen=True)
class Progress:
    """What the UI knows of a run besides its events, copied on the worker with each batch."""

    figures: dict[str, Figures]
    conversation_id: int | None = None
    template: str | None = None


@dataclass(frozen=True)
class CompareBatch:
    """One hop's worth of a run. A column's text here comes before its events here (a
    column's deltas never follow its end), so showing the text first keeps the order."""

    text: dict[str, tuple[str, str]]  # effort → (reasoning, answer) since the last batch
    events: list[CompareEvent]  # every other event, in order
    progress: Progress


class _Gather:
    """The run's collector, on the worker: deltas joined per column, other events kept."""

    def __init__(self, progress: Callable[[], Progress]) -> None:
        self._progress = progress
        self._text: dict[str, tuple[list[str], list[str]]] = {}
        self._events: list[CompareEvent] = []

    def add(self, item: CompareEvent) -> None:
        if not isinstance(item, ColumnEvent):
            self._events.append(item)
        elif isinstance(item.event, ContentDelta | ReasoningDelta):
            reasoning, content = self._text.setdefault(item.effort, ([], []))
            (reasoning if isinstance(item.event, ReasoningDelta) else content).append(
                item.event.text)
        elif not isinstance(item.event, Usage):  # usage reaches the UI through the figures
            self._events.append(item)

    def take(self) -> CompareBatch:
        text = {e: ("".join(r), "".join(c)) for e, (r, c) in self._text.items()}
        events, self._text, self._events = self._events, {}, []
        return CompareBatch(text, events, self._progress())


class CompareWorker:
    """The worker thread (started by the first comparison) and the engine twin on it."""

    def __init__(self, name: str = "stepdesk-compare") -> None:
        self._name = name
        self._thread: StreamThread | None = None
        self._twin: tuple[StepClient, Comparer] | None = None  # worker-side only

    def run(self, comparer: Comparer, build: Callable[[Comparer], Comparison],
            efforts: Sequence[str]) -> CompareRun:
        """A comparison `build(twin)` of `comparer`'s twin; it starts when its batches are
        iterated (`CompareRun.batches`)."""
        if self._thread is None:
            self._thread = StreamThread(self._name)
        return CompareRun(self._thread, functools.partial(self._twin_of, comparer), build,
                          efforts)

    async def aclose(self, timeout: float) -> None:
        """Close the twin's HTTP client and end the thread (after any run's cleanup)."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        with contextlib.suppress(Exception):  # a failing close must not keep the thread
            await asyncio.wait_for(thread.run(self._close_twin), timeout)
        await thread.aclose(timeout)

    # -- on the worker -------------------------------------------------------------------------

    async def _twin_of(self, comparer: Comparer, home: asyncio.AbstractEventLoop) -> Comparer:
        source = comparer.client
        if self._twin is None or self._twin[0] is not source:
            await self._close_twin()  # the window's client changed (key, base URL, proxy)
            face = functools.partial(_home_store, home=home)
            self._twin = (source, comparer.twin(face))
        return self._twin[1]

    async def _close_twin(self) -> None:
        twin, self._twin = self._twin, None
        if twin is not None:
            await twin[1].client.aclose()


DIRECT_STORE_CALLS = frozenset({"append_reply"})
"""Store calls the worker makes itself. Appending reply text is the most frequent write and
the one that reports nothing to the store's change listeners (`app.store.changes`): it goes
to the store's SQLite thread straight from the worker, sparing the UI loop two hops per
batch of text. Every other call runs on the UI loop, where the listeners are."""


def _home_store(store: Store, *, home: asyncio.AbstractEventLoop) -> Store:
    """The store as the worker sees it: the same coroutine methods, run on the UI loop (all
    but `DIRECT_STORE_CALLS`)."""
    return cast("Store", HomeCalls(store, home, direct=DIRECT_STORE_CALLS))


class CompareRun:
    """One comparison on the worker: iterate `batches()` once on the UI loop; `stop()` from
    it ends one column (or all). Cancelling the iterating task stops every column and returns
    once their partial answers are stored."""

    def __init__(self, thread: StreamThread,
                 twin: Callable[[asyncio.AbstractEventLoop], Awaitable[Comparer]],
                 build: Callable[[Comparer], Comparison], efforts: Sequence[str]) -> None:
        self.efforts = tuple(efforts)
        self._thread, self._twin, self._build = thread, twin, build
        self._comparison: Comparison | None = None  # worker-side only
        self._stops: list[str | None] = []  # Stops that came before the comparison existed

    def stop(self, effort: str | None = None) -> None:
        self._thread.call(self._stop_here, effort)

    async def batches(self) -> AsyncGenerator[CompareBatch, None]:
        home = asyncio.get_running_loop()
        stream = self._thread.stream(functools.partial(self._events, home),
                                     _Gather(self._progress))
        async with contextlib.aclosing(stream) as batches:
            async for batch in batches:
                yield batch

    # -- on the worker -------------------------------------------------------------------------

    def _stop_here(self, effort: str | None) -> None:
        if self._comparison is None:
            self._stops.append(effort)
        else:
            self._comparison.stop(effort)

    async def _events(self, home: asyncio.AbstractEventLoop
                      ) -> AsyncGenerator[CompareEvent, None]:
        comparison = self._comparison = self._build(await self._twin(home))
        for effort in self._stops:
            comparison.stop(effort)
        async with contextlib.aclosing(comparison.events()) as events:
            async for event in events:
                yield event

    def _progress(self) -> Progress:
        comparison = self._comparison
        if comparison is None:
            return Progress({e: Figures(e) for e in self.efforts})
        return Progress({e: dataclasses.replace(f) for e, f in comparison.figures.items()},
                        comparison.conversation_id, comparison.template)
