"""The comparison controller: runs one "compare efforts" at a time and turns it into signals.

The comparison itself runs off the UI thread (`compare_worker`: its own event loop, HTTP
client and engine twin; the store still written through its own API on this loop), and this
controller owns the UI-side task that consumes its batches: one per frame, each column's
deltas joined, handed to the view with the live figures, so three streams cost the UI thread
little more than one. Stop on a column and Stop all go to the worker; closing the window
cancels the task, which returns once the partial answers are stored as `stopped`.
Differences are computed in a worker thread.

Signals:
    opened(list, str): efforts and prompt of a new comparison (the view shows empty columns).
    started(int, int): conversation id and user message id, once the turn is stored.
    deltas(str, str, str): effort, reasoning, answer text (a coalesced batch).
    figures_changed(str, dict): effort and its figures so far (`app.compare.Figures` as dict).
    column_status(str, str, str): effort, status, error text ("" unless failed).
    upload_progress(str, str, int, int): sha256, name, bytes sent, total (the one upload of
        each medium, before the columns fan out).
    note(str): a line about the whole run (media left out, uploads, a failure before streaming).
    finished(int): conversation id: every column has ended.
    kept(int, int, str, str): conversation id, kept answer id, its effort, and the template
        slug the turn came from ("" if none) — the window offers "Use <effort> for this
        template" then.
    differences_ready(dict): effort → highlighted HTML (the first column has none).
    comparisons_loaded(int, list): conversation id and its comparisons, worded for the efforts
        panel: per comparison its id and a list of (summary, kept) per answer (`summary_rows`).
    kept_shown(str): the effort kept in a reopened comparison ("" if none was kept).
    failed(str): one sentence (keeping, loading or updating a template failed).
    busy_changed(bool): whether a comparison runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal

from app.compare import (
    DEFAULT_EFFORTS,
    FINAL,
    ColumnEvent,
    CompareStarted,
    Comparison,
    Figures,
    figures_of,
)
from app.turn_events import (
    MediaOmitted,
    Retrying,
    TurnFailed,
    TurnFinished,
    TurnStarted,
    UploadProgress,
)
from app.ui.controllers.compare_worker import CompareRun, CompareWorker, Progress

if TYPE_CHECKING:
    from app.compare import Comparer
    from app.media.intake import PreparedMedia
    from app.store import ComparisonRecord, Message
    from app.ui.widgets.compare_view import ComparisonView
    from app.ui.widgets.efforts_panel import EffortsPanel, PanelRow

log = logging.getLogger(__name__)
FIGURES_INTERVAL_S = 0.25  # live figures (tokens so far) four times a second is plenty
EFFORT_SETS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Low, medium and high", DEFAULT_EFFORTS),
    ("Low and high", ("low", "high")),
    ("Medium and high", ("medium", "high")),
    ("Low and medium", ("low", "medium")),
)
"""The Compare button's menu: label and efforts of each set (the first is the default)."""


