"""The composer: one rounded card holding the attachments, the text box and a row of controls.

It only emits what the user asked for; the window's controllers do the work. Enter sends,
Shift+Enter inserts a new line, and an Enter that commits an input-method composition (CJK
input) is left to the input method: sending half-typed text would be a nasty surprise.

The row inside the card: attach, capture and templates as icon buttons, then the model as a
compact chip, the reasoning effort as an always-visible segmented control and Send as an icon
button that turns into Stop while a reply streams.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from PySide6.QtCore import QMimeData, QSize, Qt, Signal
from PySide6.QtGui import QAction, QActionGroup, QInputMethodEvent, QKeyEvent, QResizeEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPlainTextEdit,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.ui.style.glyphs import labelled
from app.ui.style.icons import icon
from app.ui.widgets.attachment_tray import AttachmentTray
from app.ui.widgets.drop_overlay import media_from_mime
from app.ui.widgets.effort_control import EFFORT_CHOICES, EFFORT_LABELS, EffortControl

if TYPE_CHECKING:
    from app.templates.model import Template

EFFORTS = EFFORT_CHOICES
DEFAULT_MODEL = "step-3.7-flash"
MIN_LINES, MAX_LINES = 1, 10
ICON_SIZE = QSize(18, 18)


def icon_button(name: str, tip: str, accessible: str, parent: QWidget | None = None
                ) -> QToolButton:
    """An icon-only button with its tooltip (shortcut included) and an accessible name."""
    button = QToolButton(parent)
    button.setIcon(icon(name))
    button.setIconSize(ICON_SIZE)
    button.setToolTip(tip)
    button.setAccessibleName(accessible)
    button.setAccessibleDescription(tip)
    button.setProperty("role", "icon")
    button.setAutoRaise(True)
    button.setFocusPolicy(Qt.FocusPolicy.TabFocus)
    return button


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
        """Grow with the text from 1 to 10 lines, then scroll, so the conversation keeps room."""
        lines = self.visible_lines()
        margins = self.contentsMargins()
        frame = 2 * self.frameWidth() + margins.top() + margins.bottom()
        doc_margin = 2 * int(self.document().documentMargin())
        self.setFixedHeight(lines * self.fontMetrics().lineSpacing() + frame + doc_margin + 2)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_height()  # a narrower box wraps into more lines

    def visible_lines(self) -> int:
        """How many lines of text the box shows without scrolling (1 to `MAX_LINES`)."""
        return max(MIN_LINES, min(MAX_LINES, int(self.document().size().height())))

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
        compare_requested(list): the Compare button (or one of its menu's effort sets):
            answer this text at each of these efforts, side by side.
    """

    send_requested = Signal(str)
    stop_requested = Signal()
    media_pasted = Signal(object)
    attach_requested = Signal()
    capture_requested = Signal()
    template_requested = Signal()
    effort_changed = Signal(str)
    model_changed = Signal(str)
    compare_requested = Signal(list)

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

        self.edit.setFrameShape(QFrame.Shape.NoFrame)
        self.edit.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)

        self.attach_button = icon_button("paperclip", "Attach images or videos (Ctrl+O)",
                                         "Attach files")
        self.attach_button.clicked.connect(self.attach_requested)
        self.capture_button = icon_button("scan-line",
                                          "Capture a region of the screen (Ctrl+Shift+S)",
                                          "Capture screen region")
        self.capture_button.clicked.connect(self.capture_requested)
        self.template_button = icon_button("layout-template",
                                           "Use a task template: receipt → table, "
                                           "screenshot → code, … (Ctrl+T)",
                                           "Use a task template")
        self.template_button.clicked.connect(self.template_requested)
        # The template in use for the next turn: its name, its effort, what it still needs.
        self.template_label = QLabel()
        self.template_label.setAccessibleName("Template for this turn")
        self.template_label.setWordWrap(True)
        self.template_label.setToolTip("The template's effort is used for this turn only; "
                                       "the effort selector keeps its setting.")
        self.template_clear = icon_button("x", "Stop using the template (keeps the text)",
                                          "Stop using the template")
        self.template_clear.clicked.connect(self._clear_template)
        self.template_bar = QWidget()
        bar = QHBoxLayout(self.template_bar)
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addWidget(self.template_label, 1)
        bar.addWidget(self.template_clear)
        self.template_bar.hide()

        self.effort = EffortControl()
        self.effort.effort_changed.connect(self.effort_changed)

        self.model = QToolButton()
        self.model.setProperty("role", "chip")
        self.model.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.model.setAccessibleName("Model")
        self.model.setToolTip("The model that answers")
        self.model.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        self._model_menu = QMenu(self.model)
        self._model_group = QActionGroup(self._model_menu)
        self._model_group.triggered.connect(self._model_chosen)
        self.model.setMenu(self._model_menu)
        self.set_models([], DEFAULT_MODEL)

        self.send_button = icon_button("arrow-up", "Send (Enter)", "Send")
        self.send_button.setText("Send")
        self.send_button.setProperty("role", "primary")
        self.send_button.setAutoRaise(False)
        self.send_button.setIconSize(QSize(18, 18))
        self.send_button.clicked.connect(self._on_button)

        self.compare_button = QToolButton()
        self.compare_button.setText("Compare")
        self.compare_button.setIcon(icon("columns-3"))
        self.compare_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.compare_button.setProperty("role", "chip")
        self.compare_button.setAccessibleName("Compare efforts")
        self.compare_button.setToolTip("Send at several efforts at once and compare the "
                                       "answers side by side (Ctrl+Shift+Enter)")
        self.compare_button.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        self.compare_button.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)
        self.compare_button.clicked.connect(self._on_compare)
        self._compare_sets: list[tuple[str, list[str]]] = [
            ("Low, medium and high", ["low", "medium", "high"])]

        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(4)
        row.addWidget(self.attach_button)
        row.addWidget(self.capture_button)
        row.addWidget(self.template_button)
        row.addStretch(1)
        row.addWidget(self.model)
        row.addSpacing(6)
        row.addWidget(self.effort)
        row.addSpacing(6)
        row.addWidget(self.compare_button)
        row.addWidget(self.send_button)
        self.card = QFrame()
        self.card.setObjectName("composer-card")
        self.card.setProperty("role", "card")
        inner = QVBoxLayout(self.card)
        inner.setContentsMargins(10, 8, 10, 8)
        inner.setSpacing(6)
        inner.addWidget(self.tray)
        inner.addWidget(self.template_bar)
        inner.addWidget(self.edit)
        inner.addLayout(row)
        col = QVBoxLayout(self)
        col.setContentsMargins(12, 4, 12, 12)
        col.addWidget(self.card)
        self.setFocusProxy(self.edit)

    # --- state -------------------------------------------------------------------------
    def set_compare_sets(self, sets: list[tuple[str, list[str]]]) -> None:
        """The Compare button's menu: (label, efforts) per entry; a click uses the first."""
        self._compare_sets = list(sets)
        menu = QMenu(self.compare_button)
        for label, efforts in sets:
            action = menu.addAction(label)
            action.triggered.connect(partial(self._emit_compare, list(efforts)))
        self.compare_button.setMenu(menu)

    def _on_compare(self) -> None:
        if self._compare_sets:
            self.compare_requested.emit(list(self._compare_sets[0][1]))

    def _emit_compare(self, efforts: list[str], _checked: bool = False) -> None:
        self.compare_requested.emit(efforts)

    @property
    def busy(self) -> bool:
        return self._busy

    def set_busy(self, busy: bool) -> None:
        """Swap Send ↔ Stop; the text box stays editable so the next question can be typed."""
        self._busy = busy
        label = "Stop" if busy else "Send"
        tip = "Stop the reply (Esc)" if busy else "Send (Enter)"
        self.send_button.setText(label)
        self.send_button.setIcon(icon("square" if busy else "arrow-up"))
        self.send_button.setAccessibleName(label)
        self.send_button.setAccessibleDescription(tip)
        self.send_button.setToolTip(tip)

    def current_effort(self) -> str:
        return self.effort.effort()

    def set_effort(self, effort: str) -> None:
        self.effort.set_effort(effort)

    def current_model(self) -> str:
        checked = self._model_group.checkedAction()
        return checked.text() if checked is not None else DEFAULT_MODEL

    def set_models(self, models: list[str], current: str) -> None:
        names = list(dict.fromkeys([*models, current] if current else models)) or [DEFAULT_MODEL]
        chosen = current if current in names else names[0]
        self._model_menu.clear()
        for action in self._model_group.actions():
            self._model_group.removeAction(action)
        for name in names:
            action = QAction(name, self._model_menu)
            action.setCheckable(True)
            action.setChecked(name == chosen)
            self._model_group.addAction(action)
            self._model_menu.addAction(action)
        self._show_model(chosen)

    def _show_model(self, name: str) -> None:
        self.model.setText(name)
        self.model.setAccessibleDescription(f"Model: {name}")

    def _model_chosen(self, action: QAction) -> None:
        self._show_model(action.text())
        self.model_changed.emit(action.text())

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
        effort = EFFORT_LABELS.get(t.effort, t.effort)
        text = f"{labelled(t.icon, t.name)} · Effort: {effort} (template)"
        self.template_label.setText(f"{text} · {hint}" if hint else text)

    def set_text(self, text: str) -> None:
        self.edit.setPlainText(text)

    # --- slots -------------------------------------------------------------------------
    def _clear_template(self) -> None:
        self.set_template(None)

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
