"""Quick ask: one question about a capture (or a paste), answered in the small panel.

Owns the panel's attachments (the same `AttachmentController` pipeline as the window's
composer: metadata stripped, limits checked, thumbnail made) and its one running turn, which
goes through the window's `TurnController` like any other, so the conversation is kept and
shows in the main window. Rules from issue 13:

- A capture within `RECENT_S` of the last quick ask offers "add to that conversation"
  besides "new" (the clock is injected so tests need not wait a minute).
- A capture while an answer streams in the panel is queued as an attachment for the next
  question; the answer is not interrupted.
- No API key → the panel says how to set one instead of sending.
- Esc closes the panel; unsent attachments are dropped, the conversation is kept.

Signals:
    continue_in_window(int): open this conversation in the main window.
    opened(): the panel is on screen with its thumbnail (the benchmark's end point).
    sent(int): a question went out; the key of its run (-1 until the conversation exists).
    finished(int, str, str): conversation id, status, error text of the panel's answer.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QRect, QTimer, Signal
from PySide6.QtGui import QImage

from app.ui.style.glyphs import labelled

if TYPE_CHECKING:
    from pathlib import Path

    from app.templates.model import Template
    from app.ui.capture.session import Captured
    from app.ui.controllers.attachments import AttachmentController
    from app.ui.controllers.tasks import TaskSet
    from app.ui.controllers.turns import TurnController
    from app.ui.render.markdown_view import MarkdownView
    from app.ui.widgets.drop_overlay import MimeMedia
    from app.ui.widgets.quick_ask import QuickAskPanel

RECENT_S = 60.0
RENDER_MS = 33

NO_KEY = ("No API key yet: open Step Desk › Settings (tray menu › Open, then Settings) and "
          "paste your StepFun key, or set STEP_API_KEY.")
NOT_READY = "Step Desk is still starting; ask again in a moment."
QUEUED = "The new capture waits in the tray above: it goes with your next question."
EMPTY = "Type a question, or pick a template tile."


@dataclass
class LastAsk:
    conversation_id: int
    at: float
    title: str


@dataclass
class Hooks:
    """What the controller needs from the rest of the app, as plain callables.

    Attributes:
        turns: the running `TurnController`, or None while the services are opening.
        has_key: whether an API key is known.
        pinned: the pinned templates, for the tiles.
        model: the model to ask.
        effort: the default effort from the settings.
        prepare_panel: what to await before the tiles and the key note are right (the
            background instance reads the templates and looks up the key when the panel
            first opens); None when there is nothing to wait for.
        prepare_send: what to await before a send (the background instance builds its
            HTTP client and turn controller at the first send); None likewise.
    """

    turns: Callable[[], TurnController | None]
    has_key: Callable[[], bool]
    pinned: Callable[[], list[Template]]
    model: Callable[[], str]
    effort: Callable[[], str]
    prepare_panel: Callable[[], Awaitable[None] | None] = lambda: None
    prepare_send: Callable[[], Awaitable[None] | None] = lambda: None


class QuickAskController(QObject):
    """See the module docstring."""

    continue_in_window = Signal(int)
    opened = Signal()
    sent = Signal(int)
    finished = Signal(int, str, str)

    def __init__(self, hooks: Hooks, tasks: TaskSet, *,
                 clock: Callable[[], float] = time.monotonic,
                 panel: QuickAskPanel | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._hooks = hooks
        self._tasks = tasks
        self._clock = clock
        self._panel: QuickAskPanel | None = None  # built when first shown: see `panel`
        self._attachments: AttachmentController | None = None
        self._context: tuple[Path, Callable[[str], str | None]] | None = None
        self._wired: TurnController | None = None
        self._run_key: int | None = None  # the panel's running turn, by conversation key
        self._assistant: int | None = None
        self._conversation: int | None = None  # this panel session's conversation
        self._last: LastAsk | None = None
        self._title = ""
        self._encoding: set[asyncio.Task[None]] = set()
        self._view: MarkdownView | None = None  # built at the first answer
        self._render = QTimer(self)
        self._render.setSingleShot(True)
        self._render.setInterval(RENDER_MS)
        self._render.timeout.connect(self._render_step)
        if panel is not None:
            self._build(panel)

    @property
    def panel(self) -> QuickAskPanel:
        """The panel, built (with its attachments) the first time it is needed: a background
        instance that only ever captures for the window, or not at all, never pays for it."""
        return self._parts()[0]

    @property
    def attachments(self) -> AttachmentController:
        return self._parts()[1]

    def _parts(self) -> tuple[QuickAskPanel, AttachmentController]:
        if self._panel is None or self._attachments is None:
            from app.ui.widgets.quick_ask import QuickAskPanel

            return self._build(QuickAskPanel())
        return self._panel, self._attachments

    @property
    def visible(self) -> bool:
        return self._panel is not None and self._panel.isVisible()

    def hide(self) -> None:
        if self._panel is not None:
            self._panel.hide()

    def _build(self, panel: QuickAskPanel) -> tuple[QuickAskPanel, AttachmentController]:
        from app.ui.controllers.attachments import AttachmentController

        attachments = AttachmentController(self._tasks, self)
        self._panel, self._attachments = panel, attachments
        if self._context is not None:
            attachments.set_context(*self._context)
        self._wire_tray(panel, attachments)
        panel.send_requested.connect(self.send)
        panel.stop_requested.connect(self.stop)
        panel.dismissed.connect(self.dismiss)
        panel.continue_requested.connect(self._continue)
        panel.media_given.connect(self.add_media)
        return panel, attachments

    @staticmethod
    def _wire_tray(panel: QuickAskPanel, a: AttachmentController) -> None:
        """The panel's tray shows this controller's attachments (as the window's composer)."""
        tray = panel.tray
        a.added.connect(tray.add_item)
        a.item_ready.connect(tray.set_ready)
        a.item_failed.connect(tray.set_failed)
        a.item_sending.connect(tray.set_sending)
        a.item_progress.connect(tray.set_progress)
        a.removed.connect(tray.remove_item)
        tray.remove_requested.connect(a.remove)

    def set_context(self, work_dir: Path, proxy_for: Callable[[str], str | None]) -> None:
        self._context = (work_dir, proxy_for)
        if self._attachments is not None:
            self._attachments.set_context(work_dir, proxy_for)

    # --- state (tests, benchmark) ------------------------------------------------------------
    @property
    def streaming(self) -> bool:
        return self._run_key is not None

    @property
    def conversation_id(self) -> int | None:
        return self._conversation

    # --- opening ----------------------------------------------------------------------------
    def open_capture(self, captured: Captured) -> None:
        """Show the panel for a capture (or queue the capture while an answer streams)."""
        if self.visible and self.streaming:
            self.panel.set_note(QUEUED)
            self._encode(captured.image)
            return
        self._open(captured.image, captured.where)
        self._encode(captured.image)

    def open_empty(self) -> None:
        """Quick ask without a capture (the second shortcut): paste or drop into it."""
        if self.visible:
            self._focus()
            return
        self._open(None, QRect())

    def _open(self, image: QImage | None, where: QRect) -> None:
        p = self.panel
        self._conversation = None
        p.reset()
        recent = self._last is not None and self._clock() - self._last.at <= RECENT_S
        p.offer_add_to_last(self._last.title if recent and self._last else None)
        p.set_image(image)
        pending = self._hooks.prepare_panel()
        if pending is None:
            self._show_choices()
        else:
            self._tasks.spawn(self._choices_when_ready(pending), "quick-ask-choices")
        p.place_near(where)
        p.show()
        self._focus()
        self.opened.emit()

    def _show_choices(self) -> None:
        """The default effort, the pinned template tiles and, without a key, how to set one."""
        p = self.panel
        p.set_effort(self._hooks.effort())
        p.set_templates([(t.slug, labelled(t.icon, t.name)) for t in self._hooks.pinned()])
        if not self._hooks.has_key():
            p.set_note(NO_KEY)

    async def _choices_when_ready(self, pending: Awaitable[None]) -> None:
        try:
            await pending
        except Exception:  # said once, by the task that failed; a send tries again
            return
        self._show_choices()

    def _focus(self) -> None:
        self.panel.raise_()
        self.panel.activateWindow()
        self.panel.prompt.setFocus()

    def _encode(self, image: QImage) -> None:
        task = self._tasks.spawn(self._attach_image(image), "quick-ask-capture")
        self._encoding.add(task)
        task.add_done_callback(self._encoding.discard)

    async def _attach_image(self, image: QImage) -> None:
        from datetime import datetime

        from app.ui.widgets.drop_overlay import image_to_png

        data = await asyncio.to_thread(image_to_png, image)
        self.attachments.add_bytes(data, f"Screenshot {datetime.now():%Y-%m-%d %H.%M.%S}.png")

    def add_media(self, media: MimeMedia) -> None:
        self.attachments.add_mime(media)

    # --- sending ----------------------------------------------------------------------------
    def send(self, text: str, effort: str, slug: str) -> asyncio.Task[None]:
        """Ask (after the attachments are prepared); the task is returned for awaiting."""
        return self._tasks.spawn(self._send(text, effort, slug), "quick-ask-send")

    async def _send(self, text: str, effort: str, slug: str) -> None:
        from app.ui.controllers.turns import NEW

        p = self.panel
        for prepare in (self._hooks.prepare_panel, self._hooks.prepare_send):  # in this order
            pending = prepare()
            if pending is not None:
                await pending
        turns = self._hooks.turns()
        if turns is None:
            p.set_note(NOT_READY)
            return
        if not self._hooks.has_key():
            p.set_note(NO_KEY)
            return
        if self.streaming:
            return
        template = next((t for t in self._hooks.pinned() if t.slug == slug), None)
        await self._prepared()
        problem = self.attachments.limit_problem()
        if problem:
            p.set_note(problem)
            return
        text = text.strip()
        title = None
        if template is not None:
            from app.chat import template_title

            problem = template.media_problem([m.kind for m in self.attachments.ready()])
            if problem:
                p.set_note(problem)
                return
            effort = template.effort
            title = template_title(template.name, text, [m.original_name
                                                         for m in self.attachments.ready()])
            text = template.compose(text)
        if not text and not self.attachments.ready():
            p.set_note(EMPTY)
            return
        target = self._conversation
        if target is None and p.adds_to_last() and self._last is not None:
            target = self._last.conversation_id
        self._wire(turns)
        media = self.attachments.take_for_send()
        if not turns.send(target, text, media, effort=effort, model=self._hooks.model(),
                         title=title):
            p.set_note("That conversation is answering already; try again when it is done.")
            return
        self._run_key = NEW if target is None else target
        self._assistant = None
        self._title = title or (text.splitlines()[0][:60] if text else "")
        p.prompt.setPlainText("")
        p.set_note("")
        p.set_busy(True)
        self._begin_answer()
        self.sent.emit(self._run_key)

    async def _prepared(self) -> None:
        """Wait until captures are encoded and (on the tray's own signal) prepared."""
        if self._encoding:
            await asyncio.wait(list(self._encoding))
        while self.attachments.preparing():
            changed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

            def done(fut: asyncio.Future[None] = changed) -> None:
                if not fut.done():
                    fut.set_result(None)

            self.attachments.changed.connect(done)
            try:
                await changed
            finally:
                self.attachments.changed.disconnect(done)

    def stop(self) -> None:
        turns = self._hooks.turns()
        if turns is not None and self._run_key is not None:
            turns.stop(self._run_key)

    def dismiss(self) -> None:
        """Esc: close the panel; unsent attachments go, the conversation (if any) stays."""
        self.panel.hide()
        for task in list(self._encoding):
            task.cancel()
        for item in self.panel.tray.items():  # what a running send uploads stays
            if item.state != "ready" or self.attachments.media(item.key) is not None:
                self.attachments.remove(item.key)

    def _continue(self) -> None:
        if self._conversation is not None:
            self.panel.hide()
            self.continue_in_window.emit(self._conversation)

    # --- the answer -------------------------------------------------------------------------
    def _wire(self, turns: TurnController) -> None:
        if self._wired is turns:
            return
        self._wired = turns
        turns.turn_started.connect(self._on_started)
        turns.reasoning.connect(self._on_reasoning)
        turns.content.connect(self._on_content)
        turns.turn_ended.connect(self._on_ended)
        turns.streaming.connect(self._on_streaming)
        turns.upload_progress.connect(self.attachments.upload_progress)

    def _begin_answer(self) -> None:
        if self._view is None:
            from app.ui.render.markdown import MarkdownRenderer
            from app.ui.render.markdown_view import MarkdownView, theme_from_palette

            view = MarkdownView(MarkdownRenderer(theme_from_palette(self.panel.palette())))
            view.setAccessibleName("Answer")
            view.setMaximumHeight(360)
            self.panel.set_answer_view(view)
            self._view = view
        self._view.show_plain("")
        self.panel.begin_answer()

    def _on_started(self, key: int, conversation_id: int, _user: int, assistant: int) -> None:
        if key != self._run_key:
            return
        self._run_key = conversation_id
        self._conversation = conversation_id
        self._assistant = assistant
        self._last = LastAsk(conversation_id, self._clock(), self._title)

    def _on_streaming(self, conversation_id: int, assistant: int) -> None:
        if assistant and assistant == self._assistant:
            self.attachments.sent()  # uploaded: the sent items leave the panel's tray

    def _on_reasoning(self, _conv: int, assistant: int, text: str) -> None:
        if assistant == self._assistant and assistant:
            self.panel.add_thinking(text)

    def _on_content(self, _conv: int, assistant: int, text: str) -> None:
        if assistant == self._assistant and assistant and self._view is not None:
            self.panel.add_answer_text(text)
            self._view.append(text)
            if not self._render.isActive():
                self._render.start()

    def _render_step(self) -> None:
        if self._view is not None and self._view.render_step():
            self._render.start()

    def _on_ended(self, key: int, _assistant: int, status: str, error: str) -> None:
        if key != self._run_key:
            return
        self._run_key = None
        if self._last is not None and self._conversation is not None:
            self._last.at = self._clock()
        self.attachments.sent()
        self.panel.set_busy(False)
        if self._view is not None:
            self._render.stop()
            self._view.finish_stream()
            while self._view.render_step(final=True):
                pass
        self.panel.end_answer()
        if error:
            self.panel.set_note(error)
        elif status == "stopped":
            self.panel.set_note("Stopped; the partial answer is kept.")
        self.finished.emit(self._conversation or 0, status, error)
