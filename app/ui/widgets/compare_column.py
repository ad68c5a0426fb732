"""One effort's column of the comparison view: its answer, thinking, figures and status.

Built and driven by `app.ui.widgets.compare_view.ComparisonView` only; labels never read
their text as HTML (prompts and server errors are not ours).
"""

from __future__ import annotations

import html
import time
from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from app.ui.render.markdown import MarkdownRenderer
from app.ui.render.markdown_view import MarkdownView, SafeTextBrowser
from app.ui.widgets.thinking_section import ThinkingSection

STATUS_TEXT = {
    "waiting": "Waiting…", "streaming": "Streaming…", "retrying": "Busy; retrying…",
    "complete": "Done", "truncated": "Cut off at the token limit", "stopped": "Stopped",
    "interrupted": "Interrupted", "blocked": "Blocked by content review", "error": "Failed",
}
KEEPABLE = frozenset({"complete", "truncated"})
FINAL = frozenset({"complete", "truncated", "stopped", "interrupted", "blocked", "error"})


def plain_label(text: str, parent: QWidget) -> QLabel:
    """A label that never reads its text as HTML (prompts and server errors are not ours)."""
    label = QLabel(text, parent)
    label.setTextFormat(Qt.TextFormat.PlainText)
    return label


def plain_tooltip(text: str) -> str:
    """A tooltip showing `text` as written: Qt renders a tooltip that looks like HTML as
    HTML (images included), so it is escaped and given as rich text."""
    return f'<p style="white-space:pre-wrap">{html.escape(text)}</p>' if text else ""


def figures_text(figures: Mapping[str, Any]) -> str:
    """Two short lines: the times, then the tokens (what is not known yet is left out)."""
    times = []
    for label, key in (("first thought", "first_reasoning_s"), ("first answer",
                                                                "first_answer_s"),
                       ("total", "total_s")):
        value = figures.get(key)
        if value is not None:
            times.append(f"{label} {value:.1f} s")
    tokens = []
    if figures.get("reasoning_tokens") is not None:
        approx = "≈" if figures.get("tokens_estimated") else ""
        tokens.append(f"{approx}{figures['reasoning_tokens']:,} reasoning")
        tokens.append(f"{figures.get('answer_tokens') or 0:,} answer")
        tokens.append(f"{figures.get('cached_tokens') or 0:,} cached tokens")
    if figures.get("retries"):
        tokens.append(f"{figures['retries']} retr{'y' if figures['retries'] == 1 else 'ies'}")
    return " · ".join(times) + ("\n" if times and tokens else "") + " · ".join(tokens)


