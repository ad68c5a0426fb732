"""Compare efforts: one user turn answered at several reasoning efforts at once, side by side.

The same request — same text, same media by the same file IDs, same history — goes out once
per effort, concurrently, each streamed as its own column. Media are uploaded once, before the
answers fan out (the answers then find the file IDs in the uploads cache). Each column is its
own task: a 429 retries only that column (the client honours `Retry-After`), a failure or a
Stop ends only that column, and the partial answer of a stopped column stays, `stopped`.
Every answer is stored as a version of the same user turn, labelled with its effort and its
figures; `keep()` makes one the turn's shown answer, so the conversation continues from it.

No Qt: the window's comparison controller and `stepdesk ask --compare` drive this the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING, Any

from app.api.errors import ApiError, AuthError
from app.config import EFFORTS
from app.turn_events import (
    ContentDelta,
    MediaOmitted,
    MediaPrepared,
    ReasoningDelta,
    Retrying,
    TurnEvent,
    TurnFailed,
    TurnFinished,
    TurnStarted,
    UploadProgress,
    Usage,
)

if TYPE_CHECKING:
    from app.api.client import StepClient
    from app.chat import ChatEngine
    from app.media.intake import PreparedMedia
    from app.store import ComparisonRecord, Message, Store

log = logging.getLogger(__name__)

DEFAULT_EFFORTS: tuple[str, ...] = ("low", "medium", "high")
FINAL = frozenset({"complete", "truncated", "stopped", "interrupted", "blocked", "error"})


def parse_efforts(text: str) -> tuple[str, ...]:
    """`"low,high"` → ("low", "high"); at least two different known efforts, in the given
    order. Raises ValueError with one sentence otherwise."""
    efforts = tuple(part.strip().lower() for part in text.split(",") if part.strip())
    unknown = [e for e in efforts if e not in EFFORTS]
    if unknown:
        raise ValueError(f"{unknown[0]!r} is not an effort; use {', '.join(EFFORTS)}.")
    if len(set(efforts)) != len(efforts):
        raise ValueError("Each effort may be compared once.")
    if len(efforts) < 2:
        raise ValueError("A comparison needs at least two efforts, e.g. low,medium,high.")
    return efforts


@dataclass
class Figures:
    """What one column's answer cost: read live while it streams, stored when it ends.

    Times are seconds since the column's request went out (retry waits included);
    `reasoning_tokens` comes from the server's usage when it reports it, otherwise from the
    completion counter at the first answer token (StepFun counts thinking first), otherwise
    by splitting the completion count by text length (`tokens_estimated`).
    """

    effort: str
    status: str = "waiting"
    message_id: int | None = None
    error: str = ""
    exit_code: int = 0
    first_reasoning_s: float | None = None
    first_answer_s: float | None = None
    total_s: float | None = None
    prompt_tokens: int | None = None
    reasoning_tokens: int | None = None
    answer_tokens: int | None = None
    cached_tokens: int | None = None
    tokens_estimated: bool = False
    retries: int = 0

    @property
    def done(self) -> bool:
        return self.status in FINAL

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Figures:
        """Stored figures (unknown keys from a newer version are ignored)."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


