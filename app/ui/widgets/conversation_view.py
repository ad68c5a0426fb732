"""The scrolling list of messages, with paging for long conversations and a coalesced stream.

Budgets drive the shape (DESIGN.md): a 5,000-message conversation must open about as fast as
a 10-message one, and a reply arriving as thousands of deltas a second must not stall the UI.
So the view keeps every `Message` but builds widgets only for a window of them (the last page
first, plain text first and Markdown right after, in time-sliced steps of a zero-ms timer);
scrolling near either edge builds the next page and drops widgets far away, keeping memory
bounded. Stream deltas are only buffered; a timer applies them at most ~30 times a second, and
each widget re-renders just the unfinished tail of its answer.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication, QEvent, Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication, QPalette
from PySide6.QtWidgets import QFrame, QLabel, QLayout, QScrollArea, QVBoxLayout, QWidget

from app.ui.widgets.conversation_model import ConversationModel, latest_video
from app.ui.widgets.message_thumbnails import ThumbnailCache, ThumbnailFor
from app.ui.widgets.scroll_keeper import ScrollKeeper

if TYPE_CHECKING:
    from app.store import AttachmentRecord, Message
    from app.ui.render.markdown import MarkdownRenderer
    from app.ui.render.math_images import FormulaImages
    from app.ui.widgets.message_widget import MessageWidget



EMPTY_HINT = ("Drop images or videos anywhere on this window, paste a screenshot with Ctrl+V or "
              "capture part of the screen with Ctrl+Shift+S — then ask.\n"
              "Ctrl+T picks a task template: receipt → table, chart → data, screenshot → code…")

_LAYOUT_LEVELS = 4  # widget levels between a message's text and the scroll area


class ConversationView(QWidget):
    """Shows one conversation and streams replies into it.

    Args:
        thinking_expanded: whether finished Thinking sections start open.
        page_size: widgets built per page when scrolling through history.
        first_page: widgets built synchronously by `show_conversation` (the rest of the
            first page follows in time slices, right after the first paint).
        max_built: widgets kept alive at most; those farthest from view are dropped.
        slice_ms: longest stretch of deferred work done per event-loop turn.
        render_interval_ms: shortest interval between two stream re-renders.
        clock: seconds, for the time slices (tests pass a clock that advances per call, so
            each slice does the same work on any machine, however loaded).

    Signals:
        retry_requested(int): assistant message id to retry.
        regenerate_requested(int): assistant message id to regenerate.
        continue_requested(int): assistant message id to continue.
        edit_requested(int): user message id to edit and resend.
        version_selected(int): id of the message version the user wants to see.
        attachment_activated(str): sha256 of a clicked attachment.
        attachment_edit_requested(int, int): user message id, ordinal: "Edit again" on a
            sent image.
        copy_text(str): text that was just put on the clipboard (for a "Copied" notice).
        timestamp_activated(int, float): (assistant message id, seconds) of a timestamp
            clicked in an answer about a video.
        idle(): the deferred work (pages, Markdown, stream ticks) has all been done.
    """

    retry_requested = Signal(int)
    regenerate_requested = Signal(int)
    continue_requested = Signal(int)
    edit_requested = Signal(int)
    compare_requested = Signal(int)
    version_selected = Signal(int)
    attachment_activated = Signal(str)
    attachment_edit_requested = Signal(int, int)
    copy_text = Signal(str)
    timestamp_activated = Signal(int, float)
    idle = Signal()

    def __init__(self, parent: QWidget | None = None, *, thinking_expanded: bool = False,
                 page_size: int = 30, first_page: int = 12, max_built: int = 150,
                 slice_ms: float = 8.0, render_interval_ms: int = 33,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        super().__init__(parent)
        self._clock = clock
        self._thinking_expanded = thinking_expanded
        self._page_size = page_size
        self._first_page = min(first_page, page_size)
        self._max_built = max(max_built, 2 * page_size)
        self._slice_s = slice_ms / 1000
        self._render_interval_ms = self._interval_ms = render_interval_ms
        # Made with the first message (`_markdown`): an empty window's first paint needs no
        # Markdown, formula or message-widget code, so none of it is imported before it.
        self._formulas: FormulaImages | None = None
        self._renderer: MarkdownRenderer | None = None
        self._entries = ConversationModel()
        self._widgets: dict[int, MessageWidget] = {}
        self._lo = self._hi = 0
        self._thumbnails = ThumbnailCache()
        self._pending: dict[int, tuple[list[str], list[str]]] = {}
        self._usage: dict[int, tuple[int, int, int]] = {}
        self._dirty: dict[int, None] = {}  # ids whose widget has Markdown left to draw (ordered)
        self._markdown_queue: deque[int] = deque()
        self._want_older = self._want_newer = 0

        self._scroll = QScrollArea(self)
        self._scroll.setWidgetResizable(True)
        self._scroll.setFrameShape(QFrame.Shape.NoFrame)
        self._scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._scroll.setAccessibleName("Conversation")
        self._container = QWidget()
        self._container.setBackgroundRole(QPalette.ColorRole.Base)
        self._list = QVBoxLayout(self._container)
        # The container grows to its messages' minimum before placing them: by default a new
        # message is laid out in the old, too short container first, which squeezes every
        # other message (one resize each) until the scroll area grows it (another each).
        self._list.setSizeConstraint(QLayout.SizeConstraint.SetMinimumSize)
        self._list.setContentsMargins(8, 8, 8, 8)
        self._list.setSpacing(6)
        self._list.addStretch(1)
        self._scroll.setWidget(self._container)
        self._keeper = ScrollKeeper(self._scroll, self._list)
        self._empty = QLabel(EMPTY_HINT)
        self._empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._empty.setWordWrap(True)
        self._empty.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self._empty.setAccessibleName("How to start")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._empty)
        layout.addWidget(self._scroll)
        self._show_empty_hint()

        bar = self._scroll.verticalScrollBar()
        bar.valueChanged.connect(self._on_scrolled)
        bar.rangeChanged.connect(self._on_range_changed)
        self._flush_timer = QTimer(self)
        self._flush_timer.setSingleShot(True)
        self._flush_timer.timeout.connect(self._flush)
        self._work_timer = QTimer(self)
        self._work_timer.setSingleShot(True)
        self._work_timer.setInterval(0)
        self._work_timer.timeout.connect(self._do_work)

    # -- public API ------------------------------------------------------------------------

    def show_conversation(self, messages: Sequence[Message],
                          versions: Mapping[int, Sequence[int]] | None,
                          thumbnail_for: ThumbnailFor) -> None:
        """Replace the content; opens at the end, older messages load as the user scrolls up.

        `versions` maps a message id to the ids of every version of its turn, oldest first.
        """
        self.clear()
        self._thumbnails.thumbnail_for = thumbnail_for
        self._entries.reset(messages, versions)
        self._show_empty_hint()
        self._open_at_end()

    def set_thinking_expanded(self, expanded: bool) -> None:
        """The Settings preference: whether finished Thinking sections start open."""
        self._thinking_expanded = expanded

    def clear(self) -> None:
        """Remove every message (and forget pending stream text)."""
        self._flush_timer.stop()
        self._work_timer.stop()
        for widget in self._widgets.values():
            self._list.removeWidget(widget)
            widget.deleteLater()
        self._widgets.clear()
        self._entries.reset([], None)
        self._pending.clear()
        self._usage.clear()
        self._dirty.clear()
        self._markdown_queue.clear()
        self._thumbnails.clear()
        self._lo = self._hi = 0
        self._want_older = self._want_newer = 0
        self._keeper.forget()
        self._keeper.stick_to_bottom = True
        self._show_empty_hint()

    def begin_reply(self, user: Message | None, assistant: Message) -> None:
        """Show a new turn (or a new version of one) with an empty, streaming answer."""
        if self._hi < len(self._entries):
            self._open_at_end()
        if user is not None:
            self._place(user)
        self._place(assistant)
        self._show_empty_hint()
        self._keeper.stick_to_bottom = True
        self._keeper.restore()

    def append_reasoning(self, message_id: int, text: str) -> None:
        """Buffer a reasoning delta; shown at the next render tick."""
        (self._pending.get(message_id) or self._buffer(message_id))[0].append(text)

    def append_content(self, message_id: int, text: str) -> None:
        """Buffer an answer delta; shown at the next render tick."""
        (self._pending.get(message_id) or self._buffer(message_id))[1].append(text)

    def set_usage(self, message_id: int, prompt: int, completion: int, cached: int) -> None:
        """Token counts (sent with every chunk): kept, and shown at the next render tick."""
        self._usage[message_id] = (prompt, completion, cached)
        if not self._flush_timer.isActive():
            self._flush_timer.start(self._interval_ms)

    def finish_reply(self, message_id: int, status: str, error: str | None) -> None:
        """The stream ended: show the status, apply what is buffered and render it for good.

        The status goes first, so this very flush draws the text as final (no second pass
        on a zero-ms timer); a long backlog still continues in time slices.
        """
        from app.ui.widgets.message_widget import now_ms

        self._update(message_id, status=status, error=error, finished_at=now_ms())
        if message_id in self._widgets:
            self._dirty[message_id] = None
        self._flush()

    def replace_message(self, message: Message) -> None:
        """Show another version of a turn (or a changed message) in its place."""
        self._place(message)

    def reveal(self, message_id: int) -> bool:
        """Show a message (a search hit) however far back it is: build its page, scroll to it.

        False when the message is not in this conversation."""
        index = self._entries.index_of(message_id)
        if index is None:
            return False
        if not self._lo <= index < self._hi:
            self._open_around(index)
        widget = self._widgets.get(message_id)
        if widget is None:
            return False
        self._keeper.stick_to_bottom = False
        widget.setFocus(Qt.FocusReason.OtherFocusReason)
        # After the layout has placed the new widgets (the next turn of the event loop).
        QTimer.singleShot(0, lambda: self._scroll.ensureWidgetVisible(widget, 0, 24))
        return True

    def _open_around(self, index: int) -> None:
        """Rebuild the window of widgets around `index`; paging goes on in both directions."""
        self._empty_window_at(index)
        while self._hi < len(self._entries) and self._hi - index < self._first_page:
            self._build_newer()
        for _ in range(min(self._first_page // 2, self._lo)):
            self._build_older(markdown=False)
        self._want_older = min(self._page_size, self._lo)
        self._want_newer = min(self._page_size, len(self._entries) - self._hi)
        self._work_timer.start()

    def _show_empty_hint(self) -> None:
        """An empty conversation says how to start instead of showing a blank page."""
        empty = len(self._entries) == 0
        self._empty.setVisible(empty)
        self._scroll.setVisible(not empty)

    # -- introspection (tests, benchmarks, the window's status bar) --------------------------

    @property
    def message_count(self) -> int:
        return len(self._entries)

    @property
    def built_range(self) -> tuple[int, int]:
        """Indices [lo, hi) of the messages that currently have widgets."""
        return self._lo, self._hi

    @property
    def scroll_area(self) -> QScrollArea:
        return self._scroll

    def message_widget(self, message_id: int) -> MessageWidget | None:
        return self._widgets.get(message_id)

    def message_at(self, index: int) -> Message:
        """The message at a position of the conversation (0 = the first)."""
        return self._entries[index]

    def message(self, message_id: int) -> Message | None:
        return self._entries.get(message_id)

    async def wait_idle(self, limit_s: float) -> None:
        """Return once the view is idle, or after `limit_s` whatever is left."""
        import asyncio
        import contextlib

        if self.is_idle():
            return
        done = asyncio.Event()
        self.idle.connect(done.set)
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), limit_s)
        finally:
            self.idle.disconnect(done.set)

    def _report_if_idle(self) -> None:
        if self.is_idle():
            self.idle.emit()

    def is_idle(self) -> bool:
        """No deferred page building, Markdown rendering or stream flush pending."""
        return not (self._work_timer.isActive() or self._flush_timer.isActive()
                    or self._pending or self._usage or self._dirty or self._markdown_queue
                    or self._want_older or self._want_newer)

    # -- model → widgets ---------------------------------------------------------------------

    def _place(self, message: Message) -> None:
        kind, index, old = self._entries.place(message)
        if kind == "set" and old is not None:
            self._pending.pop(int(old.id), None)
            widget = self._widgets.pop(int(old.id), None)
            if widget is not None:
                position = self._list.indexOf(widget)
                self._drop_widget(widget)
                self._widgets[int(message.id)] = new = self._make_widget(message)
                self._list.insertWidget(position, new)
        elif index < self._lo:
            self._lo += 1
            self._hi += 1
        elif index <= self._hi:
            widget = self._make_widget(message)
            self._widgets[int(message.id)] = widget
            self._list.insertWidget(index - self._lo, widget)
            self._hi += 1

    def _update(self, message_id: int, **changes: object) -> None:
        message = self._entries.update(message_id, **changes)
        widget = self._widgets.get(message_id)
        if message is not None and widget is not None:
            widget.update_message(message)

    # -- stream coalescing -------------------------------------------------------------------

    def _buffer(self, message_id: int) -> tuple[list[str], list[str]]:
        """A new buffer (the first delta since the last flush) and the tick that applies it.

        The append methods look an existing buffer up themselves: a flood calls them tens of
        thousands of times, and this path is the only one that needs a Qt call.
        """
        buffer = self._pending[message_id] = ([], [])
        if not self._flush_timer.isActive():
            self._flush_timer.start(self._interval_ms)
        return buffer

    def _flush(self) -> None:
        """Apply buffered deltas, then draw within one time slice; a backlog continues on the
        next event-loop turn, steady streaming waits for the next ~30 Hz tick."""
        started = self._clock()
        self._flush_timer.stop()  # finish_reply() flushes directly: no stale tick to wait for
        pending, self._pending = self._pending, {}
        for message_id, (reasoning_parts, content_parts) in pending.items():
            reasoning, content = "".join(reasoning_parts), "".join(content_parts)
            message = self._entries.extend(message_id, reasoning, content)
            widget = self._widgets.get(message_id)
            if message is not None and widget is not None:
                widget.stream(message, reasoning, content)
                self._dirty[message_id] = None
        usage, self._usage = self._usage, {}
        for message_id, (prompt, completion, cached) in usage.items():
            self._update(message_id, prompt_tokens=prompt, completion_tokens=completion,
                         cached_tokens=cached)
        deadline = started + self._slice_s
        for message_id in list(self._dirty):
            widget = self._widgets.get(message_id)
            if widget is None or not widget.render_step():
                self._dirty.pop(message_id, None)
            if self._clock() > deadline:
                break
        if pending or usage:
            self._settle_layout()
        # Slow renders (a long unfinished block) space the ticks out, so the UI stays live.
        cost_ms = (self._clock() - started) * 1000
        self._interval_ms = max(self._render_interval_ms, int(3 * cost_ms))
        if self._dirty:
            self._flush_timer.start(0)
        elif self._pending:
            self._flush_timer.start(self._interval_ms)
        else:
            self._report_if_idle()

    @staticmethod
    def _settle_layout() -> None:
        """Apply the size changes of this tick now (text → answer → message → list → scroll
        bar, one level per posted LayoutRequest), so the tick is painted once, already
        scrolled, instead of once with the new text and again after the scroll."""
        for _ in range(_LAYOUT_LEVELS):
            QCoreApplication.sendPostedEvents(None, QEvent.Type.LayoutRequest)

    def _render_soon(self, message_id: int) -> None:
        self._dirty[message_id] = None
        self._flush_timer.start(0)

    # -- widgets -----------------------------------------------------------------------------

    def _markdown(self) -> MarkdownRenderer:
        """The renderer, and the formula images every renderer shares (one cache, one
        worker), made when the first message needs them."""
        if self._renderer is None:
            from app.ui.render.markdown import MarkdownRenderer
            from app.ui.render.markdown_view import theme_from_palette
            from app.ui.render.math_images import FormulaImages

            self._formulas = FormulaImages(self)
            self._renderer = MarkdownRenderer(theme_from_palette(self.palette()),
                                              formulas=self._formulas)
        return self._renderer

    def _make_widget(self, message: Message, *, markdown: bool = True) -> MessageWidget:
        from app.ui.widgets.message_widget import MessageWidget

        widget = MessageWidget(message, renderer=self._markdown(), thumbnails=self._thumbnails,
                               versions=self._entries.versions_of(message),
                               thinking_expanded=self._thinking_expanded, markdown=markdown,
                               timestamps=self._video_duration(message),
                               parent=self._container)
        widget.action_requested.connect(self._on_action)
        widget.version_selected.connect(self.version_selected)
        widget.attachment_activated.connect(self.attachment_activated)
        widget.attachment_edit_requested.connect(self.attachment_edit_requested)
        widget.copy_requested.connect(self._copy)
        widget.save_requested.connect(self._save_code)
        widget.table_save_requested.connect(self._save_table)
        widget.seek_requested.connect(
            lambda seconds, mid=int(message.id): self.timestamp_activated.emit(mid, seconds))
        if widget.needs_markdown():
            self._markdown_queue.append(int(message.id))
            self._work_timer.start()
        if widget.has_pending_render:
            self._render_soon(int(message.id))
        return widget

    def _drop_widget(self, widget: MessageWidget) -> None:
        self._list.removeWidget(widget)
        widget.hide()
        widget.deleteLater()
        self._keeper.forget(widget)

    def _empty_window_at(self, index: int) -> None:
        """Drop every built widget; the (empty) window of built messages starts at `index`."""
        for widget in self._widgets.values():
            self._drop_widget(widget)
        self._widgets.clear()
        self._markdown_queue.clear()
        self._keeper.forget()
        self._lo = self._hi = index

    def _open_at_end(self) -> None:
        """(Re)build the window of widgets at the end: a first page now, the rest soon."""
        self._empty_window_at(len(self._entries))
        self._keeper.stick_to_bottom = True
        for _ in range(min(self._first_page, len(self._entries))):
            self._build_older(markdown=False)
        self._want_older = min(self._page_size - self._first_page, self._lo)
        self._want_newer = 0
        if self._want_older:
            self._work_timer.start()

    def _build_older(self, *, markdown: bool = False) -> None:
        self._lo -= 1
        message = self._entries[self._lo]
        widget = self._make_widget(message, markdown=markdown)
        self._widgets[int(message.id)] = widget
        self._list.insertWidget(0, widget)
        if self._hi - self._lo > self._max_built:
            self._hi -= 1
            self._keeper.stick_to_bottom = False
            gone = self._widgets.pop(int(self._entries[self._hi].id), None)
            if gone is not None:
                self._drop_widget(gone)

    def _build_newer(self) -> None:
        message = self._entries[self._hi]
        widget = self._make_widget(message, markdown=False)
        self._widgets[int(message.id)] = widget
        self._list.insertWidget(self._hi - self._lo, widget)
        self._hi += 1
        if self._hi - self._lo > self._max_built:
            gone = self._widgets.pop(int(self._entries[self._lo].id), None)
            self._lo += 1
            if gone is not None:
                self._drop_widget(gone)

    def _do_work(self) -> None:
        """One time slice of deferred work: pages first, then Markdown upgrades."""
        deadline = self._clock() + self._slice_s
        while self._clock() < deadline:
            if self._want_older and self._lo > 0:
                self._want_older -= 1
                self._build_older()
            elif self._want_newer and self._hi < len(self._entries):
                self._want_newer -= 1
                self._build_newer()
            elif self._markdown_queue:
                message_id = self._markdown_queue.popleft()
                widget = self._widgets.get(message_id)
                if widget is not None and widget.show_markdown(self._markdown()):
                    self._render_soon(message_id)
            else:
                self._want_older = self._want_newer = 0
                self._report_if_idle()
                return
        self._work_timer.start()

    # -- scrolling ---------------------------------------------------------------------------

    def _on_scrolled(self, _value: int) -> None:
        if self._keeper.adjusting:
            return
        self._keeper.user_scrolled(at_true_end=self._hi == len(self._entries))
        self._check_paging()

    def _on_range_changed(self, _minimum: int, _maximum: int) -> None:
        self._keeper.restore()
        self._check_paging()

    def _check_paging(self) -> None:
        bar = self._scroll.verticalScrollBar()
        margin = self._scroll.viewport().height()
        if self._lo > 0 and bar.value() < margin and not self._want_older:
            self._want_older = self._page_size
            self._work_timer.start()
        if (self._hi < len(self._entries) and bar.maximum() - bar.value() < margin
                and not self._want_newer):
            self._want_newer = self._page_size
            self._work_timer.start()

    # -- actions -----------------------------------------------------------------------------

    def _on_action(self, action: str, message_id: int) -> None:
        signal = {"retry": self.retry_requested, "regenerate": self.regenerate_requested,
                  "continue": self.continue_requested, "edit": self.edit_requested,
                  "compare": self.compare_requested}[action]
        signal.emit(message_id)

    def _copy(self, text: str) -> None:
        QGuiApplication.clipboard().setText(text)
        self.copy_text.emit(text)

    # The dialogs and the media modules behind these load on first use, not before the
    # window's first paint (bench_startup --empty).
    def _save_code(self, code: str, language: str) -> None:
        from app.ui.dialogs.code_actions import save_code_block

        save_code_block(self, code, language)

    def _save_table(self, csv: str, number: int) -> None:
        from app.ui.dialogs.code_actions import save_table_csv

        save_table_csv(self, csv, number)

    def video_for(self, message_id: int) -> AttachmentRecord | None:
        """The video an answer is about (see `latest_video`), or None."""
        index = self._entries.index_of(message_id)
        return None if index is None else latest_video(self._entries, index)  # type: ignore[arg-type]

    def _video_duration(self, message: Message) -> float | None:
        """For an answer about a video: that video's length (inf if unknown), so the
        answer's timestamps become links; None for anything else."""
        video = self.video_for(int(message.id)) if message.role == "assistant" else None
        if video is None:
            return None
        return float(video.duration_s) if video.duration_s else math.inf

    def changeEvent(self, event: QEvent) -> None:
        """Re-render Markdown in the new colours when the system switches light/dark."""
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange and self._renderer is not None:
            from app.ui.render.markdown import MarkdownRenderer
            from app.ui.render.markdown_view import theme_from_palette

            theme = theme_from_palette(self.palette())
            if theme != self._renderer.theme:
                self._renderer = MarkdownRenderer(theme, formulas=self._formulas)
                self._markdown_queue.extend(
                    i for i, w in self._widgets.items() if w.message.role == "assistant")
                self._work_timer.start()
