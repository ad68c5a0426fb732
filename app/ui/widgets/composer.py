"""The composer: the text box, attachment tray, effort and model selectors, Send ↔ Stop.

It only emits what the user asked for; the window's controllers do the work. Enter sends,
Shift+Enter inserts a new line, and an Enter that commits an input-method composition (CJK
input) is left to the input method: sending half-typed text would be a nasty surprise.
"""

from __future__ import annotations

from PySide6.QtCore import QMimeData, Qt, Signal
from PySide6.QtGui import QInputMethodEvent, QKeyEvent
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.templates.model import Template
from app.ui.widgets.attachment_tray import AttachmentTray
from app.ui.widgets.drop_overlay import media_from_mime

EFFORTS = (
    ("low", "Low", "Quick answers, simple Q&A"),
    ("medium", "Medium", "Default recommendation: balanced thinking"),
    ("high", "High", "Math, planning and code: thinks longest"),
)
DEFAULT_MODEL = "step-3.7-flash"
MIN_LINES, MAX_LINES = 2, 8


class ComposerEdit(QPlainTextEdit):
    """Multi-line input with chat key bindings; pastes of media are handed to the composer.

    Signals:
        submit(): Enter without Shift, outside an input-method composition.
        escape(): Esc pressed (stops a running reply).
        media_pasted(object): a `MimeMedia` from Ctrl+V.
    """

    submit = Signal()
    escape = Signal()
    media_pasted = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._preedit = ""
        # Drops are handled by the window (overlay, same rules everywhere), not here.
        self.setAcceptDrops(False)
        self.setTabChangesFocus(True)
        self.textChanged.connect(self._fit_height)
        self._fit_height()

    def _fit_height(self) -> None:
        """Grow with the text from 2 to 8 lines, so the conversation keeps the room."""
        lines = max(MIN_LINES, min(MAX_LINES, int(self.document().size().height())))
        margins = self.contentsMargins()
        frame = 2 * self.frameWidth() + margins.top() + margins.bottom()
        doc_margin = 2 * int(self.document().documentMargin())
        self.setFixedHeight(lines * self.fontMetrics().lineSpacing() + frame + doc_margin + 2)

    def inputMethodEvent(self, event: QInputMethodEvent) -> None:
        self._preedit = event.preeditString()
        super().inputMethodEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            shift = event.modifiers() & Qt.KeyboardModifier.ShiftModifier
            if not shift and not self._preedit:
                event.accept()
                self.submit.emit()
                return
        elif key == Qt.Key.Key_Escape and not self._preedit:
            event.accept()
            self.escape.emit()
            return
        super().keyPressEvent(event)

    def canInsertFromMimeData(self, source: QMimeData) -> bool:
        return bool(media_from_mime(source)) or super().canInsertFromMimeData(source)

    def insertFromMimeData(self, source: QMimeData) -> None:
        media = media_from_mime(source)
        if media:
            self.media_pasted.emit(media)
        else:
            super().insertFromMimeData(source)


