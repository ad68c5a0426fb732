"""The welcome screen of a new conversation: something to click, not two lines of grey text.

Template tiles as cards (a click picks the template; then drop or paste the media), the three
ways to bring media with their shortcuts, and — while no API key is set — what to do about it
with a button that opens Settings at the key field.

Signals:
    template_chosen(str): a template card was clicked (its slug).
    attach_requested(), capture_requested(): the "Attach" / "Capture" ways were clicked.
    key_requested(): "Set API key".
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import TYPE_CHECKING

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QFont, QResizeEvent
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.ui.style.glyphs import labelled
from app.ui.style.icons import icon

if TYPE_CHECKING:
    from app.templates.model import Template

CARD_COLUMNS = 3
MAX_CARDS = 6


class WelcomeScreen(QScrollArea):
    template_chosen = Signal(str)
    attach_requested = Signal()
    capture_requested = Signal()
    key_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setFrameShape(QScrollArea.Shape.NoFrame)
        self.setAccessibleName("Welcome")
        page = QWidget()
        page.setObjectName("welcome-page")
        self.setWidget(page)
        col = QVBoxLayout(page)
        col.setContentsMargins(24, 24, 24, 24)
        col.setSpacing(14)
        col.addStretch(1)
        title = QLabel("What do you want to show Step?")
        font = QFont(title.font())
        font.setPointSizeF(font.pointSizeF() * 1.5)
        font.setBold(True)
        title.setFont(font)
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        title.setAccessibleName("Welcome")
        col.addWidget(title)

        self.key_note = QWidget()
        key_row = QHBoxLayout(self.key_note)
        key_row.setContentsMargins(0, 0, 0, 0)
        key_label = QLabel("Step Desk needs your StepFun API key before it can answer.")
        key_label.setProperty("role", "warning")
        key_label.setWordWrap(True)
        self.key_button = QPushButton("Set API key")
        self.key_button.setAccessibleName("Set API key")
        self.key_button.setIcon(icon("key-round"))
        self.key_button.clicked.connect(self.key_requested)
        key_row.addStretch(1)
        key_row.addWidget(key_label)
        key_row.addWidget(self.key_button)
        key_row.addStretch(1)
        self.key_note.hide()
        col.addWidget(self.key_note)

        ways = QHBoxLayout()
        ways.addStretch(1)
        self.attach_way = self._way("paperclip", "Attach or drop files", "Drop here or Ctrl+O",
                                    "Drop images and videos anywhere, or press Ctrl+O")
        self.attach_way.clicked.connect(self.attach_requested)
        self.paste_way = self._way("copy", "Paste a screenshot", "Copy, then Ctrl+V",
                                   "Copy an image anywhere, then press Ctrl+V here")
        self.paste_way.setEnabled(False)  # a hint: pasting happens in the message box
        self.capture_way = self._way("scan-line", "Capture the screen", "Ctrl+Shift+S",
                                     "Pick a region of the screen: Ctrl+Shift+S")
        self.capture_way.clicked.connect(self.capture_requested)
        for way in (self.attach_way, self.paste_way, self.capture_way):
            ways.addWidget(way)
        ways.addStretch(1)
        col.addLayout(ways)

        self.cards_title = QLabel("Or start from a task")
        self.cards_title.setProperty("role", "muted")
        self.cards_title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        col.addWidget(self.cards_title)
        cards_row = QHBoxLayout()
        cards_row.addStretch(1)
        self._cards = QGridLayout()
        self._cards.setSpacing(10)
        cards_row.addLayout(self._cards)
        cards_row.addStretch(1)
        col.addLayout(cards_row)
        col.addStretch(2)
        self.cards: list[QToolButton] = []
        self._columns = 0

    @staticmethod
    def _way(name: str, title: str, hint: str, tip: str) -> QToolButton:
        """A tile: icon, title and a hint short enough never to be elided at the tile's
        minimum width (a tool button cannot wrap); the whole sentence is its tooltip."""
        button = QToolButton()
        button.setIcon(icon(name))
        button.setIconSize(QSize(28, 28))
        button.setText(f"{title}\n{hint}")
        button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextUnderIcon)
        button.setProperty("role", "chip")
        button.setToolTip(tip)
        button.setAccessibleName(title)
        button.setAccessibleDescription(tip)
        button.setMinimumWidth(200)
        return button

    def set_templates(self, templates: Sequence[Template]) -> None:
        """Cards for the pinned templates first, then the others, at most `MAX_CARDS`."""
        for card in self.cards:
            self._cards.removeWidget(card)
            card.deleteLater()
        self.cards = []
        ordered = sorted(templates, key=lambda t: not t.pinned)[:MAX_CARDS]
        for template in ordered:
            card = QToolButton()
            card.setProperty("role", "chip")
            card.setProperty("slug", template.slug)
            card.setText(labelled(template.icon, template.name))
            card.setToolTip(f"{template.name}: then drop or paste the media")
            card.setAccessibleName(f"Template {template.name}")
            card.setMinimumWidth(200)
            card.clicked.connect(partial(self.template_chosen.emit, template.slug))
            self.cards.append(card)
        self._columns = 0
        self._place_cards()
        self.cards_title.setVisible(bool(self.cards))

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._place_cards()

    def _place_cards(self) -> None:
        """As many columns (up to `CARD_COLUMNS`) as fit whole cards: a narrow window gets
        two rows of two rather than three cards squeezed until their names are elided."""
        if not self.cards:
            return
        spacing = self._cards.spacing()
        widest = max(card.sizeHint().width() for card in self.cards) + spacing
        room = self.viewport().width() - 48  # the page's side margins
        columns = max(1, min(CARD_COLUMNS, len(self.cards), (room + spacing) // widest))
        if columns == self._columns:
            return
        self._columns = columns
        for card in self.cards:
            self._cards.removeWidget(card)
        for n, card in enumerate(self.cards):
            self._cards.addWidget(card, n // columns, n % columns)

    def set_key_missing(self, missing: bool) -> None:
        self.key_note.setVisible(missing)
