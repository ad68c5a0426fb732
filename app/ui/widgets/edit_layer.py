"""The editor's picture: the pixels shown, patched piece by piece, and what they were before.

`ImageLayer` holds exactly the pixels `app.media.annotate.render` makes for the current steps
(view pixels). A change of steps patches only the pieces where the pictures differ. Before a
patch the layer keeps the pixels it covers in a `PixelMemory`, so going back (undo, or redo
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

from app.media.edit_session import EditSession, changed_boxes, union
from app.media.edit_steps import REDACT_FILL, Arrow, Box, EditSteps, Redact, Shape, Step

Piece = tuple[Box, QImage | QColor]
"""A part of the picture (view pixels): its pixels (transparent ones keep what is there), or
a colour it is filled with."""

SLICE = 1 << 20
"""Pixels in one slice of kept pixels: 4 MB, well under the allocator's threshold for
handing freed memory back to the system (32 MB at most)."""
MEMORY_BYTES = 128 * 1024 * 1024
"""Pixels kept for going back: about four full 4K pictures' worth; the oldest go first."""


def qimage_from_rgbx(data: bytes, width: int, height: int) -> QImage:
    """Wrap RGBX bytes, then convert once to the format the raster engine paints fastest."""
    wrapped = QImage(data, width, height, width * 4, QImage.Format.Format_RGBX8888)
    return wrapped.convertToFormat(QImage.Format.Format_RGB32)


class ImageLayer(QGraphicsItem):
    """The picture of the session's steps (view pixels); `change` replaces the pieces that
    differ and repaints only those.

    `on_dirty(rect)` (item pixels) schedules the repaint; by default `update`, which the
    scene unites into one rectangle per item: the canvas sets its own, so the pieces of a
    large mark repaint as pieces."""

    def __init__(self, image: QImage, session: EditSession, memory: PixelMemory) -> None:
        super().__init__()
        self.image = image
        self.session = session
        self.memory = memory
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
        """Copies of the picture's pixels in `boxes` (already inside the picture), a large
        box in slices of at most `SLICE` pixels: the allocator hands a block that size back
        to the system when it is freed, and getting it again costs a page fault a page
        (a redaction of most of a 16-megapixel view is 50 MB), where slices are reused."""
        out: list[Piece] = []
        for box in boxes:
            rows = max(1, SLICE // max(1, box.w))
            for top in range(box.y, box.bottom, rows):
                part = Box(box.x, top, box.w, min(rows, box.bottom - top))
                out.append((part, self.image.copy(part.x, part.y, part.w, part.h)))
        return out

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


    def change(self, before: EditSteps, steps: EditSteps) -> None:
        """Turn the picture of `before` into that of `steps`: from the pixels kept when
        `steps` were last shown if there are any (undo, redo), else drawn; and keep the
        pixels replaced, for going back."""
        pieces = self.memory.take(before, steps)
        if pieces is None:
            pieces = self._drawn(before, steps)
        boxes = [box for box, _pixels in pieces]
        undone = _added_redaction(steps, before)
        shut = None if undone is None else self._redaction_box(undone)
        if shut is not None and union(boxes) == shut \
                and sum(b.w * b.h for b in boxes) == shut.w * shut.h:  # its slices
            replaced: list[Piece] = [(shut, QColor(*REDACT_FILL))]  # no copy needed
        else:
            replaced = self.pieces(boxes)
        self.put(pieces)
        self.memory.keep(steps, before, replaced)

    def _drawn(self, before: EditSteps, steps: EditSteps) -> list[Piece]:
        """The pieces of the picture of `steps` that differ from that of `before`."""
        added = _appended(before, steps)
        if isinstance(added, Redact):  # it lies over every mark: solid fill, no render needed
            box = self._redaction_box(added)
            return [] if box.empty() else [(box, QColor(*REDACT_FILL))]
        areas = [self.session.view_box(area) for area in changed_boxes(before, steps)]
        if isinstance(added, Shape | Arrow):
            return self._inked(added, steps, areas)
        return [(box, qimage_from_rgbx(data, box.w, box.h))
                for data, box in self.session.rgbx_pieces(steps, areas)]

    def _inked(self, mark: Shape | Arrow, steps: EditSteps, areas: list[Box]) -> list[Piece]:
        """A shape or arrow added last is one opaque colour over every earlier mark: its
        colour through its ink mask over what is shown, then the redactions over that,
        instead of rendering the image and every mark under it again."""
        colour = QColor(mark.color).rgb()
        redactions = [self._redaction_box(r) for r in steps.steps if isinstance(r, Redact)]
        pieces: list[Piece] = []
        for data, box in self.session.ink_pieces(mark, areas):
            ink = QImage(data, box.w, box.h, box.w, QImage.Format.Format_Indexed8)
            ink.setColorTable([0, colour])  # 0: transparent, keeps what is shown
            # Converted once, as the raster engine paints indexed pixels ten times slower;
            # the copy owns its pixels (`data` may go).
            pieces.append((box, ink.convertToFormat(QImage.Format.Format_ARGB32_Premultiplied)))
            pieces += [(cover, QColor(*REDACT_FILL)) for cover in
                       (_overlap(box, r) for r in redactions) if not cover.empty()]
        return pieces

    def _redaction_box(self, step: Redact) -> Box:
        """The view pixels `annotate` fills for a redaction."""
        return self.session.view_box(step.box, margin=0)


def _appended(before: EditSteps, after: EditSteps) -> Step | None:
    """The step `after` has at its end when it is `before` with that one step added."""
    if after.steps and after.steps[:-1] == before.steps:
        return after.steps[-1]
    return None


def _added_redaction(before: EditSteps, after: EditSteps) -> Redact | None:
    added = _appended(before, after)
    return added if isinstance(added, Redact) else None


def _overlap(a: Box, b: Box) -> Box:
    """Where two boxes overlap (empty when they do not)."""
    x0, y0 = max(a.x, b.x), max(a.y, b.y)
    return Box(x0, y0, max(0, min(a.right, b.right) - x0), max(0, min(a.bottom, b.bottom) - y0))


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
