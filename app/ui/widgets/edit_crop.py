"""The crop as the editor shows it: everything outside it shaded, a dashed frame round it.

One item that repaints only what a change of crop changes (the strips between the old and
the new crop, and both frames) through `on_dirty`. A path item for the shade and a rect item
for the frame repaint their whole bounding rect, the whole image, on every change: at fit
zoom that rescaled the whole picture under them for each crop, undo and redo.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QRect, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from app.media.edit_steps import Box

SHADE = QColor(0, 0, 0, 140)


class CropShade(QGraphicsItem):
    """Shades `area` (scene pixels) outside the crop; shows nothing without one."""

    def __init__(self, area: QRect) -> None:
        super().__init__()
        self._area = area
        self._crop: QRect | None = None
        self.on_dirty: Callable[[QRectF], None] = self.update
        self.setZValue(1)

    def boundingRect(self) -> QRectF:
        return QRectF(self._area)

    def set_crop(self, crop: Box | None) -> None:
        """Show `crop` (image pixels), repainting the parts that change."""
        new = None if crop is None else QRect(crop.x, crop.y, crop.w, crop.h)
        old, self._crop = self._crop, new
        if old == new:
            return
        if old is None or new is None:  # the shade appears or goes: all but the crop
            shown = new if new is not None else old
            assert shown is not None  # they differ, so one is a crop
            changed = _minus(self._area, shown)
        else:  # what one crop holds and the other does not
            changed = _minus(old, new) + _minus(new, old)
        for frame in (old, new):
            if frame is not None:  # the frame's edges, a pixel wide either side
                changed += _minus(frame.adjusted(-1, -1, 1, 1), frame.adjusted(1, 1, -1, -1))
        for rect in changed:
            self.on_dirty(QRectF(rect))

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        if self._crop is None:
            return
        rect = QRectF(self._crop)
        shade = QPainterPath()
        shade.addRect(QRectF(self._area))
        inner = QPainterPath()
        inner.addRect(rect)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(SHADE)
        painter.drawPath(shade.subtracted(inner))
        painter.setPen(QPen(QColor("#ffffff"), 0, Qt.PenStyle.DashLine))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(rect)


def _minus(outer: QRect, hole: QRect) -> list[QRect]:
    """`outer` without `hole`, as up to four rectangles (above, below, left, right)."""
    cut = outer.intersected(hole)
    if cut.isEmpty():
        return [outer]
    parts = [QRect(outer.left(), outer.top(), outer.width(), cut.top() - outer.top()),
             QRect(outer.left(), cut.bottom() + 1, outer.width(), outer.bottom() - cut.bottom()),
             QRect(outer.left(), cut.top(), cut.left() - outer.left(), cut.height()),
             QRect(cut.right() + 1, cut.top(), outer.right() - cut.right(), cut.height())]
    return [part for part in parts if not part.isEmpty()]
