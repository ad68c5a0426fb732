"""The image editor: mark what you mean, black out what must not leave the machine.

A non-modal dialog around an `EditCanvas`: tools with one-key shortcuts, a small palette of
colours and widths, undo/redo over every step (a `QUndoStack`), zoom and pan. It produces
the Qt-free step model (`app.media.edit_steps.EditSteps`); intake flattens it. Closing with
changes asks Keep edits / Discard / Cancel through a non-modal box (`open()` and signals,
never `exec()`, which would break a running coroutine).

Signals:
    editsAccepted(object, bool): the steps (EditSteps) and whether to keep the original.
    editsDiscarded(): the user closed the editor without using the edits.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import (
    QCloseEvent,
    QColor,
    QIcon,
    QKeySequence,
    QPixmap,
    QShortcut,
    QShowEvent,
    QUndoCommand,
    QUndoStack,
)
from PySide6.QtWidgets import (
    QApplication,
    QButtonGroup,
    QCheckBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid

from app.media.edit_session import EditSession
from app.media.edit_steps import Callout, EditSteps, Step
from app.safetext import one_line
from app.ui.style.icons import icon
from app.ui.widgets.edit_canvas import EditCanvas, OpenedImage

TOOL_INFO = {  # tool: (label, shortcut, icon)
    "rect": ("Rectangle", "R", "square"),
    "ellipse": ("Ellipse", "E", "circle"),
    "arrow": ("Arrow", "A", "move-up-right"),
    "highlight": ("Highlighter", "H", "highlighter"),
    "text": ("Text label", "T", "type"),
    "callout": ("Numbered marker", "N", "hash"),
    "crop": ("Crop", "C", "crop"),
    "redact": ("Redact (solid black box)", "X", "eraser"),
}
COLOURS = {"Red": "#e53935", "Yellow": "#fdd835", "Green": "#43a047", "Blue": "#1e88e5",
           "Black": "#212121"}
WIDTH_NAMES = ("Thin", "Medium", "Thick")
WIDTH_LETTERS = ("S", "M", "L")


class _SetSteps(QUndoCommand):
    """One user step (add, or label a callout) as an undoable change of the whole list.

    `shown`: the canvas already shows `after` (a step made in an earlier session), so the
    push does not draw it again."""

    def __init__(self, editor: ImageEditor, before: EditSteps, after: EditSteps,
                 text: str, *, shown: bool = False) -> None:
        super().__init__(text)
        self._editor, self._before, self._after = editor, before, after
        self._shown = shown

    def redo(self) -> None:
        if self._shown:
            self._shown = False
            return
        self._editor.apply_steps(self._after)

    def undo(self) -> None:
        self._editor.apply_steps(self._before)


class ImageEditor(QDialog):
    """Edits one image; see the module docstring for the signals."""

    editsAccepted = Signal(object, bool)
    editsDiscarded = Signal()

    def __init__(self, session: EditSession | OpenedImage, name: str, *,
                 keep_original: bool = False, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Edit {one_line(name)}")  # a file name: shown, never obeyed
        self.setAccessibleName(f"Image editor for {one_line(name)}")
        self.setModal(False)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)
        picture = session.picture if isinstance(session, OpenedImage) else None
        if isinstance(session, OpenedImage):
            session = session.session
        self._initial = session.steps
        self._closing = False
        # Where the keys went before the editor opened (the composer): they go back there
        # when it closes, so the user can type the question straight away.
        self._return_focus = QApplication.focusWidget()
        self._ask: QMessageBox | None = None
        self.undo_stack = QUndoStack(self)
        self.canvas = EditCanvas(session, picture=picture)
        self.canvas.stepDrawn.connect(self.add_step)
        self.canvas.labelEntered.connect(self.label_last_callout)
        self.canvas.hint.connect(self.show_hint)
        self.tool_buttons: dict[str, QToolButton] = {}
        self.keep_original = QCheckBox("Keep the unedited original on this computer")
        self.keep_original.setToolTip(
            "Only on this computer, to undo redactions later; it is never uploaded. "
            "Off: redacted pixels exist nowhere once the image is sent.")
        self.keep_original.setChecked(keep_original)
        self.status = QLabel()
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.status.setWordWrap(True)
        self._notes = "; ".join(session.notes)
        self._hint = ""

        layout = QVBoxLayout(self)
        layout.addLayout(self._toolbar())
        layout.addWidget(self.canvas, 1)
        bottom = QHBoxLayout()
        bottom.addWidget(self.status, 1)
        bottom.addWidget(self.keep_original)
        cancel = QPushButton("Cancel")
        cancel.clicked.connect(self.close)
        done = QPushButton("Use edited image")
        done.setToolTip("Use the edited image (Ctrl+Enter)")
        done.clicked.connect(self.keep_edits)
        for button in (cancel, done):  # Enter finishes a label; it must not close the editor
            button.setAutoDefault(False)
        self.done_button = done
        bottom.addWidget(cancel)
        bottom.addWidget(done)
        layout.addLayout(bottom)
        self._shortcuts()
        earlier = self._initial.steps  # reopened: Ctrl+Z walks back through them too
        for count, step in enumerate(earlier, 1):
            self.undo_stack.push(_SetSteps(self, EditSteps(earlier[:count - 1]),
                                           EditSteps(earlier[:count]), f"earlier {step.kind}",
                                           shown=True))
        self.undo_stack.setClean()
        self.undo_stack.indexChanged.connect(self._steps_changed)
        self.select_tool("rect")
        self._show_status()
        self._fit_to_screen(parent)

    def _fit_to_screen(self, parent: QWidget | None) -> None:
        """1100×760, or less on a small or scaled screen (1080p at 150 % has 720 logical
        pixels of height): the buttons along the bottom must stay on the screen."""
        free = (parent or self).screen().availableGeometry()
        self.resize(min(1100, int(free.width() * 0.95)), min(760, int(free.height() * 0.9)))

    # -- building -----------------------------------------------------------------------------

    def _toolbar(self) -> QHBoxLayout:
        bar = QHBoxLayout()
        group = QButtonGroup(self)
        group.setExclusive(True)
        for tool, (label, key, icon_name) in TOOL_INFO.items():
            button = self._button(icon(icon_name), f"{label} ({key})", label)
            button.setCheckable(True)
            button.clicked.connect(partial(self.select_tool, tool))
            group.addButton(button)
            self.tool_buttons[tool] = button
            bar.addWidget(button)
        bar.addSpacing(12)
        self.colour_buttons: dict[str, QToolButton] = {}
        colours = QButtonGroup(self)
        for index, (name, value) in enumerate(COLOURS.items(), 1):
            swatch = QPixmap(QSize(16, 16))
            swatch.fill(QColor(value))
            button = self._button(QIcon(swatch), f"{name} ({index})", f"Colour {name}")
            button.setCheckable(True)
            button.clicked.connect(partial(self.select_colour, value))
            colours.addButton(button)
            self.colour_buttons[value] = button
            bar.addWidget(button)
        bar.addSpacing(12)
        self.width_buttons: list[QToolButton] = []
        widths = QButtonGroup(self)
        for level, name in enumerate(WIDTH_NAMES):
            button = QToolButton()
            button.setText(WIDTH_LETTERS[level])
            button.setToolTip(f"{name} lines and text (Shift+{level + 1})")
            button.setAccessibleName(f"{name} lines and text")
            button.setCheckable(True)
            button.clicked.connect(partial(self.select_width, level))
            widths.addButton(button)
            self.width_buttons.append(button)
            bar.addWidget(button)
        bar.addSpacing(12)
        for icon_name, tip, slot in (
                ("undo-2", "Undo (Ctrl+Z)", self.undo_stack.undo),
                ("redo-2", "Redo (Ctrl+Shift+Z)", self.undo_stack.redo),
                ("zoom-out", "Zoom out (Ctrl+−)", partial(self.canvas.zoom_by, 0.8)),
                ("maximize", "Fit the image in the window (Ctrl+0)", self.canvas.fit),
                ("zoom-in", "Zoom in (Ctrl+=)", partial(self.canvas.zoom_by, 1.25))):
            button = self._button(icon(icon_name), tip, tip.split(" (")[0])
            button.clicked.connect(slot)
            bar.addWidget(button)
        self.colour_buttons[COLOURS["Red"]].setChecked(True)
        self.width_buttons[1].setChecked(True)
        bar.addStretch(1)
        return bar

    @staticmethod
    def _button(glyph: QIcon, tip: str, name: str) -> QToolButton:
        button = QToolButton()
        button.setIcon(glyph)
        button.setToolTip(tip)
        button.setAccessibleName(name)
        button.setAutoRaise(True)
        return button

    def _shortcuts(self) -> None:
        def bind(keys: str, slot: object) -> None:
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(slot)

        for tool, (_label, key, _icon) in TOOL_INFO.items():
            bind(key, partial(self.select_tool, tool))
        for index, value in enumerate(COLOURS.values(), 1):
            bind(str(index), partial(self.select_colour, value))
        for level in range(3):
            bind(f"Shift+{level + 1}", partial(self.select_width, level))
        bind("Ctrl+Z", self.undo_stack.undo)
        bind("Ctrl+Shift+Z", self.undo_stack.redo)
        bind("Ctrl+Y", self.undo_stack.redo)
        bind("Ctrl+=", partial(self.canvas.zoom_by, 1.25))
        bind("Ctrl++", partial(self.canvas.zoom_by, 1.25))
        bind("Ctrl+-", partial(self.canvas.zoom_by, 0.8))
        bind("Ctrl+0", self.canvas.fit)
        bind("Ctrl+1", partial(self.canvas.zoom_to, 1.0))
        bind("Ctrl+Return", self.keep_edits)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.canvas.fit()
        self.canvas.setFocus()

    # -- tools --------------------------------------------------------------------------------

    def select_tool(self, tool: str) -> None:
        self.canvas.set_tool(tool)
        self.tool_buttons[tool].setChecked(True)

    def select_colour(self, value: str) -> None:
        self.canvas.color = value
        self.colour_buttons[value].setChecked(True)

    def select_width(self, level: int) -> None:
        self.canvas.width_level = level
        self.width_buttons[level].setChecked(True)

    # -- steps --------------------------------------------------------------------------------

    @property
    def steps(self) -> EditSteps:
        return self.canvas.steps

    def add_step(self, step: Step) -> None:
        after = EditSteps((*self.steps.steps, step))
        self.undo_stack.push(_SetSteps(self, self.steps, after, f"add {step.kind}"))

    def label_last_callout(self, label: str) -> None:
        steps = list(self.steps.steps)
        for index in range(len(steps) - 1, -1, -1):
            step = steps[index]
            if isinstance(step, Callout):
                steps[index] = Callout(step.x, step.y, label, step.color, step.size)
                self.undo_stack.push(_SetSteps(self, self.steps, EditSteps(tuple(steps)),
                                               "label marker"))
                return

    def apply_steps(self, steps: EditSteps) -> None:
        """Called by the undo stack: show exactly these steps."""
        self.canvas.show_steps(steps)

    def changed(self) -> bool:
        return self.steps != self._initial

    def show_hint(self, text: str) -> None:
        """A gesture made no step (or was clipped): say so until the next change."""
        self._hint = text
        self._show_status()

    def _steps_changed(self, _index: int) -> None:
        self._hint = ""
        self._show_status()

    def _show_status(self) -> None:
        summary = self.steps.summary() or "No edits yet"
        marks = len(self.steps.callouts())
        refer = "#1 in your message to refer to the marker" if marks == 1 else \
            f"#1…#{marks} in your message to refer to the markers"
        hint = f" · type {refer}" if marks else ""
        parts = [f"{summary}{hint}", self._hint, self._notes]
        self.status.setText(" · ".join(p for p in parts if p))

    # -- leaving ------------------------------------------------------------------------------

    def keep_edits(self) -> None:
        self.canvas.finish_entry()
        self._closing = True
        self.editsAccepted.emit(self.steps, self.keep_original.isChecked())
        self.close()

    def discard(self) -> None:
        self._closing = True
        self.editsDiscarded.emit()
        self.close()

    def reject(self) -> None:
        """Esc: first leaves a half-typed label, then asks like closing does."""
        if self.canvas.cancel_entry():
            return
        self.close()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._closing:
            event.accept()
            self._give_back_focus()
            return
        self.canvas.finish_entry()
        event.ignore()
        if not self.changed():
            self.discard()
            return
        self._ask_about_changes()

    def _give_back_focus(self) -> None:
        widget = self._return_focus
        if widget is None or not isValid(widget) or not widget.isVisible():
            return
        widget.window().activateWindow()
        widget.setFocus(Qt.FocusReason.ActiveWindowFocusReason)

    def _ask_about_changes(self) -> None:
        if self._ask is not None:
            return
        box = QMessageBox(QMessageBox.Icon.Question, "Keep your edits?",
                          "You marked up this image. Use the edited image, or discard the "
                          "edits?", QMessageBox.StandardButton.NoButton, self)
        keep = box.addButton("Keep edits", QMessageBox.ButtonRole.AcceptRole)
        discard = box.addButton("Discard", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(keep)
        box.buttonClicked.connect(partial(self._answered, keep, discard))
        self._ask = box
        box.open()

    def _answered(self, keep: object, discard: object, clicked: object) -> None:
        self._ask = None
        if clicked is keep:
            self.keep_edits()
        elif clicked is discard:
            self.discard()


def open_image_editor(parent: QWidget, session: EditSession | OpenedImage, name: str,
                      keep_original: bool,
                      on_accept: Callable[[EditSteps, bool], object]) -> ImageEditor:
    """Show a non-modal editor that deletes itself when closed; `on_accept(steps, keep)`."""
    editor = ImageEditor(session, name, keep_original=keep_original, parent=parent)
    editor.setWindowFlag(Qt.WindowType.Window, True)
    editor.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
    editor.editsAccepted.connect(on_accept)
    editor.show()
    editor.activateWindow()
    return editor