class CompareController(QObject):
    """See the module docstring for the signals."""

    opened = Signal(list, str)
    started = Signal(int, int)
    deltas = Signal(str, str, str)
    figures_changed = Signal(str, dict)
    column_status = Signal(str, str, str)
    upload_progress = Signal(str, str, int, int)
    note = Signal(str)
    finished = Signal(int)
    kept = Signal(int, int, str, str)
    differences_ready = Signal(dict)
    comparisons_loaded = Signal(int, list)
    kept_shown = Signal(str)
    failed = Signal(str)
    busy_changed = Signal(bool)

    def __init__(self, comparer: Callable[[], Comparer],
                 set_template_effort: Callable[[str, str], Awaitable[Any]] | None = None,
                 parent: QObject | None = None, *,
                 comparisons: Callable[[int], Awaitable[list[ComparisonRecord]]] | None = None
                 ) -> None:
        super().__init__(parent)
        self._comparer = comparer
        # The efforts panel reads the store only: it must not need the engine (no key yet).
        self._comparisons = comparisons
        self._set_template_effort = set_template_effort
        self._worker = CompareWorker()
        self._run: CompareRun | None = None
        self._progress = Progress({})
        self._task: asyncio.Task[None] | None = None
        self._side: set[asyncio.Task[Any]] = set()
        self._pending: dict[str, tuple[list[str], list[str]]] = {}
        self._figures_shown: dict[str, Figures] = {}
        self._figures_at = 0.0
        self._reopening: asyncio.Task[None] | None = None

    # -- queries -----------------------------------------------------------------------------

    @property
    def figures(self) -> dict[str, Figures]:
        """The figures of the comparison shown now (running or done), per effort, as of the
        last batch from the worker."""
        return self._progress.figures

    def is_busy(self) -> bool:
        return self._task is not None and not self._task.done()

    # -- commands ----------------------------------------------------------------------------

    def compare_new(self, conversation_id: int | None, text: str,
                    media: Sequence[PreparedMedia], *, efforts: Sequence[str] = DEFAULT_EFFORTS,
                    model: str | None = None, title: str | None = None,
                    template: str | None = None, effort: str | None = None) -> bool:
        """Send a new turn and answer it at each effort; False if one already runs.
        `effort`: the composer's, the turn's own (see `Comparer.new_turn`)."""
        if self.is_busy():
            return False

        def build(comparer: Comparer) -> Comparison:
            return comparer.new_turn(conversation_id, text, media, efforts=efforts,
                                     model=model, title=title, template=template,
                                     effort=effort)

        self._begin(build, efforts, text)
        return True

    def compare_turn(self, user_message_id: int, prompt: str, *,
                     efforts: Sequence[str] = DEFAULT_EFFORTS, model: str | None = None,
                     template: str | None = None) -> bool:
        """Answer a sent turn again at each effort (its earlier answers stay versions)."""
        if self.is_busy():
            return False

        def build(comparer: Comparer) -> Comparison:
            return comparer.sent_turn(user_message_id, efforts=efforts, model=model,
                                      template=template)

        self._begin(build, efforts, prompt)
        return True

    def stop(self, effort: str) -> None:
        if self._run is not None:
            self._run.stop(effort)

    def stop_all(self) -> None:
        if self._run is not None:
            self._run.stop()

    def keep(self, effort: str) -> None:
        """"Use this answer" on the column of `effort` (only a finished answer is kept), in
        the comparison shown: the one running or last run, or one reopened from the panel."""
        figures = self._progress.figures.get(effort)
        if figures is None or figures.message_id is None or \
                figures.status not in ("complete", "truncated"):
            self.failed.emit(f"The {effort} answer has not finished, so it cannot be used yet.")
            return
        self._spawn(self._keep(self._progress.template, figures.message_id, effort))

    def compute_differences(self, answers: dict[str, str], added: str, changed: str) -> None:
        """Highlight what each answer adds or changes against the one to its left."""
        self._spawn(self._differences(dict(answers), added, changed))

    def load_comparisons(self, conversation_id: int) -> None:
        self._spawn(self._load(conversation_id))

    def reopen(self, conversation_id: int, comparison_id: int,
               messages: Mapping[int, Message]) -> bool:
        """Show a finished comparison again (a line of the efforts panel) from the store: each
        answer as it was drawn live, its stored figures and status, the kept one marked, and
        "Use this answer" where keeping is allowed. False while one runs: that one keeps the
        view. `messages`: the shown conversation's, where the turn's prompt is read."""
        if self.is_busy():
            return False
        self.cancel_reopen()  # the last line activated wins
        self._reopening = self._spawn(self._reopen(conversation_id, comparison_id, messages))
        return True

    def cancel_reopen(self) -> None:
        """Another conversation is shown: a comparison still loading to be reopened (of the
        one before) is not shown over it."""
        if self._reopening is not None:
            self._reopening.cancel()
            self._reopening = None

    def use_for_template(self, slug: str, effort: str) -> None:
        """"Use <effort> for this template"."""
        if self._set_template_effort is not None:
            self._spawn(self._template(slug, effort))

    async def shutdown(self, timeout: float) -> None:
        """Cancel the run (partials are kept as `stopped`) and any side work, then end the
        worker thread; bounded by `timeout` for each."""
        tasks = [t for t in (self._task, *self._side) if t is not None and not t.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=timeout)
        await self._worker.aclose(timeout)

    # -- the run -----------------------------------------------------------------------------

    def _begin(self, build: Callable[[Comparer], Comparison], efforts: Sequence[str],
               prompt: str) -> None:
        run = self._run = self._worker.run(self._comparer(), build, efforts)
        self._progress = Progress({})
        self._pending = {e: ([], []) for e in run.efforts}
        self._figures_shown = {}
        self.opened.emit(list(run.efforts), prompt)
        self._task = asyncio.ensure_future(self._consume(run))
        self._task.set_name("compare")
        self._task.add_done_callback(self._forget_task)
        self.busy_changed.emit(True)

    def _forget_task(self, task: asyncio.Task[None]) -> None:
        """A cancelled run's task holds its traceback, whose frames hold this controller:
        dropped here, so the controller is freed by reference counting (on this thread)."""
        if self._task is task:
            self._task = None

    async def _consume(self, run: CompareRun) -> None:
        try:
            async with contextlib.aclosing(run.batches()) as batches:
                async for batch in batches:
                    self._progress = batch.progress
                    for effort, (reasoning, content) in batch.text.items():
                        thinking, answer = self._pending.setdefault(effort, ([], []))
                        if reasoning:
                            thinking.append(reasoning)
                        if content:
                            answer.append(content)
                    for item in batch.events:
                        self._dispatch(item)
                    self._emit_pending()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug or a storage failure: say so, never hang "streaming"
            log.exception("comparison failed")
            self.note.emit(str(exc) or type(exc).__name__)
            for effort in run.efforts:
                figures = self._progress.figures.get(effort)
                if figures is None or not figures.done:
                    self.column_status.emit(effort, "error", str(exc))
        finally:
            self._emit_pending()
            self.busy_changed.emit(False)
            if self._progress.conversation_id is not None:
                self.finished.emit(self._progress.conversation_id)

    def _dispatch(self, item: object) -> None:
        if isinstance(item, ColumnEvent):
            effort, event = item.effort, item.event
            if isinstance(event, TurnStarted):
                self.column_status.emit(effort, "streaming", "")
            elif isinstance(event, Retrying):
                self.column_status.emit(effort, "retrying", "")
            elif isinstance(event, TurnFinished | TurnFailed):
                self._emit_pending()
                self._emit_figures(effort)
                error = event.error if isinstance(event, TurnFailed) else ""
                self.column_status.emit(effort, event.status, error)
        elif isinstance(item, CompareStarted):
            self.started.emit(item.conversation_id, item.user_message_id)
        elif isinstance(item, MediaOmitted):
            self.note.emit(f"Left out {', '.join(item.names)}: {item.reason}")
        elif isinstance(item, UploadProgress) and item.total:
            self.upload_progress.emit(item.sha256, item.name, item.sent, item.total)
            done = item.sent >= item.total
            self.note.emit("" if done else f"Uploading {item.name}… "
                                           f"{100 * item.sent // item.total} %")

    def _emit_pending(self) -> None:
        now = time.monotonic()
        live_figures = now - self._figures_at >= FIGURES_INTERVAL_S
        for effort, (reasoning, content) in self._pending.items():
            if reasoning or content:
                self.deltas.emit(effort, "".join(reasoning), "".join(content))
                reasoning.clear()
                content.clear()
            if live_figures:
                self._emit_figures(effort)
        if live_figures:
            self._figures_at = now

    def _emit_figures(self, effort: str) -> None:
        """Figures only when they changed (a label relayout per tick per column adds up).
        They are compared as dataclasses: `to_dict` (a deep copy) only for what is sent."""
        figures = self._progress.figures.get(effort)
        if figures is not None and self._figures_shown.get(effort) != figures:
            self._figures_shown[effort] = figures
            self.figures_changed.emit(effort, figures.to_dict())

    # -- side work ---------------------------------------------------------------------------

    def _spawn(self, coro: Awaitable[None]) -> asyncio.Task[None]:
        task = asyncio.ensure_future(coro)
        self._side.add(task)
        task.add_done_callback(self._side.discard)
        return task

    async def _keep(self, template: str | None, message_id: int, effort: str) -> None:
        try:
            answer = await self._comparer().keep(message_id)
        except Exception as exc:
            log.exception("keeping an answer failed")
            self.failed.emit(f"Could not use the {effort} answer: {exc}")
            return
        self.kept.emit(answer.conversation_id, answer.id, effort, template or "")
        await self._load(answer.conversation_id)

    async def _differences(self, answers: dict[str, str], added: str, changed: str) -> None:
        from app.ui.render.word_diff import diff_html, word_diff

        def work() -> dict[str, str]:
            efforts = list(answers)
            return {right: diff_html(word_diff(answers[left], answers[right]),
                                     added=added, changed=changed)
                    for left, right in itertools.pairwise(efforts)}

        self.differences_ready.emit(await asyncio.to_thread(work))

    async def _records(self, conversation_id: int) -> list[ComparisonRecord] | None:
        """The conversation's comparisons from the store (None, said, if that failed)."""
        try:
            return await (self._comparisons(conversation_id) if self._comparisons
                          else self._comparer().comparisons(conversation_id))
        except Exception as exc:
            log.exception("loading comparisons failed")
            self.failed.emit(f"Could not load the comparisons: {exc}")
            return None

    async def _load(self, conversation_id: int) -> None:
        records = await self._records(conversation_id)
        if records is not None:
            self.comparisons_loaded.emit(conversation_id, summary_rows(records))

    async def _reopen(self, conversation_id: int, comparison_id: int,
                      messages: Mapping[int, Message]) -> None:
        records = await self._records(conversation_id)
        if records is None:
            return
        record = next((r for r in records if r.id == comparison_id and r.answers), None)
        if record is None:
            self.failed.emit("That comparison is no longer stored.")
            return
        if self.is_busy():  # one was started while this loaded: it keeps the view
            return
        figures = {m.effort or "?": stored_figures(m) for m in record.answers}
        self._progress = Progress(figures, record.conversation_id, record.template)
        self._pending, self._figures_shown = {}, {}
        turn = messages.get(record.user_message_id)
        self.opened.emit(list(figures), turn.content if turn is not None else "")
        for answer, (effort, shown) in zip(record.answers, figures.items(), strict=True):
            self.deltas.emit(effort, answer.reasoning, answer.content)
            self._emit_figures(effort)
            self.column_status.emit(effort, shown.status, shown.error)
        self.kept_shown.emit(record.kept_effort or "")

    async def _template(self, slug: str, effort: str) -> None:
        assert self._set_template_effort is not None
        try:
            await self._set_template_effort(slug, effort)
        except Exception as exc:
            self.failed.emit(f"Could not change the template: {exc}")
            return
        self.note.emit(f"The template now uses {effort} effort.")  # the offer only vanished


