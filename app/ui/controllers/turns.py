"""The running turns: the one place where the chat engine's events become Qt signals.

Each run is a task consuming a `ChatEngine` event iterator. Stop cancels that task: the
engine keeps the partial reply as `stopped`. Signals carry the conversation key (the id, or
`NEW` until a new conversation has one) and the assistant message id, so a reply reaches the
right place even after the user switched away while it streams. Several runs may stream at
once — in different conversations, or side by side in one (`exclusive=False`, for comparing
efforts); by default a conversation runs one turn at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from app.turn_events import (
    ContentDelta,
    MediaOmitted,
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
    from app.chat import ChatEngine
    from app.media.intake import PreparedMedia

log = logging.getLogger(__name__)

NEW = -1
"""Conversation key of a turn that starts a conversation not created yet."""

EventsFor = Callable[["ChatEngine"], AsyncGenerator[TurnEvent, None]]


@dataclass
class Run:
    """One running turn and what it has streamed so far (for showing it after a switch)."""

    id: int
    key: int  # conversation id, or NEW until TurnStarted
    kind: str
    task: asyncio.Task[None] | None = None
    user_id: int | None = None
    assistant_id: int | None = None
    reasoning: list[str] = field(default_factory=list)
    content: list[str] = field(default_factory=list)
    usage: Usage | None = None
    streaming: bool = False


class TurnController(QObject):
    """Runs turns through the `ChatEngine` (looked up per turn: settings may swap it).

    Signals:
        turn_started(int, int, int, int): key, conversation id, user id, assistant id.
        streaming(int, int): conversation id, assistant id — the first delta arrived (the
            request, uploads included, is sent).
        reasoning(int, int, str): conversation id, assistant id, thinking delta.
        content(int, int, str): conversation id, assistant id, answer delta.
        usage(int, int, int, int, int): conversation id, assistant id, prompt, completion, cached.
        upload_progress(str, str, int, int): sha256, file name, bytes sent, total.
        notice(int, str): conversation key, a transient note (retrying, media left out).
        turn_ended(int, int, str, str): conversation key, assistant id (0 if none), status,
            error text ("" unless failed).
        busy_changed(int, bool): conversation key, whether any turn runs there.
    """

    turn_started = Signal(int, int, int, int)
    streaming = Signal(int, int)
    reasoning = Signal(int, int, str)
    content = Signal(int, int, str)
    usage = Signal(int, int, int, int, int)
    upload_progress = Signal(str, str, int, int)
    notice = Signal(int, str)
    turn_ended = Signal(int, int, str, str)
    busy_changed = Signal(int, bool)

    def __init__(self, engine: Callable[[], ChatEngine], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._engine = engine
        self._runs: dict[int, Run] = {}
        self._next_id = 1
        self.last_trace_id: str | None = None

    # --- queries -----------------------------------------------------------------------
    def is_busy(self, key: int) -> bool:
        return any(run.key == key for run in self._runs.values())

    def any_busy(self) -> bool:
        return bool(self._runs)

    def runs_in(self, key: int) -> list[Run]:
        """The turns streaming in a conversation, oldest first."""
        return [run for run in self._runs.values() if run.key == key]

    def run_for(self, key: int) -> Run | None:
        runs = self.runs_in(key)
        return runs[0] if runs else None

    # --- commands ----------------------------------------------------------------------
    def send(self, conversation_id: int | None, text: str, media: Sequence[PreparedMedia],
             *, effort: str, model: str, title: str | None = None,
             template: str | None = None) -> bool:
        key = NEW if conversation_id is None else conversation_id
        return self._start(key, "send", partial(_send, conversation_id, text, list(media),
                                                effort, model, title, template))

    def regenerate(self, conversation_id: int, assistant_id: int, *, effort: str | None = None,
                   model: str | None = None, exclusive: bool = True) -> bool:
        """A new version of an answer; `exclusive=False` runs beside other turns there."""
        return self._start(conversation_id, "regenerate",
                           partial(_regenerate, assistant_id, effort, model), exclusive)

    def edit_and_resend(self, conversation_id: int, user_id: int, text: str,
                        *, effort: str | None = None,
                        replace: Mapping[int, PreparedMedia] | None = None) -> bool:
        """A new version of a user turn; `replace` swaps attachments by ordinal (an image
        edited again)."""
        return self._start(conversation_id, "edit",
                           partial(_edit, user_id, text, effort, dict(replace or {})))

    def continue_reply(self, conversation_id: int, assistant_id: int) -> bool:
        return self._start(conversation_id, "continue", partial(_continue, assistant_id))

    def stop(self, key: int) -> None:
        """Cancel every turn in a conversation (their partial replies are kept)."""
        for run in self.runs_in(key):
            if run.task is not None:
                run.task.cancel()

    async def stop_and_wait(self, key: int) -> None:
        """Stop a conversation's turns and return once their partial replies are saved."""
        tasks = [run.task for run in self.runs_in(key) if run.task is not None]
        self.stop(key)
        if tasks:
            await asyncio.wait(tasks)

    async def shutdown(self, timeout: float) -> None:
        """Cancel every run and wait (bounded) for the partial replies to be saved."""
        tasks = [r.task for r in self._runs.values() if r.task is not None]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=timeout)

    # --- the run -----------------------------------------------------------------------
    def _start(self, key: int, kind: str, events_for: EventsFor, exclusive: bool = True) -> bool:
        if exclusive and self.is_busy(key):
            return False
        was_busy = self.is_busy(key)
        run = Run(id=self._next_id, key=key, kind=kind)
        self._next_id += 1
        events = events_for(self._engine())
        self._runs[run.id] = run
        run.task = asyncio.ensure_future(self._consume(run, events))
        if not was_busy:
            self.busy_changed.emit(key, True)
        return True

    async def _consume(self, run: Run, events: AsyncGenerator[TurnEvent, None]) -> None:
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
            self._runs.pop(run.id, None)
            self.turn_ended.emit(run.key, run.assistant_id or 0, status, error)
            if not self.is_busy(run.key):
                self.busy_changed.emit(run.key, False)

    def _dispatch(self, run: Run, event: TurnEvent) -> tuple[str, str] | None:
        conv = run.key
        aid = run.assistant_id or 0
        if not run.streaming and isinstance(event, ReasoningDelta | ContentDelta):
            run.streaming = True
            self.streaming.emit(conv, aid)
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
            case UploadProgress(sha256=sha256, name=name, sent=sent, total=total):
                self.upload_progress.emit(sha256, name, sent, total)
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
        old = run.key
        run.key = conversation_id
        if not self.is_busy(old):
            self.busy_changed.emit(old, False)
        self.busy_changed.emit(conversation_id, True)


# The engine calls, as plain functions: `partial` of these keeps no reference to a controller.
def _send(conversation_id: int | None, text: str, media: list[PreparedMedia], effort: str,
          model: str, title: str | None, template: str | None,
          engine: ChatEngine) -> AsyncGenerator[TurnEvent, None]:
    return engine.send(conversation_id, text, media, effort=effort, model=model, title=title,
                       template=template)


def _regenerate(assistant_id: int, effort: str | None, model: str | None,
                engine: ChatEngine) -> AsyncGenerator[TurnEvent, None]:
    return engine.regenerate(assistant_id, effort=effort, model=model)


def _edit(user_id: int, text: str, effort: str | None, replace: dict[int, PreparedMedia],
          engine: ChatEngine) -> AsyncGenerator[TurnEvent, None]:
    return engine.edit_and_resend(user_id, text, effort=effort, replace=replace)


def _continue(assistant_id: int, engine: ChatEngine) -> AsyncGenerator[TurnEvent, None]:
    return engine.continue_reply(assistant_id)