class Composer(QWidget):
    """Input area at the bottom of the conversation pane.

    Signals:
        send_requested(str): the text to send (attachments live in the tray).
        stop_requested(): Stop pressed (button or Esc) while busy.
        media_pasted(object): `MimeMedia` pasted into the text box.
        attach_requested(): the Attach button.
        capture_requested(): the Capture button.
        template_requested(): the Template button (the window opens the picker).
        effort_changed(str): "low" | "medium" | "high", chosen by the user.
        model_changed(str): a model id, chosen by the user.
    """

    send_requested = Signal(str)
    stop_requested = Signal()
    media_pasted = Signal(object)
    attach_requested = Signal()
    capture_requested = Signal()
    template_requested = Signal()
    effort_changed = Signal(str)
    model_changed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._busy = False
        self._template: Template | None = None
        self.tray = AttachmentTray()
        self.edit = ComposerEdit()
        self.edit.setAccessibleName("Message")
        self.edit.setPlaceholderText(
            "Ask anything. Drop, paste or capture images and videos. "
            "Enter sends, Shift+Enter adds a line.")
        self.edit.submit.connect(self._on_submit)
        self.edit.escape.connect(self._on_escape)
        self.edit.media_pasted.connect(self.media_pasted)

        self.attach_button = QToolButton()
        self.attach_button.setText("Attach…")
        self.attach_button.setAccessibleName("Attach files")
        self.attach_button.setToolTip("Attach images or videos (Ctrl+O)")
        self.attach_button.clicked.connect(self.attach_requested)
        self.capture_button = QToolButton()
        self.capture_button.setText("Capture")
        self.capture_button.setAccessibleName("Capture screen region")
        self.capture_button.setToolTip("Capture a region of the screen (Ctrl+Shift+S)")
        self.capture_button.clicked.connect(self.capture_requested)
        self.template_button = QToolButton()
        self.template_button.setText("Template…")
        self.template_button.setAccessibleName("Use a task template")
        self.template_button.setToolTip("Receipt → table, screenshot → code, … (Ctrl+T)")
        self.template_button.clicked.connect(self.template_requested)
        # The template in use for the next turn: its name, its effort, what it still needs.
        self.template_label = QLabel()
        self.template_label.setAccessibleName("Template for this turn")
        self.template_label.setWordWrap(True)
        self.template_label.setToolTip("The template's effort is used for this turn only; "
                                       "the effort selector keeps its setting.")
        self.template_clear = QToolButton()
        self.template_clear.setText("✕")
        self.template_clear.setAccessibleName("Stop using the template")
        self.template_clear.setToolTip("Stop using the template (keeps the text)")
        self.template_clear.clicked.connect(lambda: self.set_template(None))
        self.template_bar = QWidget()
        bar = QHBoxLayout(self.template_bar)
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addWidget(self.template_label, 1)
        bar.addWidget(self.template_clear)
        self.template_bar.hide()

        self.effort = QComboBox()
        self.effort.setAccessibleName("Reasoning effort")
        self.effort.setToolTip("How long the model thinks before answering")
        for value, label, tip in EFFORTS:
            self.effort.addItem(f"Effort: {label}", value)
            self.effort.setItemData(self.effort.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
        self.effort.setCurrentIndex(1)
        self.effort.activated.connect(
            lambda i: self.effort_changed.emit(self.effort.itemData(i)))

        self.model = QComboBox()
        self.model.setAccessibleName("Model")
        self.model.setToolTip("Model")
        self.model.addItem(DEFAULT_MODEL)
        self.model.activated.connect(lambda i: self.model_changed.emit(self.model.itemText(i)))

        self.send_button = QPushButton("Send")
        self.send_button.setAccessibleName("Send")
        self.send_button.setDefault(False)
        self.send_button.clicked.connect(self._on_button)

        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.attach_button)
        row.addWidget(self.capture_button)
        row.addWidget(self.template_button)
        row.addStretch(1)
        row.addWidget(self.model)
        row.addWidget(self.effort)
        row.addWidget(self.send_button)
        col = QVBoxLayout(self)
        col.setContentsMargins(8, 4, 8, 8)
        col.addWidget(self.tray)
        col.addWidget(self.template_bar)
        col.addWidget(self.edit)
        col.addLayout(row)
        self.setFocusProxy(self.edit)

    # --- state -------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self._busy

    def set_busy(self, busy: bool) -> None:
        """Swap Send ↔ Stop; the text box stays editable so the next question can be typed."""
        self._busy = busy
        self.send_button.setText("Stop" if busy else "Send")
        self.send_button.setAccessibleName("Stop" if busy else "Send")
        self.send_button.setToolTip("Stop the reply (Esc)" if busy else "Send (Enter)")

    def current_effort(self) -> str:
        return str(self.effort.currentData())

    def set_effort(self, effort: str) -> None:
        index = self.effort.findData(effort)
        if index >= 0:
            self.effort.setCurrentIndex(index)

    def current_model(self) -> str:
        return self.model.currentText() or DEFAULT_MODEL

    def set_models(self, models: list[str], current: str) -> None:
        names = list(dict.fromkeys([*models, current] if current else models)) or [DEFAULT_MODEL]
        self.model.blockSignals(True)
        self.model.clear()
        self.model.addItems(names)
        self.model.setCurrentText(current if current in names else names[0])
        self.model.blockSignals(False)

    def text(self) -> str:
        return self.edit.toPlainText()

    @property
    def template(self) -> Template | None:
        """The template the next send uses (its effort overrides the selector, once)."""
        return self._template

    def set_template(self, template: Template | None) -> None:
        """Use `template` for the next turn: its prompt goes first in the text box (the
        user's own words, if any, after it); None stops using one and keeps the text."""
        old, self._template = self._template, template
        self.template_bar.setVisible(template is not None)
        if template is None:
            return
        own = self.text()
        if old is not None:
            own = own.removeprefix(old.prompt)
        self.set_text(template.compose(own))
        self.set_template_hint("")

    def set_template_hint(self, hint: str) -> None:
        """Show the template with its turn-only effort and `hint` (e.g. which media to add)."""
        t = self._template
        if t is None:
            return
        effort = dict((v, label) for v, label, _tip in EFFORTS).get(t.effort, t.effort)
        text = f"{t.icon} {t.name} · Effort: {effort} (template)".strip()
        self.template_label.setText(f"{text} · {hint}" if hint else text)

    def set_text(self, text: str) -> None:
        self.edit.setPlainText(text)

    # --- slots -------------------------------------------------------------------------
    def _on_submit(self) -> None:
        if self._busy:
            return
        self.send_requested.emit(self.edit.toPlainText())

    def _on_escape(self) -> None:
        if self._busy:
            self.stop_requested.emit()

    def _on_button(self) -> None:
        if self._busy:
            self.stop_requested.emit()
        else:
            self._on_submit()
