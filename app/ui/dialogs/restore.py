""""Restore from…": the target's snapshots by device and date; restore one in place of the
history here (which is saved first). A form only: `SyncController` lists and restores.

Opened with `open()`, never `exec()` (a modal loop inside a coroutine breaks qasync).
"""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.sync.layout import SnapshotEntry
from app.sync.restore import is_older
from app.sync.runner import Listing

ERROR_STYLE = "color: #d32f2f;"
WARNING_STYLE = "color: #b26a00;"


class RestoreDialog(QDialog):
    """Signals:
        restore_requested(object): the `SnapshotEntry` to restore (after the user chose it).
    """

    restore_requested = Signal(object)

    def __init__(self, target_label: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Restore from a snapshot")
        self.setAccessibleName("Restore from a snapshot")
        self._here_hlc = 0
        self._items: list[tuple[SnapshotEntry, QTreeWidgetItem]] = []
        intro = QLabel(f"Snapshots at {target_label}. Restoring replaces the history here by "
                       "the one chosen; the current history is saved beside it first.")
        intro.setWordWrap(True)
        self.tree = QTreeWidget()
        self.tree.setAccessibleName("Snapshots")
        self.tree.setHeaderLabels(["Device and date", "Size"])
        self.tree.setColumnWidth(0, 360)
        self.tree.currentItemChanged.connect(self._on_current)
        self.status = QLabel("Reading the snapshots…")
        self.status.setAccessibleName("Restore status")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.warning = QLabel()
        self.warning.setAccessibleName("Older snapshot warning")
        self.warning.setWordWrap(True)
        self.warning.setStyleSheet(WARNING_STYLE)
        self.warning.hide()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        self.restore_button = QPushButton("Restore")
        self.restore_button.setEnabled(False)
        self.restore_button.clicked.connect(self._on_restore)
        buttons.addButton(self.restore_button, QDialogButtonBox.ButtonRole.ActionRole)
        col = QVBoxLayout(self)
        col.addWidget(intro)
        col.addWidget(self.tree, 1)
        col.addWidget(self.warning)
        col.addWidget(self.status)
        col.addWidget(buttons)
        self.resize(560, 420)

    def set_listing(self, listing: Listing) -> None:
        """One branch per device (this one marked), its snapshots newest first."""
        self.tree.clear()
        self._items.clear()
        self._here_hlc = listing.here_hlc
        devices: dict[str, QTreeWidgetItem] = {}
        for entry in listing.entries:
            branch = devices.get(entry.device)
            if branch is None:
                mine = " (this device)" if entry.device == listing.this_device else ""
                branch = QTreeWidgetItem([f"{entry.device_name}{mine}", ""])
                branch.setFlags(Qt.ItemFlag.ItemIsEnabled)
                devices[entry.device] = branch
                self.tree.addTopLevelItem(branch)
            item = QTreeWidgetItem([when(entry.written_at), f"{max(1, entry.size // 1024):,} KB"])
            branch.addChild(item)
            self._items.append((entry, item))
        self.tree.expandAll()
        count = len(listing.entries)
        self.show_status(f"{count} snapshot(s) from {len(devices)} device(s); choose one."
                         if count else "There are no snapshots there yet.")

    def entries(self) -> list[SnapshotEntry]:
        """The snapshots listed, in the order shown."""
        return [entry for entry, _item in self._items]

    def select(self, entry: SnapshotEntry) -> None:
        for listed, item in self._items:
            if listed == entry:
                self.tree.setCurrentItem(item)

    def show_status(self, text: str, *, failing: bool = False) -> None:
        self.status.setText(text)
        self.status.setStyleSheet(ERROR_STYLE if failing else "")
        self.restore_button.setEnabled(self._chosen() is not None)

    def set_busy(self, text: str) -> None:
        self.status.setStyleSheet("")
        self.status.setText(text)
        self.restore_button.setEnabled(False)

    def _chosen(self) -> SnapshotEntry | None:
        current = self.tree.currentItem()
        return next((entry for entry, item in self._items if item is current), None)

    def _on_current(self, _item: QTreeWidgetItem | None, _previous: QTreeWidgetItem | None
                    ) -> None:
        entry = self._chosen()
        self.restore_button.setEnabled(entry is not None)
        older = entry is not None and is_older(entry, self._here_hlc)
        self.warning.setText("This snapshot is older than the history here: what changed "
                             "since then will be replaced (the current history is saved "
                             "first)." if older else "")
        self.warning.setVisible(older)

    def _on_restore(self) -> None:
        entry = self._chosen()
        if entry is not None:
            self.set_busy(f"Restoring {entry.device_name}, {when(entry.written_at)}…")
            self.restore_requested.emit(entry)


def when(ms: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ms / 1000))
