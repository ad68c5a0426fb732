"""The picker drawn over a frozen grab: drag a region, or point at a window, on one screen.

One overlay per screen, each showing that screen's grab dimmed. Region: drag, arrow keys
nudge the selection by one pixel (Shift+arrows resize it), Enter or a double-click accepts,
Esc cancels; an empty or one-pixel selection is not accepted, the hint says why. Window:
the window under the cursor is highlighted before the click; a click or Enter takes it.

Signals:
    accepted(QImage, QRect): the crop at full physical resolution, and where it was
        (global logical coordinates, for placing the quick-ask panel next to it).
    cancelled(): Esc.
    drawn(): the first paint finished (the benchmark's "overlay on screen").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtCore import QPoint, QRect, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QCursor,
    QImage,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
)
from PySide6.QtWidgets import QWidget

from app.ui.capture.grab import ScreenGrab

MIN_SIDE = 2
"""A selection narrower or lower than this (in physical pixels) is refused as empty."""

REGION_HINT = "Drag to select a region · arrows nudge · Enter accepts · Esc cancels"
WINDOW_HINT = "Click a window to capture it · Esc cancels"
EMPTY_HINT = "That region is empty: drag a larger one (or Esc to cancel)."


@dataclass(frozen=True)
class PickableWindow:
    """A window the picker can offer.

    Attributes:
        rect: where it is, in global logical coordinates (for hit-testing and drawing).
        native: the same in native pixels when known (X11), for a crop exact to the pixel
            at any ratio (logical coordinates round at odd native ones).
    """

    rect: QRect
    native: QRect | None = None


class CaptureOverlay(QWidget):
    """A frameless, always-on-top sheet covering one screen (see the module docstring)."""

    accepted = Signal(QImage, QRect)
    cancelled = Signal()
    drawn = Signal()

    def __init__(self, grab: ScreenGrab, mode: str = "region",
                 windows: Sequence[PickableWindow] = ()) -> None:
        flags = Qt.WindowType
        super().__init__(None, flags.FramelessWindowHint | flags.WindowStaysOnTopHint
                         | flags.Tool | flags.BypassWindowManagerHint)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setObjectName("captureOverlay")
        self.setWindowTitle("Step Desk capture")
        self.setMouseTracking(True)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self._grab = grab
        self._mode = mode
        self._windows = [w for w in windows if w.rect.intersects(grab.geometry)]
        self._origin: QPoint | None = None
        self._rect = QRect()  # global logical
        self._picked: PickableWindow | None = None
        self._hint = WINDOW_HINT if mode == "window" else REGION_HINT
        self._drawn = False
        self.setAccessibleName(self._hint)
        self.setScreen(grab.screen)
        self.setGeometry(grab.geometry)
        if mode == "window":
            self._highlight(QCursor.pos())

    # --- queries (tests and the controller) ------------------------------------------------
    def selection(self) -> QRect:
        """The current selection or highlighted window, global logical coordinates."""
        return QRect(self._rect)

    def hint(self) -> str:
        return self._hint

    # --- painting ----------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        pixmap = self._grab.pixmap
        painter.drawPixmap(self.rect(), pixmap, pixmap.rect())
        painter.fillRect(self.rect(), QColor(0, 0, 0, 100))
        local = self._rect.translated(-self._grab.geometry.topLeft())
        if not local.isEmpty():
            painter.drawPixmap(local, pixmap, self._grab.physical(self._rect))
            painter.setPen(QPen(QColor("#3b82f6"), 1))
            painter.drawRect(local.adjusted(0, 0, -1, -1))
            size = self._grab.physical(self._rect).size()
            painter.setPen(QColor("white"))
            label_at = local.bottomLeft() + QPoint(0, 16)
            if label_at.y() > self.height() - 4:
                label_at = local.topLeft() + QPoint(4, 16)
            painter.drawText(label_at, f"{size.width()} × {size.height()}")
        painter.setPen(QColor("white"))
        painter.drawText(self.rect().adjusted(0, 16, 0, 0),
                         Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop, self._hint)
        painter.end()
        if not self._drawn:
            self._drawn = True
            self.drawn.emit()

    # --- mouse ---------------------------------------------------------------------------------
    def _global(self, event: QMouseEvent) -> QPoint:
        return event.position().toPoint() + self._grab.geometry.topLeft()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        if self._mode == "window":
            self._highlight(self._global(event))
            self._accept()
            return
        self._origin = self._global(event)
        self._set_rect(QRect())

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._mode == "window":
            self._highlight(self._global(event))
        elif self._origin is not None:
            self._set_rect(_span(self._origin, self._global(event)))

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._origin is None:
            return
        self._set_rect(_span(self._origin, self._global(event)))
        self._origin = None
        self._set_hint(EMPTY_HINT if self._too_small() else REGION_HINT)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        if self._mode == "region" and self._rect.contains(self._global(event)):
            self._accept()

    # --- keys ------------------------------------------------------------------------------------
    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key == Qt.Key.Key_Escape:
            self.cancelled.emit()
        elif key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self._accept()
        elif key in _ARROWS and self._mode == "region" and not self._rect.isEmpty():
            dx, dy = _ARROWS[Qt.Key(key)]
            if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
                grown = self._rect.adjusted(0, 0, dx, dy)
                if grown.width() >= 1 and grown.height() >= 1:
                    self._set_rect(grown)
            else:
                moved = self._rect.translated(dx, dy)
                if self._grab.geometry.contains(moved):
                    self._set_rect(moved)
        else:
            super().keyPressEvent(event)

    # --- internals -------------------------------------------------------------------------------
    def _too_small(self) -> bool:
        size = self._grab.physical(self._rect).size()
        return size.width() < MIN_SIDE or size.height() < MIN_SIDE

    def _accept(self) -> None:
        if self._rect.isEmpty() or self._too_small():
            self._set_hint(EMPTY_HINT if self._mode == "region" else WINDOW_HINT)
            return
        picked = self._picked if self._mode == "window" else None
        if picked is not None and picked.native is not None:
            image = self._grab.crop_native(picked.native)
        else:
            image = self._grab.crop(self._rect)
        self.accepted.emit(image, QRect(self._rect))

    def _highlight(self, pos: QPoint) -> None:
        under = next((w for w in self._windows if w.rect.contains(pos)), None)
        self._picked = under
        self._set_rect(QRect() if under is None else under.rect.intersected(self._grab.geometry))

    def _set_rect(self, rect: QRect) -> None:
        """Repaint only what changed (old and new selection, their size labels): a full
        4K repaint per mouse move would make the drag lag."""
        if rect == self._rect:
            return
        origin = self._grab.geometry.topLeft()
        dirty = self._rect.united(rect) if not self._rect.isEmpty() else rect
        self._rect = rect
        if dirty.isEmpty():
            self.update()
            return
        self.update(dirty.translated(-origin).adjusted(-2, -24, 160, 24))

    def _set_hint(self, text: str) -> None:
        if text != self._hint:
            self._hint = text
            self.setAccessibleName(text)
            self.update()


_ARROWS = {Qt.Key.Key_Left: (-1, 0), Qt.Key.Key_Right: (1, 0),
           Qt.Key.Key_Up: (0, -1), Qt.Key.Key_Down: (0, 1)}


def _span(a: QPoint, b: QPoint) -> QRect:
    """The rectangle dragged from `a` to `b`, end-exclusive (unlike QRect(a, b))."""
    return QRect(min(a.x(), b.x()), min(a.y(), b.y()), abs(a.x() - b.x()), abs(a.y() - b.y()))
