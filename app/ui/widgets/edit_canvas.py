"""The image editor's canvas: shows the flattened preview and turns gestures into edit steps.

The picture is an `ImageLayer` holding exactly the pixels `app.media.annotate.render` made
(so the preview is the flattened output); after a change only the pieces that differ are
replaced and repainted: by a fill for a new redaction, by the ink mask of a new shape or
arrow, by the pixels kept from when those steps were last shown (undo, redo), else rendered.
While a gesture is under way a plain Qt item shows its outline; when it ends the canvas
emits the finished step and drops the outline. Scene coordinates are pixels
of the full-resolution image even when the view shows a reduced copy (the layer is scaled).

Signals:
    stepDrawn(object): a gesture finished; the argument is an `edit_steps.Step`.
    labelEntered(str): text typed next to the callout placed last.
    hint(str): a gesture made no step, or was clipped to the image; one sentence saying so.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from PySide6.QtCore import QPoint, QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QImage,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPen,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsPathItem,
    QGraphicsScene,
    QGraphicsView,
    QLineEdit,
    QWidget,
)

from app.media.edit_session import EDIT_MAX_PIXELS, EditSession, changed_boxes, union
from app.media.edit_steps import (
    MAX_FONT,
    MAX_POINTS,
    MAX_STEPS,
    MAX_WIDTH,
    NO_EDITS,
    Arrow,
    Box,
    Callout,
    Crop,
    EditSteps,
    Highlight,
    Redact,
    Shape,
    Step,
    Text,
    scale_for,
)
from app.safetext import one_line
from app.ui.weak import weakly
from app.ui.widgets.edit_crop import CropShade
from app.ui.widgets.edit_layer import ImageLayer, PixelMemory, qimage_from_rgbx

TOOLS = ("rect", "ellipse", "arrow", "highlight", "text", "callout", "crop", "redact")
WIDTHS = {  # per width level (thin, medium, thick), in pixels of a ≤ 1080p image
    "stroke": (2, 4, 8), "highlight": (12, 24, 40), "text": (18, 28, 44), "callout": (10, 14, 20),
}
MIN_ZOOM, MAX_ZOOM = 0.05, 16.0
_DRAG_HINTS = {
    "rect": "Drag across the image to draw a rectangle.",
    "ellipse": "Drag across the image to draw an ellipse.",
    "redact": "A redaction needs an area: drag across what to hide.",
    "crop": "A crop needs an area: drag across what to keep.",
}


@dataclass(frozen=True)
class OpenedImage:
    """An image ready for the editor: the session and its first picture, both made in a
    worker thread (QImage, unlike QPixmap, may be built off the GUI thread), so opening the
    editor costs the GUI thread only the widgets and the first paint."""

    session: EditSession
    picture: QImage


def open_for_editing(data: bytes, name: str, steps: EditSteps) -> OpenedImage:
    """Blocking: decode, draw the steps, convert for display. Call from a worker thread.

    A plain 8-bit RGB PNG (every screenshot) decodes to the same pixels in Qt and Pillow
    (lossless, no colour management either side applies), so it is decoded once, by Qt, and
    the copy edits are rendered from is made from Qt's pixels (a few milliseconds, against a
    second decode); only the areas the steps touch are then rendered by Pillow. Anything
    else (and a PNG Qt cannot read, for Pillow's message) is decoded by Pillow.
    """
    if plain_png(data):
        picture = QImage.fromData(data).convertToFormat(QImage.Format.Format_RGB32)
        header = data[16:24]
        width, height = int.from_bytes(header[:4], "big"), int.from_bytes(header[4:], "big")
        if not picture.isNull() and (picture.width(), picture.height()) == (width, height):
            session = EditSession.for_pixels(picture.constBits(), width, height,
                                             picture.bytesPerLine(), _RGB32_LAYOUT, steps)
            area = union(changed_boxes(NO_EDITS, session.steps))  # one render of them all
            if area is not None:
                raw, box = session.rgbx(session.steps, session.view_box(area))
                painter = QPainter(picture)
                painter.drawImage(box.x, box.y, qimage_from_rgbx(raw, box.w, box.h))
                painter.end()
            return OpenedImage(session, picture)
    session = EditSession.open(data, name, steps)
    raw, box = session.rgbx(session.steps)
    return OpenedImage(session, qimage_from_rgbx(raw, box.w, box.h))


_RGB32_LAYOUT = "BGRX" if sys.byteorder == "little" else "XRGB"
"""Format_RGB32 is one 0xffRRGGBB word per pixel: these bytes in memory."""
_PNG = b"\x89PNG\r\n\x1a\n"
_PLAIN_CHUNKS = (b"IHDR", b"sRGB", b"pHYs", b"IDAT", b"IEND")
"""Chunks that change nothing Qt or Pillow decode (and carry nothing intake would note)."""


def plain_png(data: bytes) -> bool:
    """8-bit truecolour with only pixel data (no transparency, colour profile, gamma, EXIF,
    text or animation), not over the editing pixel limit: a PNG whose decoded pixels do not
    depend on the decoder and that Pillow would open with no notes."""
    if data[:8] != _PNG or data[12:16] != b"IHDR" or data[24:26] != b"\x08\x02":
        return False
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if not 0 < width * height <= EDIT_MAX_PIXELS:
        return False
    position = 8
    while position + 8 <= len(data):  # walk every chunk header (a handful in a screenshot)
        length = int.from_bytes(data[position:position + 4], "big")
        kind = data[position + 4:position + 8]
        if kind not in _PLAIN_CHUNKS:
            return False
        if kind == b"IEND":
            return True
        position += 12 + length
    return False


class EditCanvas(QGraphicsView):
    """A zoomable, pannable view of one `EditSession` with the current tool's gestures."""

    stepDrawn = Signal(object)
    labelEntered = Signal(str)
    hint = Signal(str)

    def __init__(self, session: EditSession, parent: QWidget | None = None, *,
                 picture: QImage | None = None, memory: PixelMemory | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.setAccessibleName("Image being edited")
        self.setScene(QGraphicsScene(self))
        if picture is None:
            data, box = session.rgbx(session.steps)
            picture = qimage_from_rgbx(data, box.w, box.h)
        self.layer = ImageLayer(picture, session, memory or PixelMemory())
        self.layer.setScale(1 / session.scale)
        self.layer.on_dirty = weakly(self._repaint_layer_rect)  # the layer is the canvas's
        self.scene().addItem(self.layer)
        self.scene().setSceneRect(0, 0, session.full_width, session.full_height)
        self._crop = CropShade(QRect(0, 0, session.full_width, session.full_height))
        self._crop.on_dirty = weakly(self._repaint_scene_rect)
        self.scene().addItem(self._crop)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.MinimalViewportUpdate)
        self.setBackgroundBrush(QColor("#3a3a3a"))
        self.setMouseTracking(True)
        self.tool = "rect"
        self.color = "#e53935"
        self.width_level = 1
        self._steps = session.steps
        self._press: QPoint | None = None
        self._points: list[tuple[int, int]] = []
        self._outline: QGraphicsItem | None = None
        self._pan_from: QPointF | None = None
        self._space = False
        self._entry: QLineEdit | None = None
        self._entry_done: Callable[[str], None] | None = None
        self._crop.set_crop(session.steps.crop())

    # -- what the canvas shows ------------------------------------------------------------

    @property
    def steps(self) -> EditSteps:
        return self._steps

    def show_steps(self, steps: EditSteps) -> None:
        """Show `steps`: change only the pieces of the picture where they differ from the
        shown ones (for a long or large mark, pieces along it, not its bounding box)."""
        before, self._steps = self._steps, steps
        if steps != before:
            self.layer.change(before, steps)
        self._crop.set_crop(steps.crop())

    def _repaint_layer_rect(self, rect: QRectF) -> None:
        self._repaint_scene_rect(self.layer.mapRectToScene(rect))

    def _repaint_scene_rect(self, rect: QRectF) -> None:
        """Repaint the viewport pixels showing `rect` of the scene; several calls add up to
        a region of rectangles (the scene would unite them into their bounding box)."""
        shown = self.mapFromScene(rect).boundingRect()
        self.viewport().update(shown.adjusted(-2, -2, 2, 2))

    def preview(self) -> QImage:
        """The full-resolution picture as shown (marks, redactions), without the crop frame."""
        out = QImage(self.session.full_width, self.session.full_height,
                     QImage.Format.Format_RGB32)
        painter = QPainter(out)
        shown = (self._crop if self._steps.crop() is not None else None, self._outline)
        hidden = [item for item in shown if item is not None and item.isVisible()]
        for item in hidden:
            item.hide()
        self.scene().render(painter, QRectF(out.rect()), self.sceneRect())
        painter.end()
        for item in hidden:
            item.show()
        return out

    # -- tool settings ----------------------------------------------------------------------

    def set_tool(self, tool: str) -> None:
        self.finish_entry()
        self.tool = tool
        self._tool_cursor()

    def _tool_cursor(self) -> None:
        self.viewport().setCursor(Qt.CursorShape.IBeamCursor if self.tool == "text"
                                  else Qt.CursorShape.CrossCursor)

    def size_for(self, kind: str) -> int:
        """The width or size for `kind` at the chosen level, grown with the image, within
        what stored steps may hold (on a 150-megapixel image a thick highlighter would not)."""
        size = WIDTHS[kind][self.width_level] * scale_for(self.session.full_width,
                                                          self.session.full_height)
        return min(size, MAX_WIDTH if kind in ("stroke", "highlight") else MAX_FONT)

    # -- zoom and pan -----------------------------------------------------------------------

    def zoom(self) -> float:
        return self.transform().m11()

    def zoom_by(self, factor: float) -> None:
        target = min(MAX_ZOOM, max(MIN_ZOOM, self.zoom() * factor))
        self.scale(target / self.zoom(), target / self.zoom())

    def zoom_to(self, level: float) -> None:
        self.resetTransform()
        self.scale(level, level)

    def fit(self) -> None:
        self.fitInView(self.sceneRect(), Qt.AspectRatioMode.KeepAspectRatio)
        if self.zoom() > 1.0:
            self.zoom_to(1.0)

    def wheelEvent(self, event: QWheelEvent) -> None:
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            steps = event.angleDelta().y() / 120
            if steps:
                self.zoom_by(1.25 ** steps)
            event.accept()
            return
        super().wheelEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space and self._entry is None:
            if not event.isAutoRepeat():
                self._space = True
                self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:
        # Keys typed into the floating entry bubble up here too: a space there is text.
        if event.key() == Qt.Key.Key_Space and self._entry is None:
            if not event.isAutoRepeat():
                self._space = False
                self._tool_cursor()
            return
        super().keyReleaseEvent(event)

    # -- gestures ---------------------------------------------------------------------------

    def image_point(self, pos: QPoint) -> tuple[int, int]:
        scene = self.mapToScene(pos)
        return math.floor(scene.x()), math.floor(scene.y())

    def mousePressEvent(self, event: QMouseEvent) -> None:
        pos = event.position().toPoint()
        if event.button() == Qt.MouseButton.MiddleButton or (
                event.button() == Qt.MouseButton.LeftButton and self._space):
            self._pan_from = event.position()
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            return
        if event.button() != Qt.MouseButton.LeftButton:
            return
        self.finish_entry()
        if len(self._steps.steps) >= MAX_STEPS:  # what the stored steps may hold
            self.hint.emit(f"An image takes at most {MAX_STEPS} edits; undo some to draw more.")
            return
        x, y = self.image_point(pos)
        if self.tool in ("text", "callout") and not (
                0 <= x < self.session.full_width and 0 <= y < self.session.full_height):
            self.hint.emit("Click on the image to place a " +
                           ("label." if self.tool == "text" else "numbered marker."))
            return
        if self.tool == "text":
            self._open_entry(pos, partial(self._text_done, x, y), "Type a label, Enter to place")
            return
        if self.tool == "callout":
            self.stepDrawn.emit(Callout(x, y, "", self.color, self.size_for("callout")))
            radius = self.size_for("callout") * self.zoom()
            self._open_entry(pos + QPoint(int(radius) + 6, -12), self.labelEntered.emit,
                             "What this marker means (optional)")
            return
        self._press = pos
        self._points = [(x, y)]
        self._outline = self._make_outline()
        self.scene().addItem(self._outline)
        self._update_outline(pos)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._pan_from is not None:
            delta = event.position() - self._pan_from
            self._pan_from = event.position()
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value()
                                                - int(delta.x()))
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - int(delta.y()))
            return
        if self._press is not None:
            self._update_outline(event.position().toPoint())

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._pan_from is not None:
            self._pan_from = None
            self._tool_cursor()
            if self._space:
                self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
            return
        if self._press is None or event.button() != Qt.MouseButton.LeftButton:
            return
        self._update_outline(event.position().toPoint())
        step, hint = self._finished_step()
        self._press = None
        if self._outline is not None:
            self.scene().removeItem(self._outline)
            self._outline = None
        if step is not None:
            self.stepDrawn.emit(step)
        if hint:
            self.hint.emit(hint)

    def _make_outline(self) -> QGraphicsItem:
        item = QGraphicsPathItem()
        colour = QColor(self.color)
        if self.tool == "highlight":
            colour.setAlpha(110)
            pen = QPen(colour, self.size_for("highlight"), Qt.PenStyle.SolidLine,
                       Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin)
        elif self.tool == "crop":
            pen = QPen(QColor("#ffffff"), 0, Qt.PenStyle.DashLine)
        elif self.tool == "redact":
            pen = QPen(Qt.PenStyle.NoPen)
            item.setBrush(QBrush(QColor(0, 0, 0)))
        else:
            pen = QPen(colour, self.size_for("stroke"))
            pen.setJoinStyle(Qt.PenJoinStyle.MiterJoin)
        item.setPen(pen)
        item.setZValue(3)
        return item

    def _update_outline(self, pos: QPoint) -> None:
        assert self._press is not None and isinstance(self._outline, QGraphicsPathItem)
        x, y = self.image_point(pos)
        if self.tool == "highlight":
            if (x, y) != self._points[-1] and len(self._points) < MAX_POINTS:
                self._points.append((x, y))
        else:
            self._points = [self._points[0], (x, y)]
        path = QPainterPath()
        (x0, y0), (x1, y1) = self._points[0], self._points[-1]
        if self.tool == "highlight":
            path.moveTo(x0, y0)
            for px, py in self._points[1:]:
                path.lineTo(px, py)
        elif self.tool == "arrow":
            path.moveTo(x0, y0)
            path.lineTo(x1, y1)
        elif self.tool == "ellipse":
            path.addEllipse(QRectF(min(x0, x1), min(y0, y1), abs(x1 - x0), abs(y1 - y0)))
        else:
            path.addRect(QRectF(min(x0, x1), min(y0, y1), abs(x1 - x0), abs(y1 - y0)))
        self._outline.setPath(path)

    def _finished_step(self) -> tuple[Step | None, str]:
        """The step the gesture made (None when it made none) and a hint for the user.

        Redactions and crops are clipped to the image here, so the step list holds what
        will be applied; one with no area left is ignored, and a crop to nothing refused."""
        (x0, y0), (x1, y1) = self._points[0], self._points[-1]
        box = Box(min(x0, x1), min(y0, y1), abs(x1 - x0), abs(y1 - y0))
        if self.tool == "highlight":
            hint = (f"The stroke ends at its {MAX_POINTS:,}th point; draw on with a new one."
                    if len(self._points) >= MAX_POINTS else "")
            return Highlight(tuple(self._points), self.color, self.size_for("highlight")), hint
        if self.tool == "arrow":
            if math.hypot(x1 - x0, y1 - y0) < 3:
                return None, "Drag from the tail to the tip to draw an arrow."
            return Arrow(x0, y0, x1, y1, self.color, self.size_for("stroke")), ""
        if box.w < 2 or box.h < 2:  # a click, not a drag: nothing to draw
            return None, _DRAG_HINTS[self.tool]
        if self.tool in ("redact", "crop"):
            return self._clipped(box)
        if box.clip(self.session.full_width, self.session.full_height).empty():
            name = "ellipse" if self.tool == "ellipse" else "rectangle"
            return None, f"That {name} lies outside the image, where nothing is sent."
        return Shape("ellipse" if self.tool == "ellipse" else "rect", box, self.color,
                     self.size_for("stroke")), ""

    def _clipped(self, box: Box) -> tuple[Step | None, str]:
        inside = box.clip(self.session.full_width, self.session.full_height)
        what = "redaction" if self.tool == "redact" else "crop"
        if inside.empty():
            return None, ("That redaction lies outside the image: nothing there to hide."
                          if self.tool == "redact" else
                          "That crop lies outside the image and would leave nothing to send, "
                          "so it was not applied.")
        hint = f"Clipped the {what} to the edge of the image." if inside != box else ""
        return (Redact(inside) if self.tool == "redact" else Crop(inside)), hint

    # -- typing next to the image -----------------------------------------------------------

    def _open_entry(self, pos: QPoint, done: Callable[[str], None], hint: str) -> None:
        entry = QLineEdit(self.viewport())
        entry.setPlaceholderText(hint)
        entry.setAccessibleName(hint)
        entry.setMaxLength(200)
        entry.setMinimumWidth(260)
        entry.move(pos)
        entry.returnPressed.connect(self.finish_entry)
        self._entry, self._entry_done = entry, done
        entry.show()
        entry.setFocus()

    def finish_entry(self) -> None:
        """Commit what was typed in the floating entry, if one is open."""
        entry, self._entry = self._entry, None
        if entry is None:
            return
        # Pasted text may hold line breaks or control characters: one inert line, as the
        # step model (and the legend the model reads) takes it.
        text = one_line(entry.text().replace("\r\n", "\n")).strip()
        done, self._entry_done = self._entry_done, None
        entry.hide()
        entry.deleteLater()
        self.setFocus()
        if text and done is not None:
            done(text)

    def cancel_entry(self) -> bool:
        entry, self._entry = self._entry, None
        self._entry_done = None
        if entry is None:
            return False
        entry.hide()
        entry.deleteLater()
        self.setFocus()
        return True

    def entry(self) -> QLineEdit | None:
        return self._entry

    def _text_done(self, x: int, y: int, text: str) -> None:
        self.stepDrawn.emit(Text(x, y, text, self.color, self.size_for("text")))

