"""Controllers that own asyncio tasks: the one place where core events become Qt signals.

`TaskSet` tracks the window's fire-and-forget work so closing can cancel and await it.
`ChatController` runs at most one turn per conversation; each run is a task consuming a
`ChatEngine` event iterator. Stop cancels that task: the engine keeps the partial reply as
`stopped`. Signals carry the conversation id, so the window can route a reply to the right
conversation even after the user switched away while it streams.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal

from app.turn_events import (
    ContentDelta,
    MediaOmitted,
    ReasoningDelta,
    Retrying,
    TurnFailed,
    TurnFinished,
    TurnStarted,
    UploadProgress,
    Usage,
)

if TYPE_CHECKING:
    from app.chat import ChatEngine
    from app.media.intake import PreparedMedia

log = logging.getLogger(__name__)

NEW = -1
"""Conversation key of a turn that starts a conversation not created yet."""


class TaskSet:
    """Owns background tasks; failures go to `on_error` instead of vanishing."""

    def __init__(self, on_error: Callable[[str], None]) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()
        self._on_error = on_error

    def spawn(self, coro: Awaitable[Any], name: str = "") -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        if name:
            task.set_name(name)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            log.error("background task %s failed", task.get_name(), exc_info=exc)
            self._on_error(str(exc) or type(exc).__name__)

    async def shutdown(self, timeout: float) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=timeout)


@dataclass
class Run:
    """One running turn and what it has streamed so far (for re-showing after a switch)."""

    key: int  # conversation id, or NEW until TurnStarted
    kind: str
    task: asyncio.Task[None] | None = None
    user_id: int | None = None
    assistant_id: int | None = None
    reasoning: list[str] = field(default_factory=list)
    content: list[str] = field(default_factory=list)
    usage: Usage | None = None


class ChatController(QObject):
    """Runs turns through the `ChatEngine` (looked up per turn: settings may swap it).

    Signals:
        turn_started(int, int, int, int): key, conversation id, user id, assistant id.
        reasoning(int, int, str): conversation id, assistant id, thinking delta.
        content(int, int, str): conversation id, assistant id, answer delta.
        usage(int, int, int, int, int): conversation id, assistant id, prompt, completion, cached.
        upload_progress(str, int, int): sha256, bytes sent, total.
        notice(int, str): conversation key, a transient note (retrying, media left out).
        turn_ended(int, int, str, str): conversation key, assistant id (0 if none), status,
            error text ("" unless failed).
        busy_changed(int, bool): conversation key, whether a turn runs there.
    """

    turn_started = Signal(int, int, int, int)
    reasoning = Signal(int, int, str)
    content = Signal(int, int, str)
    usage = Signal(int, int, int, int, int)
    upload_progress = Signal(str, int, int)
    notice = Signal(int, str)
    turn_ended = Signal(int, int, str, str)
    busy_changed = Signal(int, bool)

    def __init__(self, engine: Callable[[], ChatEngine], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._engine = engine
        self._runs: dict[int, Run] = {}
        self.last_trace_id: str | None = None

    # --- queries -----------------------------------------------------------------------
    def is_busy(self, key: int) -> bool:
        return key in self._runs

    def any_busy(self) -> bool:
        return bool(self._runs)

    def run_for(self, key: int) -> Run | None:
        return self._runs.get(key)

    # --- commands ----------------------------------------------------------------------
    def send(self, conversation_id: int | None, text: str, media: Sequence[PreparedMedia],
             *, effort: str, model: str, title: str | None = None) -> bool:
        key = NEW if conversation_id is None else conversation_id
        return self._start(key, "send", lambda e: e.send(
            conversation_id, text, list(media), effort=effort, model=model, title=title))

    def regenerate(self, conversation_id: int, assistant_id: int, *, effort: str | None = None,
                   model: str | None = None) -> bool:
        return self._start(conversation_id, "regenerate",
                           lambda e: e.regenerate(assistant_id, effort=effort, model=model))

    def edit_and_resend(self, conversation_id: int, user_id: int, text: str,
                        *, effort: str | None = None) -> bool:
        return self._start(conversation_id, "edit",
                           lambda e: e.edit_and_resend(user_id, text, effort=effort))

    def continue_reply(self, conversation_id: int, assistant_id: int) -> bool:
        return self._start(conversation_id, "continue",
                           lambda e: e.continue_reply(assistant_id))

    def stop(self, key: int) -> None:
        run = self._runs.get(key)
        if run is not None and run.task is not None:
            run.task.cancel()

    async def shutdown(self, timeout: float) -> None:
        """Cancel every run and wait (bounded) for the partial replies to be saved."""
        tasks = [r.task for r in self._runs.values() if r.task is not None]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=timeout)

    # --- the run -----------------------------------------------------------------------
    def _start(self, key: int, kind: str,
               factory: Callable[[ChatEngine], AsyncIterator[Any]]) -> bool:
        if key in self._runs:
            return False
        run = Run(key=key, kind=kind)
        events = factory(self._engine())
        self._runs[key] = run
        run.task = asyncio.ensure_future(self._consume(run, events))
        self.busy_changed.emit(key, True)
        return True

    async def _consume(self, run: Run, events: AsyncIterator[Any]) -> None:
        status, error = "complete", ""
        try:
            async with contextlib.aclosing(events):
                async for event in events:
                    outcome = self._dispatch(run, event)
                    if outcome is not None:
                        status, error = outcome
        except asyncio.CancelledError:
            status, error = "stopped", ""
            raise
        except Exception as exc:  # a bug below us: show it rather than freeze on "streaming"
            log.exception("turn failed unexpectedly")
            status, error = "error", str(exc) or type(exc).__name__
        finally:
            self._runs.pop(run.key, None)
            self.turn_ended.emit(run.key, run.assistant_id or 0, status, error)
            self.busy_changed.emit(run.key, False)

    def _dispatch(self, run: Run, event: object) -> tuple[str, str] | None:
        conv = run.key
        aid = run.assistant_id or 0
        match event:
            case ReasoningDelta(text=text):
                run.reasoning.append(text)
                self.reasoning.emit(conv, aid, text)
            case ContentDelta(text=text):
                run.content.append(text)
                self.content.emit(conv, aid, text)
            case Usage(prompt=p, completion=c, cached=k):
                run.usage = event
                self.usage.emit(conv, aid, p, c, k)
            case TurnStarted(conversation_id=cid, user_message_id=uid, assistant_message_id=asid):
                self._adopt(run, cid)
                run.user_id, run.assistant_id = uid, asid
                run.reasoning.clear()
                run.content.clear()
                self.turn_started.emit(conv, cid, uid, asid)
            case UploadProgress(attachment=item, sent=sent, total=total):
                self.upload_progress.emit(item.sha256, sent, total)
            case Retrying(attempt=attempt, delay=delay, reason=reason):
                self.notice.emit(conv, reason if delay < 0.5 else
                                 f"{reason.rstrip('.')}; retrying in {delay:.0f} s "
                                 f"(attempt {attempt}).")
            case MediaOmitted(names=names, reason=reason):
                self.notice.emit(conv, f"Left out {', '.join(names)}: {reason}")
            case TurnFinished(status=status):
                return status, ""
            case TurnFailed(status=status, error=error, trace_id=trace):
                if trace:
                    self.last_trace_id = trace
                return status, error
        return None

    def _adopt(self, run: Run, conversation_id: int) -> None:
        """A new conversation got its id: re-key the run so later signals name it."""
        if run.key == conversation_id:
            return
        self._runs.pop(run.key, None)
        old = run.key
        run.key = conversation_id
        self._runs[conversation_id] = run
        self.busy_changed.emit(old, False)
        self.busy_changed.emit(conversation_id, True)