class _Meter:
    """Turns one column's event stream into its Figures, reading the injected clock."""

    def __init__(self, figures: Figures, clock: Callable[[], float]) -> None:
        self.figures = figures
        self._clock = clock
        self._start = clock()
        self._usage: Usage | None = None
        self._counter_at_answer: int | None = None  # completion tokens before the answer
        self._reasoning_chars = 0
        self._answer_chars = 0
        self._saw_usage_while_thinking = False

    def _elapsed(self) -> float:
        return round(self._clock() - self._start, 6)

    def see(self, event: object) -> None:
        f = self.figures
        if isinstance(event, ReasoningDelta):
            if f.first_reasoning_s is None:
                f.first_reasoning_s = self._elapsed()
            self._reasoning_chars += len(event.text)
        elif isinstance(event, ContentDelta):
            if f.first_answer_s is None:
                f.first_answer_s = self._elapsed()
                if self._saw_usage_while_thinking and self._usage is not None:
                    self._counter_at_answer = self._usage.completion
            self._answer_chars += len(event.text)
        elif isinstance(event, Usage):
            self._usage = event
            if self._reasoning_chars and not self._answer_chars:
                self._saw_usage_while_thinking = True
            self._tokens()
        elif isinstance(event, TurnStarted):
            f.message_id = event.assistant_message_id
            f.status = "streaming"
        elif isinstance(event, Retrying):
            f.retries += 1
            f.status = "retrying"
        elif isinstance(event, TurnFinished):
            self.end(event.status)
        elif isinstance(event, TurnFailed):
            self.end(event.status, event.error, event.exit_code or 3)

    def end(self, status: str, error: str = "", exit_code: int = 0) -> None:
        f = self.figures
        f.status, f.error, f.exit_code = status, error, exit_code
        f.total_s = self._elapsed()
        self._tokens()

    def _tokens(self) -> None:
        usage, f = self._usage, self.figures
        if usage is None:
            return
        f.prompt_tokens, f.cached_tokens = usage.prompt, usage.cached
        completion = usage.completion
        if usage.reasoning is not None:
            reasoning, f.tokens_estimated = usage.reasoning, False
        elif not self._answer_chars:
            reasoning, f.tokens_estimated = completion, False
        elif self._counter_at_answer is not None:
            reasoning, f.tokens_estimated = self._counter_at_answer, False
        else:
            chars = self._reasoning_chars + self._answer_chars
            reasoning = round(completion * self._reasoning_chars / chars) if chars else 0
            f.tokens_estimated = True
        f.reasoning_tokens = min(reasoning, completion)
        f.answer_tokens = completion - f.reasoning_tokens


@dataclass(frozen=True, slots=True)
class CompareStarted:
    """The user turn is stored and its media uploaded; the columns are about to stream."""

    comparison_id: int
    conversation_id: int
    user_message_id: int
    efforts: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ColumnEvent:
    """A turn event of one column (`TurnStarted` … `TurnFinished`/`TurnFailed`)."""

    effort: str
    event: TurnEvent


CompareEvent = CompareStarted | ColumnEvent | MediaPrepared | MediaOmitted | UploadProgress
_COLUMN_DONE = object()


@dataclass(frozen=True)
class _NewTurn:
    conversation_id: int | None
    text: str
    media: tuple[PreparedMedia, ...]
    title: str | None
    effort: str | None  # the turn's own (a new conversation starts with it), not a column's


