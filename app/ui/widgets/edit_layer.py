"""The editor's picture: the pixels shown, patched piece by piece, and what they were before.

`ImageLayer` holds exactly the pixels `app.media.annotate.render` makes for the current steps
(view pixels). A change of steps patches only the pieces where the pictures differ. Before a
patch the canvas keeps the pixels it covers in a `PixelMemory`, so going back (undo, or redo
after an undo) puts them back with one copy instead of rendering them again: a redaction of
most of a 4K screenshot is millions of pixels to crop, convert and paint, a copy is one pass.
The picture is a function of the steps alone, so remembered pixels of the steps `A`, kept
when the picture went from `A` to `B`, are right whenever the picture shows `B` again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from app.media.edit_steps import Box, EditSteps

Piece = tuple[Box, QImage | QColor]
"""A part of the picture (view pixels): its pixels (transparent ones keep what is there), or
a colour it is filled with."""

MEMORY_BYTES = 128 * 1024 * 1024
"""Pixels kept for going back: about four full 4K pictures' worth; the oldest go first."""


class ImageLayer(QGraphicsItem):
    """The preview pixels; `put` replaces pieces and repaints only those.

    `on_dirty(rect)` (item pixels) schedules the repaint; by default `update`, which the
    scene unites into one rectangle per item: the canvas sets its own, so the pieces of a
    large mark repaint as pieces."""

    def __init__(self, image: QImage) -> None:
        super().__init__()
        self.image = image
        self.on_dirty: Callable[[QRectF], None] = self.update
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption)

    def boundingRect(self) -> QRectF:
        return QRectF(0, 0, self.image.width(), self.image.height())

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        exposed = option.exposedRect.toAlignedRect()
        if exposed.intersected(self.image.rect()).isEmpty():
            return
        zoom = painter.transform().m11()
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, zoom < 1.0)
        # A few pixels more than exposed (the paint event clips to what is exposed): smooth
        # scaling samples neighbours, and at the edge of the exposed part they must be the
        # real ones, or each repainted piece would show a seam.
        part = exposed.adjusted(-3, -3, 3, 3).intersected(self.image.rect())
        painter.drawImage(part, self.image, part)

    def pieces(self, boxes: Sequence[Box]) -> list[Piece]:
        """Copies of the picture's pixels in `boxes` (already inside the picture)."""
        return [(box, self.image.copy(box.x, box.y, box.w, box.h)) for box in boxes]

    def put(self, pieces: Sequence[Piece]) -> None:
        """Replace the pixels of each piece (in order, one painter for them all)."""
        if not pieces:
            return
        painter = QPainter(self.image)
        for box, pixels in pieces:
            if isinstance(pixels, QColor):
                painter.fillRect(box.x, box.y, box.w, box.h, pixels)
                continue
            # Opaque pixels replace; a piece with transparent pixels (ink through a mask)
            # keeps what is under those.
            painter.setCompositionMode(
                QPainter.CompositionMode.CompositionMode_SourceOver if pixels.hasAlphaChannel()
                else QPainter.CompositionMode.CompositionMode_Source)
            painter.drawImage(box.x, box.y, pixels)
        painter.end()
        for box, _pixels in pieces:
            self.on_dirty(QRectF(box.x, box.y, box.w, box.h))


class PixelMemory:
    """Pieces of earlier pictures, each filed under (the steps shown when it was kept, the
    steps it shows); used once, then forgotten. Holds at most `budget` bytes of pixels.

    A list searched from the newest, not a dict: hashing step lists means walking every
    point of every stroke, comparing them stops at the first step that is not the same."""

    def __init__(self, budget: int = MEMORY_BYTES) -> None:
        self._budget = budget
        self._used = 0
        self._kept: list[tuple[EditSteps, EditSteps, list[Piece], int]] = []  # oldest first

    def keep(self, shown: EditSteps, earlier: EditSteps, pieces: list[Piece]) -> None:
        """Remember `pieces` of the picture of `earlier`, for going back to it from `shown`."""
        size = sum(p.sizeInBytes() for _box, p in pieces if isinstance(p, QImage))
        self.take(shown, earlier)  # a newer copy of the same pixels replaces the older
        if size > self._budget:
            return
        self._kept.append((shown, earlier, pieces, size))
        self._used += size
        while self._used > self._budget:
            self._used -= self._kept.pop(0)[3]

    def take(self, shown: EditSteps, target: EditSteps) -> list[Piece] | None:
        """The pieces that turn the picture of `shown` into that of `target`, if kept."""
        for index in range(len(self._kept) - 1, -1, -1):
            at, back_to, pieces, size = self._kept[index]
            if at == shown and back_to == target:
                del self._kept[index]
                self._used -= size
                return pieces
        return None