def answer_summary(message: Message) -> str:
    """"medium 3.2 s · 120 + 45 tokens" — one answer of a comparison in the efforts panel."""
    parts = []
    figures = figures_of(message)
    if figures is not None:
        if figures.total_s is not None:
            parts.append(f"{figures.total_s:.1f} s")
        if figures.reasoning_tokens is not None:
            parts.append(f"{figures.reasoning_tokens:,} + {figures.answer_tokens or 0:,} tokens")
        if figures.status not in ("complete", "truncated"):
            parts.append(figures.status)
    head = message.effort or "?"
    return f"{head} {' · '.join(parts)}" if parts else head


def summary_rows(records: Sequence[ComparisonRecord]) -> list[PanelRow]:
    """The panel's rows; a comparison with no stored answer (still streaming: its answers
    are tagged when they end; or stopped before any began) has nothing to show yet."""
    return [(r.id, [(answer_summary(m), m.id == r.kept_message_id) for m in r.answers])
            for r in records if r.answers]


def stored_figures(message: Message) -> Figures:
    """A stored answer's figures for its reopened column: always its own message id (what
    "Use this answer" keeps), and a final status (an answer cut short by a crash is
    `interrupted`, never shown as still streaming)."""
    figures = figures_of(message) or Figures(message.effort or "?", status=message.status,
                                             error=message.error or "")
    figures.message_id = message.id
    if figures.status not in FINAL:
        figures.status = "interrupted"
    return figures