class Comparison:
    """One comparison run. Iterate `events()` once; `stop(effort)` ends one column or all.

    Cancelling the task that iterates `events()` stops every column too (their partial
    answers are kept as `stopped`); `figures` is readable at any time.
    """

    def __init__(self, engine: ChatEngine, store: Store, efforts: Sequence[str], *,
                 clock: Callable[[], float], model: str | None, template: str | None,
                 user_message_id: int | None = None, new_turn: _NewTurn | None = None) -> None:
        self.efforts = tuple(efforts)
        self.figures = {e: Figures(e) for e in self.efforts}
        self.user_message_id = user_message_id
        self.conversation_id: int | None = None
        self.comparison_id: int | None = None
        self.template = template
        self._engine, self._store, self._clock, self._model = engine, store, clock, model
        self._new_turn = new_turn
        self._queue: asyncio.Queue[object] = asyncio.Queue()
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._running: set[str] = set()  # columns whose task has begun
        self._stopped: set[str] = set()
        self._prepared: list[MediaPrepared] = []
        self._used = False

    def stop(self, effort: str | None = None) -> None:
        """Stop one column (or every column): what it streamed so far stays, `stopped`.

        A column whose task has not begun is only marked: it ends itself as stopped when it
        begins (a task cancelled before its first step would never run its cleanup, and the
        comparison would wait for that column for ever)."""
        for name in self.efforts if effort is None else (effort,):
            self._stopped.add(name)
            task = self._tasks.get(name)
            if task is not None and name in self._running:
                task.cancel()

    async def events(self) -> AsyncGenerator[CompareEvent, None]:
        if self._used:
            raise RuntimeError("a Comparison runs once")
        self._used = True
        user = await self._user_turn()
        for prepared in self._prepared:
            yield prepared
        self.user_message_id, self.conversation_id = user.id, user.conversation_id
        try:
            async with contextlib.aclosing(self._engine.upload_media(user.id)) as uploads:
                async for event in uploads:
                    yield event  # type: ignore[misc]
        except ApiError as exc:  # every column would fail the same way: fail them all now
            for effort in self.efforts:
                failure = TurnFailed("error", str(exc), 4 if isinstance(exc, AuthError) else 3,
                                     exc.trace_id)
                self.figures[effort].status, self.figures[effort].error = "error", str(exc)
                self.figures[effort].exit_code = failure.exit_code
                yield ColumnEvent(effort, failure)
            return
        self.comparison_id = await self._store.create_comparison(user.id, self.efforts,
                                                                 self.template)
        yield CompareStarted(self.comparison_id, user.conversation_id, user.id, self.efforts)
        group = await self._version_group(user)
        first: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()
        if group is not None:
            first.set_result(group)
        for index, effort in enumerate(self.efforts):
            lead = index == 0 and group is None
            self._tasks[effort] = asyncio.ensure_future(self._column(effort, first, lead))
            self._tasks[effort].set_name(f"compare-{effort}")
        pending = len(self.efforts)
        try:
            while pending:
                item = await self._queue.get()
                if item is _COLUMN_DONE:
                    pending -= 1
                else:
                    yield item  # type: ignore[misc]
        finally:
            running = [t for t in self._tasks.values() if not t.done()]
            for task in running:
                task.cancel()
            if running:
                await asyncio.shield(asyncio.wait(running))

    # -- internals --------------------------------------------------------------------------

    async def _user_turn(self) -> Message:
        if self._new_turn is None:
            assert self.user_message_id is not None
            user = await self._store.get_message(self.user_message_id)
            if user is None or user.role != "user":
                raise LookupError(f"There is no user message {self.user_message_id}.")
            if self.template is None:  # a turn sent from a template, compared later
                self.template = user.template
            return user
        turn = self._new_turn
        user, self._prepared = await self._engine.add_turn(
            turn.conversation_id, turn.text, turn.media, effort=turn.effort,
            model=self._model, title=turn.title, template=self.template)
        return user

    async def _version_group(self, user: Message) -> int | None:
        """The version group of the turn's earlier answers, if it has any."""
        for m in await self._store.list_messages(user.conversation_id):
            if m.role == "assistant" and m.reply_to == user.id:
                return m.version_of or m.id
        return None

    async def _column(self, effort: str, first: asyncio.Future[int | None], lead: bool) -> None:
        """Stream one column into the queue; its own end (stop, failure) ends only it."""
        meter: _Meter | None = None
        self._running.add(effort)
        try:
            if effort in self._stopped:  # stopped before it began: end as a Stop does
                raise asyncio.CancelledError
            version_of = None if lead else await asyncio.shield(first)
            meter = _Meter(self.figures[effort], self._clock)
            assert self.user_message_id is not None
            events = self._engine.answer(self.user_message_id, effort=effort,
                                         model=self._model, version_of=version_of)
            async with contextlib.aclosing(events):
                async for event in events:
                    meter.see(event)
                    if lead and isinstance(event, TurnStarted) and not first.done():
                        first.set_result(event.assistant_message_id)
                    self._queue.put_nowait(ColumnEvent(effort, event))
        except asyncio.CancelledError:
            if meter is None:
                meter = _Meter(self.figures[effort], self._clock)
            meter.end("stopped")
            self._queue.put_nowait(ColumnEvent(effort, TurnFinished("stopped")))
        except Exception as exc:  # a store failure or a bug: this column fails, not the rest
            log.exception("comparison column %s failed", effort)
            failure = TurnFailed("error", str(exc) or type(exc).__name__)
            if meter is None:
                meter = _Meter(self.figures[effort], self._clock)
            meter.see(failure)
            self._queue.put_nowait(ColumnEvent(effort, failure))
        finally:
            if lead and not first.done():
                first.set_result(None)
            await self._save_figures(effort)
            self._queue.put_nowait(_COLUMN_DONE)

    async def _save_figures(self, effort: str) -> None:
        figures = self.figures[effort]
        if figures.message_id is None:
            return
        try:
            await asyncio.shield(self._store.set_figures(
                figures.message_id, figures.to_dict(), self.comparison_id))
        except Exception:  # the answer itself is stored; only its label is lost
            log.exception("could not store the figures of %s", effort)


