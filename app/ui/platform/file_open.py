"""macOS "Open With Step Desk": files arrive as `QFileOpenEvent`s, not as argv.

Finder (and `open -a "Step Desk" photo.jpg`) sends the running application one FileOpen
event per file, both when it launches the app for them and when the app is already running.
Qt delivers those events to the QApplication object, so an event filter on the application
sees them without subclassing QApplication. The files of one gesture arrive as a burst of
events; they are gathered for a moment and handed over as one list, so they attach together
the way `stepdesk a.jpg b.jpg` would.

Install it once the window exists, before the event loop runs (no event is delivered
before that):

    install_file_open(app, window.receive_files)

On Linux and Windows, "Open with" starts `stepdesk FILE…` and the single-instance socket
does the same job, and no such event is ever sent: the app installs the filter on macOS
only (`NEEDED`), since an application-wide filter is a Python call for every event of
every object (about 12,000 of them before a conversation is first readable).
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, QTimer, Signal
from PySide6.QtGui import QFileOpenEvent
from PySide6.QtWidgets import QApplication

NEEDED = sys.platform == "darwin"
"""Whether this platform sends "Open With" files as FileOpen events."""

GATHER_MS = 150
"""How long to wait for the rest of a multi-file "Open With" before handing the files over."""


class FileOpenFilter(QObject):
    """Turns the application's FileOpen events into one `files_received` per gesture.

    Signals:
        files_received(list): local paths (str) of the files the OS asked us to open.
    """

    files_received = Signal(list)

    def __init__(self, parent: QObject | None = None, *, gather_ms: int = GATHER_MS) -> None:
        super().__init__(parent)
        self._pending: list[str] = []
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(gather_ms)
        self._timer.timeout.connect(self._flush)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Take FileOpen events (returns True: handled); let everything else through."""
        if event.type() != QEvent.Type.FileOpen or not isinstance(event, QFileOpenEvent):
            return False
        path = event.file() or (event.url().toLocalFile() if event.url().isLocalFile() else "")
        if path and path not in self._pending:
            self._pending.append(path)
            self._timer.start()
        return True

    def _flush(self) -> None:
        files, self._pending = self._pending, []
        if files:
            self.files_received.emit(files)


def install_file_open(app: QApplication, receive: Callable[[list[str]], None]
                      ) -> FileOpenFilter:
    """Route "Open With" files to `receive` (e.g. `MainWindow.receive_files`).

    The filter is parented to the application, so it lives exactly as long as the app.
    """
    handler = FileOpenFilter(app)
    handler.files_received.connect(receive)
    app.installEventFilter(handler)
    return handler
