"""The in-app preview of a video frame, shown when a timestamp in an answer is clicked.

One non-modal window per main window, reused: each click replaces the frame. The frame is
decoded in a worker thread (`app.media.frames`), so the window never stalls on FFmpeg; the
bytes become a pixmap here, on the GUI thread. "Open in player" hands the file to the
system's video player (which starts at the beginning: players take no common seek argument).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices, QImage, QPixmap
from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.media.frames import FrameError, frame_png

if TYPE_CHECKING:
    pass


def clock(seconds: float) -> str:
    """`83.5` → `01:23.5`, `3723` → `1:02:03`: the way answers write times."""
    whole, tenth = divmod(round(seconds * 10), 10)
    fraction = f".{tenth}" if tenth else ""
    hours, rest = divmod(whole, 3600)
    head = f"{hours}:{rest // 60:02d}" if hours else f"{rest // 60:02d}"
    return f"{head}:{rest % 60:02d}{fraction}"


class FramePreview(QDialog):
    """Shows the frame at a moment of a video, with a button to open the system player."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Video frame")
        self.setModal(False)
        self.path: Path | None = None
        self.seconds = 0.0
        self._seq = 0
        self.caption = QLabel()
        self.caption.setAccessibleName("Frame time")
        self.image = QLabel()
        self.image.setAccessibleName("Video frame")
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image.setMinimumSize(320, 180)
        self.open_button = QPushButton("Open in player")
        self.open_button.setToolTip("Open the video in the system's player")
        self.open_button.clicked.connect(self.open_in_player)
        close = QPushButton("Close")
        close.clicked.connect(self.close)
        row = QHBoxLayout()
        row.addWidget(self.caption, 1)
        row.addWidget(self.open_button)
        row.addWidget(close)
        col = QVBoxLayout(self)
        col.addWidget(self.image, 1)
        col.addLayout(row)

    async def show_frame(self, path: Path, seconds: float, name: str = "") -> bool:
        """Decode and show the frame at `seconds` of `path` (shown as `name`); False (and a
        message) if it cannot."""
        self._seq += 1
        seq = self._seq
        self.path, self.seconds = path, seconds
        name = name or path.name
        self.caption.setText(f"{name} at {clock(seconds)} — loading…")
        self.show()
        self.raise_()
        try:
            png = await asyncio.to_thread(frame_png, path, seconds)
        except FrameError as exc:
            if seq == self._seq:
                self.image.clear()
                self.caption.setText(str(exc))
            return False
        if seq != self._seq:  # a later click won
            return False
        self.image.setPixmap(QPixmap.fromImage(QImage.fromData(png)))
        self.caption.setText(f"{name} at {clock(seconds)}")
        self.adjustSize()
        return True

    def open_in_player(self) -> None:
        if self.path is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.path)))