def connect_view(controller: CompareController, view: ComparisonView,
                 panel: EffortsPanel | None = None) -> None:
    """Wire a comparison view (and the efforts panel) to the controller, both ways.

    The composition root calls this once; tests call it to drive the real widgets.
    """
    from app.ui.widgets.compare_view import highlight_colours

    controller.opened.connect(view.start)
    controller.deltas.connect(view.append)
    controller.figures_changed.connect(view.set_figures)
    controller.column_status.connect(view.set_status)
    controller.note.connect(view.set_note)
    controller.differences_ready.connect(view.set_differences)
    controller.kept.connect(_KeptMarker(view).mark)
    controller.kept_shown.connect(view.set_kept)
    view.keep_requested.connect(controller.keep)
    view.stop_requested.connect(controller.stop)
    view.stop_all_requested.connect(controller.stop_all)
    view.template_effort_requested.connect(controller.use_for_template)
    view.differences_toggled.connect(_DifferencesAsker(controller, view, highlight_colours).ask)
    if panel is not None:
        controller.comparisons_loaded.connect(_PanelFeeder(panel).feed)


class _KeptMarker(QObject):
    """Slot object: the view marks the kept column (no lambda capturing widgets)."""

    def __init__(self, view: ComparisonView) -> None:
        super().__init__(view)
        self._view = view

    def mark(self, _conversation: int, _message: int, effort: str, template: str) -> None:
        self._view.set_kept(effort)
        self._view.offer_template(template, effort)


class _DifferencesAsker(QObject):
    """Slot object: turning "Show differences" on asks for them; off shows the answers."""

    def __init__(self, controller: CompareController, view: ComparisonView,
                 colours: Callable[..., tuple[str, str]]) -> None:
        super().__init__(view)
        self._controller, self._view, self._colours = controller, view, colours

    def ask(self, on: bool) -> None:
        if on:
            added, changed = self._colours(self._view.palette())
            self._controller.compute_differences(self._view.answers(), added, changed)
        else:
            self._view.set_differences({})


class _PanelFeeder(QObject):
    def __init__(self, panel: EffortsPanel) -> None:
        super().__init__(panel)
        self._panel = panel

    def feed(self, _conversation: int, rows: list[PanelRow]) -> None:
        self._panel.set_rows(rows)