class CompareColumn(QFrame):
    """One effort's column. Built and driven by `ComparisonView` only."""

    def __init__(self, effort: str, renderer: MarkdownRenderer,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.effort = effort
        self.status = "waiting"
        self.error = ""
        self.kept = False
        self.setProperty("role", "card")
        self.setAccessibleName(f"{effort.capitalize()} effort answer")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 8)
        layout.setSpacing(4)
        header = QHBoxLayout()
        self.title = plain_label(effort.capitalize(), self)
        font = QFont(self.title.font())
        font.setBold(True)
        self.title.setFont(font)
        self.status_label = plain_label(STATUS_TEXT["waiting"], self)
        self.status_label.setProperty("role", "muted")
        self.status_label.setWordWrap(True)
        header.addWidget(self.title)
        header.addWidget(self.status_label, 1, Qt.AlignmentFlag.AlignRight)
        layout.addLayout(header)
        self.figures_label = plain_label("", self)
        self.figures_label.setProperty("role", "muted")
        self.figures_label.setAccessibleName(f"{effort} figures")
        # Wrapped: a line that cannot wrap is the column's minimum width, so long figures
        # made the columns unequal and pushed a window that is not maximised wider.
        self.figures_label.setWordWrap(True)
        self.figures_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.figures_label)
        inner = QWidget(self)
        inner_layout = QVBoxLayout(inner)
        inner_layout.setContentsMargins(0, 0, 0, 0)
        self._inner_layout = inner_layout
        self.thinking = ThinkingSection("", expanded=False, live_since_ms=None, parent=inner)
        self.thinking.hide()  # shown with the first reasoning: an answer may have none
        self.answer = MarkdownView(renderer, inner)
        self.answer.setAccessibleName(f"{effort} answer")
        self.diff = SafeTextBrowser(inner)
        self.diff.setAccessibleName(f"{effort} differences")
        self.diff.hide()
        inner_layout.addWidget(self.thinking)
        inner_layout.addWidget(self.answer)
        inner_layout.addWidget(self.diff)
        inner_layout.addStretch(1)
        self.scroll_area = QScrollArea(self)
        self.scroll_area.setWidget(inner)
        self.scroll_area.setWidgetResizable(True)
        self.scroll_area.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        layout.addWidget(self.scroll_area, 1)
        footer = QHBoxLayout()
        self.keep_button = QPushButton("Use this answer", self)
        self.keep_button.setEnabled(False)
        self.keep_button.setAutoDefault(False)
        self.stop_button = QPushButton("Stop", self)
        self.stop_button.setAutoDefault(False)
        self.stop_button.setAccessibleName(f"Stop {effort}")
        footer.addWidget(self.keep_button)
        footer.addStretch(1)
        footer.addWidget(self.stop_button)
        layout.addLayout(footer)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    @property
    def has_pending(self) -> bool:
        return self.answer.has_pending or self.thinking.has_pending

    def append_reasoning(self, text: str) -> None:
        """Streamed reasoning: the first shows the section, closed, ticking how long the
        model has thought (a high effort can think for many seconds before it answers)."""
        if self.thinking.isHidden():
            self.thinking.show()
            self.thinking.start_live(int(time.time() * 1000))
        self.thinking.append(text)

    def thought_for(self, first_reasoning_s: float | None, first_answer_s: float | None) -> None:
        """The figures' thinking time (first reasoning → first answer) heads the section: a
        reopened comparison's stored answers arrive at once, their real time is this."""
        if first_reasoning_s is not None and first_answer_s is not None \
                and not self.thinking.isHidden():
            self.thinking.set_seconds(max(0, round(first_answer_s - first_reasoning_s)))

    def append_answer(self, text: str) -> None:
        """Streamed answer text: the thinking is over once the answer begins."""
        if self.thinking.is_live:
            self.thinking.finish()
        self.answer.append(text)

    def render_step(self) -> bool:
        more = self.thinking.render_step()
        if self.answer.has_pending:
            more = self.answer.render_step(final=self.status in FINAL) or more
        return more

    def reset(self) -> None:
        """Empty again for the next comparison of the same efforts: far cheaper than a new
        column (in the window every new widget is polished by the style sheet), so the view
        opens sooner. The thinking section is new (it has no way back to empty). The answer
        is emptied as plain text: no Markdown parser at click time (its renderer already
        follows the theme, see `restyle`)."""
        thinking = ThinkingSection("", expanded=False, live_since_ms=None,
                                   parent=self.thinking.parentWidget())
        thinking.hide()
        self._inner_layout.replaceWidget(self.thinking, thinking)
        self.thinking.deleteLater()
        self.thinking = thinking
        self.answer.show_plain("")
        self.answer.show()
        self.diff.clear()
        self.diff.hide()
        self.figures_label.setText("")
        self.kept = False
        self.set_status("waiting")
        self.scroll_area.verticalScrollBar().setValue(0)

    def restyle(self, renderer: MarkdownRenderer) -> None:
        """Draw the answer again with `renderer` (a new theme's colours), in render steps:
        a finished answer is redrawn whole, a streaming one goes on from its new start."""
        self.answer.begin_progressive(renderer)

    def set_status(self, status: str, error: str = "") -> None:
        old, self.status, self.error = self.status, status, error
        text = STATUS_TEXT.get(status, status)
        if error and status in ("error", "interrupted", "blocked"):
            text = f"{text}: {error}"
        if self.kept:
            text = f"{text} · kept"
        self.status_label.setText(text)
        self.status_label.setToolTip(plain_tooltip(error))
        done = status in FINAL
        self.stop_button.setEnabled(not done)
        self.keep_button.setEnabled(status in KEEPABLE and not self.kept)
        if done and old not in FINAL:
            self.thinking.finish()
            self.answer.finish_stream()