class Comparer:
    """Starts comparisons and keeps their answers; one per app, like the ChatEngine."""

    def __init__(self, engine: ChatEngine, store: Store,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._engine, self._store, self._clock = engine, store, clock

    def new_turn(self, conversation_id: int | None, text: str,
                 media: Sequence[PreparedMedia] = (), *,
                 efforts: Sequence[str] = DEFAULT_EFFORTS, model: str | None = None,
                 title: str | None = None, template: str | None = None,
                 effort: str | None = None) -> Comparison:
        """Send a new user turn and answer it at each effort.

        `effort` is the turn's own, the one the composer showed (None: the settings'): a new
        conversation starts with it, so comparing does not quietly switch the conversation to
        the first compared effort; keeping an answer then makes its effort the conversation's.
        """
        return Comparison(self._engine, self._store, efforts, clock=self._clock, model=model,
                          template=template,
                          new_turn=_NewTurn(conversation_id, text, tuple(media), title, effort))

    def sent_turn(self, user_message_id: int, *, efforts: Sequence[str] = DEFAULT_EFFORTS,
                  model: str | None = None, template: str | None = None) -> Comparison:
        """Answer an already sent user turn again at each effort (earlier answers stay)."""
        return Comparison(self._engine, self._store, efforts, clock=self._clock, model=model,
                          template=template, user_message_id=user_message_id)

    @property
    def client(self) -> StepClient:
        """The HTTP client the engine uses now (a settings change replaces it)."""
        return self._engine.snapshot().client

    def twin(self, store_face: Callable[[Store], Store]) -> Comparer:
        """This comparer for another event loop's thread: its engine's twin with a new HTTP
        client (the caller's to close: `twin.client.aclose()`) and `store_face(store)`, a face
        of the same store usable from that thread."""
        face = store_face(self._store)
        client = self._engine.snapshot().client.twin()
        return Comparer(self._engine.twin(face, client), face, self._clock)

    async def keep(self, assistant_message_id: int) -> Message:
        """"Use this answer": it becomes the turn's answer (the conversation continues from
        it) and its effort the conversation's."""
        return await self._store.keep_answer(assistant_message_id)

    async def comparisons(self, conversation_id: int) -> list[ComparisonRecord]:
        """The comparisons made in a conversation so far (for the efforts panel)."""
        return await self._store.list_comparisons(conversation_id)


def figures_of(message: Message) -> Figures | None:
    """The stored figures of an answer, if it has any."""
    return Figures.from_dict(message.figures) if message.figures and \
        message.role == "assistant" else None


def version_label(message: Message) -> str:
    """"high · 4.2 s" — how the version switcher names an answer."""
    parts = [message.effort] if message.effort else []
    figures = figures_of(message)
    if figures is not None and figures.total_s is not None:
        parts.append(f"{figures.total_s:.1f} s")
    elif message.finished_at and message.created_at:
        parts.append(f"{(message.finished_at - message.created_at) / 1000:.1f} s")
    return " · ".join(parts)
