"""The Settings section for capture: run in the background, and the two global shortcuts.

Each shortcut is tried the moment it is edited (the controller answers with `set_problem`),
so a shortcut another program holds is reported here, with a free alternative on a button,
before the dialog is closed.

Signals:
    shortcut_edited(str, str): name ("capture" or "quick_ask"), the new sequence ("" = off).
"""

from __future__ import annotations

from functools import partial

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QKeySequenceEdit,
    QLabel,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

NAMES = (("capture", "Capture &region"), ("quick_ask", "&Quick ask"))


class ShortcutSettings(QGroupBox):
    """See the module docstring."""

    shortcut_edited = Signal(str, str)

    def __init__(self, run_in_background: bool, shortcuts: dict[str, str], *,
                 tray_exists: bool, parent: QWidget | None = None) -> None:
        super().__init__("Capture from anywhere", parent)
        self.background = QCheckBox("Keep running in the tray when the window is closed "
                                    "(so the shortcuts work)")
        self.background.setAccessibleName("Run in the background")
        self.background.setChecked(run_in_background and tray_exists)
        self.background.setEnabled(tray_exists)
        if not tray_exists:
            self.background.setToolTip("This desktop shows no tray icons.")
        self.edits: dict[str, QKeySequenceEdit] = {}
        self.problems: dict[str, QLabel] = {}
        self.alternatives: dict[str, QPushButton] = {}
        form = QFormLayout()
        for name, label in NAMES:
            edit = QKeySequenceEdit(QKeySequence(shortcuts.get(name, "")))
            edit.setMaximumSequenceLength(1)
            edit.setClearButtonEnabled(True)
            edit.setAccessibleName(label.replace("&", "") + " shortcut")
            edit.editingFinished.connect(partial(self._edited, name))
            off = QToolButton()
            off.setText("Off")
            off.setToolTip("No global shortcut for this")
            off.clicked.connect(partial(self.set_sequence, name, "", True))
            problem = QLabel()
            problem.setWordWrap(True)
            problem.setAccessibleName(label.replace("&", "") + " shortcut problem")
            problem.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            problem.hide()
            alternative = QPushButton()
            alternative.hide()
            alternative.clicked.connect(partial(self._use_alternative, name))
            row = QHBoxLayout()
            row.addWidget(edit, 1)
            row.addWidget(off)
            col = QVBoxLayout()
            col.addLayout(row)
            col.addWidget(problem)
            col.addWidget(alternative, 0, Qt.AlignmentFlag.AlignLeft)
            form.addRow(label, col)
            self.edits[name], self.problems[name] = edit, problem
            self.alternatives[name] = alternative
        hint = QLabel("Or bind <code>stepdesk capture</code> in your desktop's keyboard "
                      "settings (see the README).")
        hint.setWordWrap(True)
        outer = QVBoxLayout(self)
        outer.addWidget(self.background)
        outer.addLayout(form)
        outer.addWidget(hint)

    def sequence(self, name: str) -> str:
        return self.edits[name].keySequence().toString(QKeySequence.SequenceFormat.PortableText)

    def set_sequence(self, name: str, sequence: str, notify: bool = False) -> None:
        self.edits[name].setKeySequence(QKeySequence(sequence))
        if notify:
            self._edited(name)

    def set_problem(self, name: str, problem: str | None, alternative: str = "") -> None:
        """Show why `name`'s shortcut cannot be had (None clears), offering `alternative`."""
        label, button = self.problems[name], self.alternatives[name]
        label.setText(problem or "")
        label.setVisible(bool(problem))
        label.setStyleSheet("color: #d32f2f;" if problem else "")
        button.setText(f"Use {alternative} instead" if alternative else "")
        button.setProperty("sequence", alternative)
        button.setVisible(bool(problem and alternative))

    def _edited(self, name: str) -> None:
        self.shortcut_edited.emit(name, self.sequence(name))

    def _use_alternative(self, name: str) -> None:
        self.set_sequence(name, str(self.alternatives[name].property("sequence") or ""), True)
