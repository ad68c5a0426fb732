"""The keyboard shortcuts sheet (Ctrl+/): every window action that has a shortcut.

Built from the window's own `QAction`s, so a new action with a shortcut is listed without
anyone remembering to add it here.
"""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

EXTRA = (
    ("Send the message", "Enter"),
    ("New line in the message", "Shift+Enter"),
    ("Rename the selected conversation", "F2"),
    ("Delete the selected conversation", "Del"),
)
"""Keys handled by widgets themselves rather than by window actions."""


def shortcut_rows(actions: Iterable[QAction]) -> list[tuple[str, str]]:
    """(what it does, keys) for every action with a shortcut, then the widget keys."""
    rows: list[tuple[str, str]] = []
    for action in actions:
        keys = [k.toString(QKeySequence.SequenceFormat.NativeText) for k in action.shortcuts()]
        if keys:
            rows.append((action.text().replace("&", ""), " or ".join(keys)))
    return [*rows, *EXTRA]


class ShortcutsSheet(QDialog):
    def __init__(self, rows: list[tuple[str, str]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self.setAccessibleName("Keyboard shortcuts")
        self.table = QTreeWidget()
        self.table.setAccessibleName("Shortcuts")
        self.table.setHeaderLabels(["Action", "Keys"])
        self.table.setRootIsDecorated(False)
        for what, keys in rows:
            self.table.addTopLevelItem(QTreeWidgetItem([what, keys]))
        self.table.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.header().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        col = QVBoxLayout(self)
        col.addWidget(self.table)
        col.addWidget(buttons)
        self.resize(460, 480)

    def rows(self) -> list[tuple[str, str]]:
        items = (self.table.topLevelItem(i) for i in range(self.table.topLevelItemCount()))
        return [(item.text(0), item.text(1)) for item in items if item is not None]
