"""The collapsible "Thinking" part of an assistant message.

While a reply streams the header ticks ("Thinking… 12 s") and the reasoning text is shown
live; when the thinking ends it reads "Thought for 14 s" and collapses unless the user prefers
it open. Text is only pushed into the text widget while the section is expanded: a collapsed
section just accumulates the string, so a long hidden reasoning costs nothing to stream.
Given a renderer, the text is shown as written with its formulas typeset (the answer's
formula images, cache and colours; a formula still arriving stays source until it closes).
"""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QSizePolicy, QToolButton, QVBoxLayout, QWidget

from app.ui.render.markdown import MarkdownRenderer
from app.ui.render.markdown_view import MarkdownView, SafeTextBrowser

_BODY_MAX_HEIGHT = 260
_STEP_CHARS = 8_000  # reasoning pushed into the pane per render step (a flood arrives in bulk)


class ThinkingSection(QWidget):
    """Header button + reasoning text.

    Args:
        text: reasoning so far.
        expanded: whether a finished section starts open (the user's preference).
        live_since_ms: wall-clock start of the reply (ms since the epoch) when it is still
            streaming, else None.
        renderer: typesets the formulas in the text (its `text_only()` sibling is used);
            None shows plain text.

    Signals:
        expanded_changed(bool): the user opened or closed the section.
        copy_requested(str): "Copy LaTeX" on a formula (payload: the LaTeX).
    """

    expanded_changed = Signal(bool)
    copy_requested = Signal(str)

    def __init__(self, text: str, *, expanded: bool, live_since_ms: int | None,
                 renderer: MarkdownRenderer | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._text = text
        self._renderer = renderer.text_only() if renderer is not None else None
        self._shown_len = 0
        self._prefer_expanded = expanded
        self._live_since_ms = live_since_ms
        self._seconds: int | None = None
        self._header = QToolButton(self)
        self._header.setCheckable(True)
        self._header.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self._header.setAutoRaise(True)
        self._header.setAccessibleDescription("Show or hide the model's reasoning")
        self._body: SafeTextBrowser | None = None  # built on first expand: most stay closed
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(2)
        self._layout.addWidget(self._header, 0, Qt.AlignmentFlag.AlignLeft)
        self._ticker = QTimer(self)
        self._ticker.setInterval(1000)
        self._ticker.timeout.connect(self._update_header)
        self._header.toggled.connect(self._on_toggled)
        live = live_since_ms is not None
        self._set_expanded(live or expanded)
        if live:
            self._ticker.start()
        self._update_header()

    @property
    def is_live(self) -> bool:
        """True until `finish()`."""
        return self._live_since_ms is not None

    @property
    def is_expanded(self) -> bool:
        return self._header.isChecked()

    @property
    def header(self) -> QToolButton:
        return self._header

    @property
    def header_text(self) -> str:
        return self._header.text()

    @property
    def text(self) -> str:
        return self._text

    @property
    def shown_text(self) -> str:
        """What the reasoning pane displays now (empty while it was never opened)."""
        return self._body.toPlainText() if self._body is not None else ""

    @property
    def body(self) -> SafeTextBrowser | None:
        """The reasoning pane (None until first opened)."""
        return self._body

    @property
    def has_pending(self) -> bool:
        """True while the open pane has not caught up with the text."""
        return self.is_expanded and (self._shown_len < len(self._text) or (
            isinstance(self._body, MarkdownView) and self._body.has_pending))

    def append(self, text: str) -> None:
        """Add streamed reasoning; `render_step()` draws it (only while the pane is open)."""
        self._text += text

    def render_step(self) -> bool:
        """Push up to `_STEP_CHARS` more text into the open pane; True while more remains."""
        self._sync_body(_STEP_CHARS)
        return self.has_pending

    def start_live(self, since_ms: int) -> None:
        """Tick "Thinking… N s" from `since_ms` (ms since the epoch) without opening the pane:
        a comparison column's section is shown closed, three open panes would each redraw."""
        if self._live_since_ms is None and self._seconds is None:
            self._live_since_ms = since_ms
            self._ticker.start()
            self._update_header()

    def set_seconds(self, seconds: int) -> None:
        """How long the thinking took, as measured elsewhere (a comparison's figures: from
        the first reasoning to the first answer, live or stored): ends a live header."""
        if self._live_since_ms is not None:
            self.finish()
        if self._seconds != seconds:
            self._seconds = seconds
            self._update_header()

    def finish(self) -> None:
        """Thinking is over: freeze the duration and collapse unless preferred open."""
        if self._live_since_ms is None:
            return
        self._seconds = max(0, round(time.time() - self._live_since_ms / 1000))
        self._live_since_ms = None
        self._ticker.stop()
        if isinstance(self._body, MarkdownView):
            self._body.finish_stream()  # its last paragraph is drawn for good next step
        self._set_expanded(self._prefer_expanded)
        self._update_header()

    def _set_expanded(self, expanded: bool) -> None:
        self._header.blockSignals(True)
        self._header.setChecked(expanded)
        self._header.blockSignals(False)
        self._apply_expanded(expanded)

    def _on_toggled(self, expanded: bool) -> None:
        self._apply_expanded(expanded)
        self._update_header()
        self.expanded_changed.emit(expanded)

    def _apply_expanded(self, expanded: bool) -> None:
        self._header.setArrowType(Qt.ArrowType.DownArrow if expanded else Qt.ArrowType.RightArrow)
        if expanded and self._body is None:
            self._body = (MarkdownView(self._renderer, self, max_height=_BODY_MAX_HEIGHT)
                          if self._renderer is not None
                          else SafeTextBrowser(self, max_height=_BODY_MAX_HEIGHT))
            self._body.code_copy_requested.connect(self.copy_requested)
            self._body.setAccessibleName("Reasoning")
            self._body.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            self._layout.addWidget(self._body)
        if self._body is not None:
            self._body.setVisible(expanded)
        if expanded:
            self._sync_body()

    def set_renderer(self, renderer: MarkdownRenderer) -> bool:
        """Draw the formulas in new colours (a palette change); True when the open pane
        will be redrawn by `render_step()` calls."""
        if renderer.text_only() is self._renderer:
            return False
        self._renderer = renderer.text_only()
        if not isinstance(self._body, MarkdownView):
            return False
        self._body.begin_progressive(self._renderer)
        return self.has_pending

    def _sync_body(self, limit: int | None = None) -> None:
        if isinstance(self._body, MarkdownView):
            self._sync_view(self._body, limit)
            return
        if self._body is None or self._shown_len == len(self._text):
            return
        end = len(self._text) if limit is None else min(len(self._text),
                                                        self._shown_len + limit)
        cursor = QTextCursor(self._body.document())
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.insertText(self._text[self._shown_len:end])
        self._shown_len = end
        if self.is_live:
            bar = self._body.verticalScrollBar()
            bar.setValue(bar.maximum())

    def _sync_view(self, view: MarkdownView, limit: int | None) -> None:
        """Hand the view the new text and let it draw one bounded step of it (`limit` None:
        all of it, when the user opens a finished section)."""
        if self._shown_len < len(self._text):
            view.append(self._text[self._shown_len:])
            self._shown_len = len(self._text)
        final = not self.is_live
        if view.has_pending and limit is None:
            while view.render_step(final=final):
                pass
        elif view.has_pending:
            view.render_step(final=final)
        if self.is_live:
            bar = view.verticalScrollBar()
            bar.setValue(bar.maximum())

    def _update_header(self) -> None:
        if self._live_since_ms is not None:
            elapsed = max(0, int(time.time() - self._live_since_ms / 1000))
            text = f"Thinking… {elapsed} s"
        elif self._seconds is not None:
            text = f"Thought for {self._seconds} s"
        else:  # a finished reply from history: how long it thought is not stored
            text = "Thought process"
        self._header.setText(text)
        self._header.setAccessibleName(f"{text} — {'hide' if self.is_expanded else 'show'}")
