"""Reasoning effort as a three-way segmented control, always visible (not a combo box).

The hints are StepFun's own rule of thumb for `reasoning_effort`: extraction and simple Q&A
→ low, everyday questions → medium, maths, planning and code → high.

Signals:
    effort_changed(str): "low" | "medium" | "high", chosen by the user (not by `set_effort`).
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QButtonGroup, QHBoxLayout, QToolButton, QWidget

EFFORT_CHOICES = (
    ("low", "Low", "Low — extraction and simple Q&A: reads a receipt, answers fast"),
    ("medium", "Medium", "Medium — everyday questions: balanced thinking (recommended)"),
    ("high", "High", "High — maths, planning and code: thinks longest"),
)
EFFORT_LABELS = {value: label for value, label, _hint in EFFORT_CHOICES}


class EffortControl(QWidget):
    """Low | Medium | High; exactly one is checked; arrow keys move between segments."""

    effort_changed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Reasoning effort")
        self.setAccessibleDescription("How long the model thinks before it answers")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self._group = QButtonGroup(self)
        self._group.setExclusive(True)
        self._buttons: dict[str, QToolButton] = {}
        last = len(EFFORT_CHOICES) - 1
        for index, (value, label, hint) in enumerate(EFFORT_CHOICES):
            button = QToolButton(self)
            button.setText(label)
            button.setCheckable(True)
            button.setToolTip(hint)
            button.setAccessibleName(f"Effort {label}")
            button.setAccessibleDescription(hint)
            button.setProperty("role", "segment")
            button.setProperty("position", "first" if index == 0 else
                               "last" if index == last else "middle")
            button.setObjectName(f"effort-{value}")
            self._group.addButton(button, index)
            layout.addWidget(button)
            self._buttons[value] = button
        self._buttons["medium"].setChecked(True)
        self._group.idClicked.connect(self._clicked)

    def _clicked(self, index: int) -> None:
        self.effort_changed.emit(EFFORT_CHOICES[index][0])

    def effort(self) -> str:
        return EFFORT_CHOICES[max(0, self._group.checkedId())][0]

    def set_effort(self, effort: str) -> None:
        """Show `effort` as chosen, without emitting `effort_changed`."""
        button = self._buttons.get(effort)
        if button is not None:
            button.setChecked(True)

    def button(self, effort: str) -> QToolButton:
        return self._buttons[effort]
