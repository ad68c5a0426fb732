"""The comparison view: one column per reasoning effort, streaming side by side.

Each column shows its answer live (the same streaming Markdown view as a message), its thinking
(folded), its figures (time to first thought and answer, total, tokens), its finish status,
"Use this answer" and Stop. A "Show differences" toggle replaces each answer from the second
column on with a word-level highlight of what it adds or changes against the one to its left.

The view only shows and emits: the comparison controller owns the tasks and calls the setters.
Streamed text is drawn by one render timer for all columns, one column per tick in turn (at
most ~30 paints a second in all), so three streams cost the UI thread about what one does.

Signals:
    keep_requested(str): "Use this answer" on the column of that effort.
    stop_requested(str): Stop on one column.
    stop_all_requested(): Stop all.
    differences_toggled(bool): the "Show differences" toggle (True again while it is on
        when a column's answer ends, and after a theme change: new text, new colours).
    close_requested(): back to the conversation.
    template_effort_requested(str, str): "Use <effort> for this template" (slug, effort).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtGui import QFont, QPalette
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.ui.render.markdown import MarkdownRenderer
from app.ui.render.markdown_view import theme_from_palette
from app.ui.widgets.compare_column import (
    FINAL,
    CompareColumn,
    figures_text,
    plain_label,
    plain_tooltip,
)

RENDER_INTERVAL_MS = 33
SHARED_INTERVAL_MS = 66
"""The render pace while several columns have text to draw. One streaming column is drawn
about 15 times a second (a tick after each batch of text); several share those draws, one
column per tick, so the UI thread's render work stays that of a single stream."""


