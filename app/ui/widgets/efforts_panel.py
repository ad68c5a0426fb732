"""The "efforts" panel: the comparisons made in this conversation, one line each.

Each line names the efforts compared with what each cost (total time, reasoning and answer
tokens) and marks the one kept, so over a conversation one learns which effort the task needs.
It only shows what it is given (`set_rows`: per comparison, a (summary, kept) pair per answer);
the comparison controller loads the records and words them.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QFrame, QLabel, QVBoxLayout, QWidget


class EffortsPanel(QFrame):
    """A small list of the conversation's comparisons (hidden while there are none)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setProperty("role", "card")
        self.setAccessibleName("Efforts compared in this conversation")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        layout.setSpacing(2)
        title = QLabel("Efforts", self)
        font = QFont(title.font())
        font.setBold(True)
        title.setFont(font)
        layout.addWidget(title)
        self.body = QLabel("", self)
        self.body.setTextFormat(Qt.TextFormat.RichText)
        self.body.setWordWrap(True)
        self.body.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.body)
        self.lines: list[str] = []
        self.hide()

    def set_rows(self, rows: Sequence[Sequence[tuple[str, bool]]]) -> None:
        """One row per comparison: each answer's summary and whether it was kept."""
        from html import escape  # here: html.entities is not needed before the first paint

        self.lines, shown = [], []
        for number, answers in enumerate(rows, 1):
            texts = [("✓ " if kept else "") + text for text, kept in answers]
            self.lines.append(f"{number}. " + "  |  ".join(texts))
            marked = [f"<b>{escape(t)}</b>" if kept else escape(t)
                      for t, (_, kept) in zip(texts, answers, strict=True)]
            shown.append(f"{number}. " + " &nbsp;|&nbsp; ".join(marked))
        self.body.setText("<br>".join(shown))
        self.setVisible(bool(rows))
