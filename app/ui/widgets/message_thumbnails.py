"""Attachment thumbnails for message widgets: loaded once, scaled once, kept in a small LRU.

Widgets come and go as the user pages through a long conversation, so the pixmaps are cached
by sha256 rather than held by widgets; the cache is bounded so scrolling through hundreds of
images does not grow memory. QPixmap is GUI-thread only, like everything here.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap

ThumbnailFor = Callable[[str], Path | None]
"""sha256 → the thumbnail file on disk (the blob store's), or None when there is none."""

THUMB_SIDE = 96


class ThumbnailCache:
    """`cache(sha256)` → a pixmap at most `THUMB_SIDE` px on its long side, or None."""

    def __init__(self, thumbnail_for: ThumbnailFor = lambda _sha: None, *,
                 size: int = 256) -> None:
        self.thumbnail_for = thumbnail_for
        self._size = size
        self._pixmaps: OrderedDict[str, QPixmap | None] = OrderedDict()

    def clear(self) -> None:
        self._pixmaps.clear()

    def __call__(self, sha256: str) -> QPixmap | None:
        if sha256 in self._pixmaps:
            self._pixmaps.move_to_end(sha256)
            return self._pixmaps[sha256]
        path = self.thumbnail_for(sha256)
        pixmap = QPixmap(str(path)) if path is not None else None
        if pixmap is not None and pixmap.isNull():
            pixmap = None
        if pixmap is not None and max(pixmap.width(), pixmap.height()) > THUMB_SIDE:
            pixmap = pixmap.scaled(THUMB_SIDE, THUMB_SIDE, Qt.AspectRatioMode.KeepAspectRatio,
                                   Qt.TransformationMode.SmoothTransformation)
        self._pixmaps[sha256] = pixmap
        if len(self._pixmaps) > self._size:
            self._pixmaps.popitem(last=False)
        return pixmap