class ComparisonView(QFrame):
    """The comparison of one turn; see the module docstring for signals."""

    keep_requested = Signal(str)
    stop_requested = Signal(str)
    stop_all_requested = Signal()
    differences_toggled = Signal(bool)
    close_requested = Signal()
    template_effort_requested = Signal(str, str)

    def __init__(self, renderer: MarkdownRenderer, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._renderer = renderer
        self.columns: dict[str, CompareColumn] = {}
        self.setAccessibleName("Compare efforts")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        top = QHBoxLayout()
        self.title = plain_label("Compare efforts", self)
        font = QFont(self.title.font())
        font.setBold(True)
        self.title.setFont(font)
        self.prompt_label = plain_label("", self)
        self.prompt_label.setProperty("role", "muted")
        self.prompt_label.setSizePolicy(QSizePolicy.Policy.Ignored,
                                        QSizePolicy.Policy.Preferred)
        self.differences = QToolButton(self)
        self.differences.setText("Show differences")
        self.differences.setCheckable(True)
        self.differences.setProperty("role", "chip")
        self.differences.setToolTip("Highlight what each answer adds or changes against the "
                                    "one to its left")
        self.stop_all = QPushButton("Stop all", self)
        self.stop_all.setAutoDefault(False)
        self.close_button = QToolButton(self)
        self.close_button.setText("Back to the conversation")
        self.close_button.setProperty("role", "chip")
        top.addWidget(self.title)
        top.addWidget(self.prompt_label, 1)
        top.addWidget(self.differences)
        top.addWidget(self.stop_all)
        top.addWidget(self.close_button)
        layout.addLayout(top)
        self.note = plain_label("", self)
        self.note.setWordWrap(True)
        self.note.hide()
        layout.addWidget(self.note)
        self.template_button = QPushButton("", self)
        self.template_button.setAutoDefault(False)
        self.template_button.hide()
        self.template_button.clicked.connect(self._template_clicked)
        self._offer: tuple[str, str] | None = None
        layout.addWidget(self.template_button, 0, Qt.AlignmentFlag.AlignLeft)
        self._row = QHBoxLayout()
        self._row.setSpacing(8)
        layout.addLayout(self._row, 1)
        self._turn = 0
        self._rediff = False  # highlights to ask for again once the answers are redrawn
        self._timer = QTimer(self)
        self._timer.setInterval(RENDER_INTERVAL_MS)
        self._timer.timeout.connect(self._render)
        self.differences.toggled.connect(self.differences_toggled)
        self.stop_all.clicked.connect(self.stop_all_requested)
        self.close_button.clicked.connect(self.close_requested)

    # -- setters (the controller's side) -------------------------------------------------------

    def prepare(self, efforts: Sequence[str]) -> None:
        """Build the columns of `efforts` ahead of the first comparison (idle time after
        start-up), so that the click that opens the view only has to empty them."""
        if list(efforts) != list(self.columns):
            self._build(efforts)

    def start(self, efforts: Sequence[str], prompt: str) -> None:
        """Empty columns for a new comparison (cheap: the view must open within 100 ms).
        The same efforts as last time reuse their columns; others are built."""
        self._timer.stop()
        if list(efforts) == list(self.columns):
            for column in self.columns.values():
                column.reset()
        else:
            self._build(efforts)
        words = " ".join(prompt.split())
        self.prompt_label.setText(words[:120] + ("…" if len(words) > 120 else ""))
        self.prompt_label.setToolTip(plain_tooltip(prompt[:2000]))
        self.differences.setChecked(False)
        self._rediff = False
        self.stop_all.setEnabled(True)
        self.set_note("")
        self.offer_template("", "")

    def append(self, effort: str, reasoning: str, content: str) -> None:
        """A coalesced batch of one column's deltas; drawn by the render timer."""
        column = self.columns.get(effort)
        if column is None:
            return
        if reasoning:
            column.append_reasoning(reasoning)
        if content:
            column.append_answer(content)
        if not self._timer.isActive():
            self._timer.start()

    def set_status(self, effort: str, status: str, error: str = "") -> None:
        column = self.columns.get(effort)
        if column is None:
            return
        ended = status in FINAL and column.status not in FINAL
        column.set_status(status, error)
        if ended and self.differences.isChecked():
            self._differences_when_drawn()  # the highlights were of a part of this answer
        if column.has_pending and not self._timer.isActive():
            self._timer.start()
        self.stop_all.setEnabled(any(c.status not in FINAL for c in self.columns.values()))

    def set_figures(self, effort: str, figures: Mapping[str, Any]) -> None:
        column = self.columns.get(effort)
        if column is not None:
            column.figures_label.setText(figures_text(figures))
            column.thought_for(figures.get("first_reasoning_s"), figures.get("first_answer_s"))

    def set_kept(self, effort: str) -> None:
        """Mark the kept column (the others stay keepable: keeping another switches)."""
        for name, column in self.columns.items():
            column.kept = name == effort
            column.set_status(column.status, column.error)

    def set_differences(self, htmls: Mapping[str, str]) -> None:
        """Show the highlighted differences (HTML per effort; the first column has none)."""
        on = self.differences.isChecked()
        for effort, column in self.columns.items():
            shown = on and effort in htmls
            if shown:
                column.diff.setHtml(htmls[effort])
            column.diff.setVisible(shown)
            column.answer.setVisible(not shown)

    def set_note(self, text: str) -> None:
        """A line above the columns (uploads, left-out media, a failure of the whole run)."""
        self.note.setText(text)
        self.note.setVisible(bool(text))

    def offer_template(self, slug: str, effort: str) -> None:
        """Offer "Use <effort> for this template" (an empty slug takes the offer away)."""
        self._offer = (slug, effort) if slug else None
        self.template_button.setText(f"Use {effort} for this template" if slug else "")
        self.template_button.setToolTip(plain_tooltip(
            f"Template {slug}: send with {effort} effort from now on" if slug else ""))
        self.template_button.setVisible(bool(slug))

    def answers(self) -> dict[str, str]:
        """Each column's answer as read (rendered, without Markdown markup): what is diffed."""
        return {effort: column.answer.toPlainText() for effort, column in self.columns.items()}

    # -- internals ---------------------------------------------------------------------------

    def _build(self, efforts: Sequence[str]) -> None:
        for column in self.columns.values():
            self._row.removeWidget(column)
            column.deleteLater()
        self.columns = {}
        for effort in efforts:
            column = CompareColumn(effort, self._renderer, self)
            column.keep_button.clicked.connect(self._keep_clicked)
            column.stop_button.clicked.connect(self._stop_clicked)
            self.columns[effort] = column
            self._row.addWidget(column, 1)

    def changeEvent(self, event: QEvent) -> None:
        """Light/dark switched: every column's answer (and the highlights) in the new colours."""
        super().changeEvent(event)
        if event.type() != QEvent.Type.PaletteChange:
            return
        theme = theme_from_palette(self.palette())
        if theme == self._renderer.theme:
            return
        self._renderer = MarkdownRenderer(theme, formulas=self._renderer.formulas)
        for column in self.columns.values():
            column.restyle(self._renderer)
        if self.differences.isChecked():
            self._differences_when_drawn()
        elif self.columns and not self._timer.isActive():
            self._timer.start()

    def _differences_when_drawn(self) -> None:
        """Ask for the highlights again once every answer is drawn (they are diffed as
        read): `_render` emits `differences_toggled(True)` when nothing is left to draw."""
        self._rediff = True
        if not self._timer.isActive():
            self._timer.start()

    def _render(self) -> None:
        """Draw ONE column per tick, taking turns at `SHARED_INTERVAL_MS` while several have
        text waiting: the UI thread's render work per second stays that of a single stream
        however many columns stream (each of three is drawn about 5 times a second)."""
        pending = [c for c in self.columns.values() if c.has_pending]
        self._timer.setInterval(SHARED_INTERVAL_MS if len(pending) > 1 else RENDER_INTERVAL_MS)
        if pending:
            self._turn = (self._turn + 1) % len(pending)
            pending[self._turn].render_step()
        if not any(c.has_pending for c in self.columns.values()):
            self._timer.stop()
            if self._rediff and self.differences.isChecked():
                self.differences_toggled.emit(True)
            self._rediff = False

    def _template_clicked(self) -> None:
        if self._offer is not None:
            self.template_effort_requested.emit(*self._offer)
            self.offer_template("", "")

    def _keep_clicked(self) -> None:
        effort = self._effort_of_sender("keep_button")
        if effort:
            self.keep_requested.emit(effort)

    def _stop_clicked(self) -> None:
        effort = self._effort_of_sender("stop_button")
        if effort:
            self.stop_requested.emit(effort)

    def _effort_of_sender(self, which: str) -> str | None:
        sender = self.sender()
        return next((e for e, c in self.columns.items() if getattr(c, which) is sender), None)


def highlight_colours(palette: QPalette) -> tuple[str, str]:
    """(added, changed) backgrounds that read on this palette's base colour."""
    base = palette.color(QPalette.ColorRole.Base)
    dark = base.lightness() < 128
    return ("#1f5f3a", "#6b5514") if dark else ("#c9f0d4", "#fbe7a6")
