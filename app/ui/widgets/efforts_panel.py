"""The "efforts" panel: the comparisons made in this conversation, one line each.

Each line names the efforts compared with what each cost (total time, reasoning and answer
tokens) and marks the one kept, so over a conversation one learns which effort the task needs.
A line is also the way back to its comparison: clicking it (or Enter/Space on it, as each
line takes the keyboard focus) asks for that comparison to be shown again side by side.
It only shows what it is given (`set_rows`: per comparison its id and a (summary, kept) pair
per answer) and emits `comparison_activated(id)`; the comparison controller loads the records,
words them and reopens one.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFocusEvent, QFont, QKeyEvent, QMouseEvent
from PySide6.QtWidgets import QFrame, QLabel, QVBoxLayout, QWidget

PanelRow = tuple[int, Sequence[tuple[str, bool]]]
"""One comparison in the panel: its id, and each answer's summary and whether it was kept."""


class EffortsPanel(QFrame):
    """A small list of the conversation's comparisons (hidden while there are none).

    Signals:
        comparison_activated(int): a line was clicked or activated from the keyboard; the id
            of its comparison.
    """

    comparison_activated = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setProperty("role", "card")
        self.setAccessibleName("Efforts compared in this conversation")
        self._layout = layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        layout.setSpacing(2)
        title = QLabel("Efforts", self)
        font = QFont(title.font())
        font.setBold(True)
        title.setFont(font)
        layout.addWidget(title)
        self.lines: list[str] = []
        self.rows: list[EffortsRow] = []
        self.hide()

    def set_rows(self, rows: Sequence[PanelRow]) -> None:
        """One line per comparison (see `PanelRow`), numbered from 1.

        Existing lines are rewritten in place rather than rebuilt, so a refresh (a choice
        kept, a comparison finished) leaves the keyboard focus on the line that had it.
        """
        for old in self.rows[len(rows):]:
            self._layout.removeWidget(old)
            old.deleteLater()
        del self.rows[len(rows):]
        self.lines = []
        for number, (comparison_id, answers) in enumerate(rows, 1):
            texts = [("✓ " if kept else "") + text for text, kept in answers]
            line = f"{number}. " + "  |  ".join(texts)
            marked = [f"<b>{escape(t)}</b>" if kept else escape(t)
                      for t, (_, kept) in zip(texts, answers, strict=True)]
            rich = f"{number}. " + " &nbsp;|&nbsp; ".join(marked)
            if number > len(self.rows):
                row = EffortsRow(self)
                row.activated.connect(self.comparison_activated)
                self._layout.addWidget(row)
                self.rows.append(row)
            self.rows[number - 1].set_line(comparison_id, line, rich)
            self.lines.append(line)
        self.setVisible(bool(rows))


class EffortsRow(QLabel):
    """One comparison's line: clickable and focusable, Enter or Space opens it again.

    Signals:
        activated(int): the comparison's id.
    """

    activated = Signal(int)

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.comparison_id = 0
        self.setTextFormat(Qt.TextFormat.RichText)  # `rich` is escaped by the panel
        self.setWordWrap(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setAccessibleDescription("Press Enter to see its answers side by side again")
        self.setToolTip("Show this comparison again")
        self._show_focus(False)

    def set_line(self, comparison_id: int, plain: str, rich: str) -> None:
        """Show comparison `comparison_id` as `rich` (escaped HTML); `plain` names it."""
        self.comparison_id = comparison_id
        self.setText(rich)
        self.setAccessibleName(f"Comparison {plain}")

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self.rect().contains(
                event.position().toPoint()):
            self.activated.emit(self.comparison_id)
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Space):
            self.activated.emit(self.comparison_id)
            event.accept()
            return
        super().keyPressEvent(event)

    def focusInEvent(self, event: QFocusEvent) -> None:
        super().focusInEvent(event)
        self._show_focus(True)

    def focusOutEvent(self, event: QFocusEvent) -> None:
        super().focusOutEvent(event)
        self._show_focus(False)

    def _show_focus(self, focused: bool) -> None:
        """A thin frame around the focused line (a label draws no focus of its own); the
        same one pixel is margin when unfocused, so the line does not move."""
        self.setFrameShape(QFrame.Shape.Box if focused else QFrame.Shape.NoFrame)
        self.setMargin(0 if focused else 1)
