"""The sidebar's "Uploaded files" tab: media uploaded from Step Desk to this account.

Its own module because the sidebar builds it when the tab is first opened: the tree and its
header view cost about 10 ms, and the window's first paint shows the Chats tab.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHeaderView,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

ID_ROLE = Qt.ItemDataRole.UserRole


class UploadsPage(QWidget):
    """The list of uploaded files, with "Delete from server" for the selected ones.

    Signals:
        delete_requested(list): file ids selected for deletion from the server.
    """

    delete_requested = Signal(list)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tree = QTreeWidget()
        self.tree.setAccessibleName("Uploaded files")
        self.tree.setHeaderLabels(["File", "Size", "Last used"])
        self.tree.setRootIsDecorated(False)
        self.tree.setSelectionMode(QTreeWidget.SelectionMode.ExtendedSelection)
        header = self.tree.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(False)
        self.delete_button = QPushButton("Delete from server")
        self.delete_button.setAccessibleName("Delete selected uploaded files")
        self.delete_button.clicked.connect(self._delete_selected)
        self.note = QLabel("Media uploaded to this account from Step Desk.")
        self.note.setWordWrap(True)
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 4, 0, 0)
        col.addWidget(self.note)
        col.addWidget(self.tree, 1)
        col.addWidget(self.delete_button)

    def set_rows(self, rows: Sequence[tuple[str, list[str], str]], note: str) -> None:
        """One row per upload: (file id, the shown columns, its tooltip)."""
        self.tree.clear()
        for file_id, columns, tooltip in rows:
            item = QTreeWidgetItem(columns)
            item.setData(0, ID_ROLE, file_id)
            item.setToolTip(0, tooltip)
            self.tree.addTopLevelItem(item)
        self.note.setText(note)

    def _delete_selected(self) -> None:
        ids = [item.data(0, ID_ROLE) for item in self.tree.selectedItems()]
        if ids:
            self.delete_requested.emit(ids)
