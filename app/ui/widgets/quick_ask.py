"""The quick-ask panel: a small always-on-top window next to a capture, to ask about it.

It only shows and emits; `app/ui/controllers/quick_ask.py` sends, streams and decides.
Layout, top to bottom: the capture's thumbnail (click to enlarge) and the attachment tray,
"new conversation / add to that conversation" when both make sense, the pinned template
tiles, the prompt (focused; Enter sends), the effort selector with Send/Stop, a note line,
and the answer (thinking collapsible, Markdown, Copy, "Continue in Step Desk").

Signals:
    send_requested(str, str, str): prompt, effort, template slug ("" for none).
    stop_requested(): Stop pressed while an answer streams.
    continue_requested(): "Continue in Step Desk".
    media_given(object): a `MimeMedia` pasted or dropped on the panel.
    target_changed(bool): True when "add to that conversation" is chosen.
    dismissed(): Esc or the close button (the conversation is kept).
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QPoint, QRect, QSize, Qt, Signal
from PySide6.QtGui import (
    QDragEnterEvent,
    QDropEvent,
    QGuiApplication,
    QImage,
    QKeyEvent,
    QMouseEvent,
    QPixmap,
)
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.ui.widgets.attachment_tray import AttachmentTray
from app.ui.widgets.composer import EFFORTS, ComposerEdit
from app.ui.widgets.drop_overlay import media_from_mime

THUMB = QSize(320, 180)
PANEL_WIDTH = 460
GAP = 12
TILE_COLUMNS = 3


class Thumbnail(QLabel):
    """The capture, scaled to fit; a click asks for the full-size view."""

    clicked = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.setAccessibleName("Capture preview (click to enlarge)")
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setToolTip("Click to see it at full size")

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.clicked.emit()


class QuickAskPanel(QWidget):
    """See the module docstring."""

    send_requested = Signal(str, str, str)
    stop_requested = Signal()
    continue_requested = Signal()
    media_given = Signal(object)
    target_changed = Signal(bool)
    dismissed = Signal()

    def __init__(self) -> None:
        flags = Qt.WindowType
        super().__init__(None, flags.Tool | flags.WindowStaysOnTopHint | flags.FramelessWindowHint)
        self.setObjectName("quickAsk")
        self.setWindowTitle("Step Desk — Quick ask")
        self.setAccessibleName("Quick ask")
        self.setAcceptDrops(True)
        self.setFixedWidth(PANEL_WIDTH)
        self._busy = False
        self._image: QImage | None = None
        self._answer_text = ""
        self._enlarged: QLabel | None = None

        self.thumbnail = Thumbnail()
        self.thumbnail.clicked.connect(self._enlarge)
        self.thumbnail.hide()
        self.tray = AttachmentTray()

        self.new_choice = QRadioButton("New conversation")
        self.add_choice = QRadioButton("Add to that conversation")
        self.add_choice.setAccessibleName("Add to the last quick-ask conversation")
        self._choices = QButtonGroup(self)
        self._choices.addButton(self.new_choice)
        self._choices.addButton(self.add_choice)
        self.new_choice.setChecked(True)
        self.add_choice.toggled.connect(self.target_changed)
        self.choice_row = QWidget()
        row = QHBoxLayout(self.choice_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.new_choice)
        row.addWidget(self.add_choice)
        row.addStretch(1)
        self.choice_row.hide()

        self.tiles_row = QWidget()
        self._tiles = QGridLayout(self.tiles_row)  # rows of TILE_COLUMNS: names stay whole
        self._tiles.setContentsMargins(0, 0, 0, 0)
        self._tiles.setSpacing(4)
        self.tiles_row.hide()

        self.prompt = ComposerEdit()
        self.prompt.setAccessibleName("Question")
        self.prompt.setPlaceholderText("Ask about it… Enter sends, Esc closes.")
        self.prompt.submit.connect(self._on_submit)
        self.prompt.escape.connect(self.dismissed)
        self.prompt.media_pasted.connect(self.media_given)

        self.effort = QComboBox()
        self.effort.setAccessibleName("Reasoning effort")
        for value, label, tip in EFFORTS:
            self.effort.addItem(f"Effort: {label}", value)
            self.effort.setItemData(self.effort.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
        self.effort.setCurrentIndex(1)
        self.send_button = QPushButton("Send")
        self.send_button.setAccessibleName("Send")
        self.send_button.clicked.connect(self._on_button)
        close = QToolButton()
        close.setText("✕")
        close.setAccessibleName("Close quick ask")
        close.setToolTip("Close (Esc); the conversation is kept")
        close.clicked.connect(self.dismissed)
        controls = QHBoxLayout()
        controls.addWidget(self.effort)
        controls.addStretch(1)
        controls.addWidget(self.send_button)
        controls.addWidget(close)

        self.note = QLabel()
        self.note.setAccessibleName("Quick ask note")
        self.note.setWordWrap(True)
        self.note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.note.hide()

        self.thinking_toggle = QToolButton()
        self.thinking_toggle.setCheckable(True)
        self.thinking_toggle.setAutoRaise(True)
        self.thinking_toggle.setText("Thinking ▸")
        self.thinking_toggle.setAccessibleName("Show or hide the model's reasoning")
        self.thinking_toggle.toggled.connect(self._toggle_thinking)
        self.thinking_toggle.hide()
        self.thinking = QPlainTextEdit()
        self.thinking.setReadOnly(True)
        self.thinking.setAccessibleName("Reasoning")
        self.thinking.setMaximumHeight(120)
        self.thinking.hide()
        self.answer = QPlainTextEdit()  # replaced by the Markdown view once one is given
        self.answer.hide()
        self.copy_button = QToolButton()
        self.copy_button.setText("Copy")
        self.copy_button.setAccessibleName("Copy the answer")
        self.copy_button.clicked.connect(self._copy)
        self.continue_button = QToolButton()
        self.continue_button.setText("Continue in Step Desk")
        self.continue_button.setAccessibleName("Continue in Step Desk")
        self.continue_button.clicked.connect(self.continue_requested)
        self.answer_bar = QWidget()
        bar = QHBoxLayout(self.answer_bar)
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addStretch(1)
        bar.addWidget(self.copy_button)
        bar.addWidget(self.continue_button)
        self.answer_bar.hide()

        self._col = QVBoxLayout(self)
        self._col.setContentsMargins(10, 10, 10, 10)
        self._col.setSpacing(6)
        for widget in (self.thumbnail, self.tray, self.choice_row, self.tiles_row, self.prompt):
            self._col.addWidget(widget)
        self._col.addLayout(controls)
        for widget in (self.note, self.thinking_toggle, self.thinking, self.answer,
                       self.answer_bar):
            self._col.addWidget(widget)
        self.setFocusProxy(self.prompt)
        self.setStyleSheet("#quickAsk { border: 1px solid palette(mid); }")

    # --- setters ---------------------------------------------------------------------------
    def set_image(self, image: QImage | None) -> None:
        """Show a capture's thumbnail (None hides it: quick ask without a capture)."""
        self._image = image
        if image is None or image.isNull():
            self.thumbnail.hide()
            return
        small = image.scaled(THUMB, Qt.AspectRatioMode.KeepAspectRatio,
                             Qt.TransformationMode.SmoothTransformation)
        self.thumbnail.setPixmap(QPixmap.fromImage(small))
        self.thumbnail.show()

    def set_templates(self, tiles: Sequence[tuple[str, str]]) -> None:
        """Pinned templates as one-click tiles: (slug, label) each."""
        while self._tiles.count():
            item = self._tiles.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        for index, (slug, label) in enumerate(tiles):
            tile = QToolButton()
            tile.setText(label)
            tile.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            tile.setAccessibleName(f"Ask with template {label}")
            tile.setToolTip("Send now with this template")
            tile.setProperty("slug", slug)
            tile.clicked.connect(self._on_tile)
            self._tiles.addWidget(tile, index // TILE_COLUMNS, index % TILE_COLUMNS)
        self.tiles_row.setVisible(bool(tiles))

    def offer_add_to_last(self, title: str | None) -> None:
        """Offer "add to that conversation" (titled) besides "new"; None offers only new."""
        self.new_choice.setChecked(True)
        self.choice_row.setVisible(title is not None)
        if title is not None:
            self.add_choice.setText(f"Add to “{title}”" if title else "Add to that conversation")

    def adds_to_last(self) -> bool:
        return self.choice_row.isVisible() and self.add_choice.isChecked()

    def set_effort(self, effort: str) -> None:
        index = self.effort.findData(effort)
        if index >= 0:
            self.effort.setCurrentIndex(index)

    def set_note(self, text: str) -> None:
        self.note.setText(text)
        self.note.setVisible(bool(text))

    def set_busy(self, busy: bool) -> None:
        self._busy = busy
        self.send_button.setText("Stop" if busy else "Send")
        self.send_button.setAccessibleName("Stop" if busy else "Send")

    @property
    def busy(self) -> bool:
        return self._busy

    def set_answer_view(self, view: QWidget) -> None:
        """Put the Markdown view (built by the controller) where the answer goes."""
        index = self._col.indexOf(self.answer)
        self._col.removeWidget(self.answer)
        self.answer.deleteLater()
        self.answer = view  # type: ignore[assignment]
        self._col.insertWidget(index, view)
        view.hide()

    def begin_answer(self) -> None:
        self._answer_text = ""
        self.thinking.clear()
        self.thinking_toggle.hide()
        self.thinking_toggle.setChecked(False)
        self.answer.show()
        self.answer_bar.hide()

    def add_thinking(self, text: str) -> None:
        self.thinking_toggle.show()
        self.thinking.moveCursor(self.thinking.textCursor().MoveOperation.End)
        self.thinking.insertPlainText(text)

    def add_answer_text(self, text: str) -> None:
        """Keep the plain answer for Copy (the view shows it)."""
        self._answer_text += text

    def answer_text(self) -> str:
        return self._answer_text

    def end_answer(self) -> None:
        self.answer_bar.show()

    def reset(self) -> None:
        """Ready for a new question: empty prompt and answer, no note."""
        self.prompt.setPlainText("")
        self.set_note("")
        self.answer.hide()
        self.answer_bar.hide()
        self.thinking.hide()
        self.thinking_toggle.hide()
        self._answer_text = ""

    def place_near(self, where: QRect) -> None:
        """Beside the capture (right, else left, else below), kept on its screen."""
        self.adjustSize()
        screen = QGuiApplication.screenAt(where.center()) or QGuiApplication.primaryScreen()
        area = screen.availableGeometry()
        size = self.sizeHint().expandedTo(self.minimumSizeHint())
        if where.isNull():
            at = area.center() - QPoint(size.width() // 2, size.height() // 2)
        elif where.right() + GAP + size.width() <= area.right():
            at = QPoint(where.right() + GAP, where.top())
        elif where.left() - GAP - size.width() >= area.left():
            at = QPoint(where.left() - GAP - size.width(), where.top())
        else:
            at = QPoint(where.left(), where.bottom() + GAP)
        at.setX(max(area.left(), min(at.x(), area.right() - size.width())))
        at.setY(max(area.top(), min(at.y(), area.bottom() - size.height())))
        self.move(at)

    # --- events ----------------------------------------------------------------------------
    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.dismissed.emit()
        else:
            super().keyPressEvent(event)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if media_from_mime(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        media = media_from_mime(event.mimeData())
        if media:
            event.acceptProposedAction()
            self.media_given.emit(media)

    # --- internals -------------------------------------------------------------------------
    def _on_submit(self) -> None:
        if not self._busy:
            self.send_requested.emit(self.prompt.toPlainText(), self.effort.currentData(), "")

    def _on_button(self) -> None:
        if self._busy:
            self.stop_requested.emit()
        else:
            self._on_submit()

    def _on_tile(self) -> None:
        tile = self.sender()
        if tile is not None and not self._busy:
            self.send_requested.emit(self.prompt.toPlainText(), self.effort.currentData(),
                                     str(tile.property("slug")))

    def _toggle_thinking(self, shown: bool) -> None:
        self.thinking.setVisible(shown)
        self.thinking_toggle.setText("Thinking ▾" if shown else "Thinking ▸")
        self.adjustSize()

    def _copy(self) -> None:
        QGuiApplication.clipboard().setText(self._answer_text)

    def _enlarge(self) -> None:
        if self._image is None:
            return
        screen = self.screen().availableGeometry().size() * 0.9
        view = QLabel()
        view.setWindowFlags(Qt.WindowType.Tool | Qt.WindowType.WindowStaysOnTopHint)
        view.setWindowTitle("Capture")
        view.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        view.setPixmap(QPixmap.fromImage(self._image.scaled(
            screen, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)
            if self._image.width() > screen.width() or self._image.height() > screen.height()
            else self._image))
        view.show()
        self._enlarged = view
