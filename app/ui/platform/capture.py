"""Screen capture: hide the window, grab every screen, let the user drag a region.

On X11, Windows and macOS `QScreen.grabWindow(0)` works (macOS shows only the wallpaper
without the Screen Recording permission: we say so when the grab comes back empty). On
Wayland it returns nothing, so we ask the xdg-desktop-portal Screenshot interface over
QtDBus, which runs its own interactive region picker.
"""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path

from PySide6.QtCore import QObject, QPoint, QRect, Qt, QUrl, Signal, Slot
from PySide6.QtGui import (
    QColor,
    QGuiApplication,
    QImage,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPixmap,
    QScreen,
)
from PySide6.QtWidgets import QWidget

from app.ui.widgets.drop_overlay import image_to_png

HIDE_DELAY_S = 0.25
PORTAL_TIMEOUT_S = 120.0
MAX_SCREENSHOT_BYTES = 300_000_000  # far above any screen grab; a bound, not a size
MIN_SIDE = 4


class CaptureError(Exception):
    """Capturing is impossible here; the message says why, for the status bar."""


class RegionOverlay(QWidget):
    """A frameless full-screen sheet showing one screen's grab; drag to select, Esc cancels.

    Signals:
        selected(QImage): the chosen region at the screen's full pixel resolution.
        cancelled(): Esc, or a click without a drag.
    """

    selected = Signal(QImage)
    cancelled = Signal()

    def __init__(self, pixmap: QPixmap, screen: QScreen | None = None) -> None:
        flags = Qt.WindowType
        super().__init__(None, flags.FramelessWindowHint | flags.WindowStaysOnTopHint | flags.Tool)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setAccessibleName("Drag to select a screen region, Esc to cancel")
        self.setCursor(Qt.CursorShape.CrossCursor)
        self._pixmap = pixmap
        self._origin: QPoint | None = None
        self._rect = QRect()
        if screen is not None:
            self.setScreen(screen)
            self.setGeometry(screen.geometry())

    def selection(self) -> QRect:
        return QRect(self._rect)

    def crop(self, rect: QRect) -> QImage:
        """The logical `rect` of this overlay, cut from the grab at full device pixels."""
        return self._pixmap.copy(self._source_rect(rect)).toImage()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.drawPixmap(self.rect(), self._pixmap)
        painter.fillRect(self.rect(), QColor(0, 0, 0, 90))
        if not self._rect.isNull():
            painter.drawPixmap(self._rect, self._pixmap, self._source_rect(self._rect))
            painter.setPen(QColor("#3b82f6"))
            painter.drawRect(self._rect.adjusted(0, 0, -1, -1))
        painter.setPen(QColor("white"))
        painter.drawText(self.rect().adjusted(0, 16, 0, 0),
                         Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop,
                         "Drag to select a region · Esc cancels")

    def _source_rect(self, rect: QRect) -> QRect:
        """Logical overlay coordinates → grab pixels (the grab is at the screen's ratio)."""
        sx = self._pixmap.width() / max(1, self.width())
        sy = self._pixmap.height() / max(1, self.height())
        return QRect(round(rect.x() * sx), round(rect.y() * sy),
                     round(rect.width() * sx), round(rect.height() * sy))

    @staticmethod
    def _span(a: QPoint, b: QPoint) -> QRect:
        """The rectangle dragged from `a` to `b` (end-exclusive, unlike QRect(a, b))."""
        return QRect(min(a.x(), b.x()), min(a.y(), b.y()), abs(a.x() - b.x()), abs(a.y() - b.y()))

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self._origin = event.position().toPoint()
        self._rect = QRect()
        self.update()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._origin is not None:
            self._rect = self._span(self._origin, event.position().toPoint())
            self.update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._origin is None:
            return
        self._rect = self._span(self._origin, event.position().toPoint())
        self._origin = None
        if self._rect.width() < MIN_SIDE or self._rect.height() < MIN_SIDE:
            self.cancelled.emit()
        else:
            self.selected.emit(self.crop(self._rect))

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.cancelled.emit()
        else:
            super().keyPressEvent(event)


async def pick_region(overlays: list[RegionOverlay]) -> QImage | None:
    """Show the overlays and wait for a selection on any of them (None when cancelled)."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[QImage | None] = loop.create_future()

    def finish(result: QImage | None) -> None:
        if not done.done():
            done.set_result(result)

    for overlay in overlays:
        overlay.selected.connect(finish)
        overlay.cancelled.connect(lambda: finish(None))
        overlay.showFullScreen()
        overlay.activateWindow()
    try:
        return await done
    finally:
        for overlay in overlays:
            overlay.close()


async def capture_region(window: QWidget) -> bytes | None:
    """Hide `window`, capture a user-chosen region as PNG bytes; None if the user cancelled."""
    if "wayland" in QGuiApplication.platformName().lower():
        return await _portal_screenshot()
    window.hide()
    try:
        await asyncio.sleep(HIDE_DELAY_S)  # let the compositor actually remove the window
        overlays = []
        for screen in QGuiApplication.screens():
            pixmap = screen.grabWindow(0)  # at the screen's own device pixel ratio
            if not pixmap.isNull():
                overlays.append(RegionOverlay(pixmap, screen))
        if not overlays:
            raise CaptureError(
                "The screen could not be captured here (on macOS, allow Screen Recording "
                "for Step Desk in System Settings › Privacy & Security).")
        image = await pick_region(overlays)
    finally:
        window.show()
        window.raise_()
        window.activateWindow()
    if image is None:
        return None
    return await asyncio.to_thread(image_to_png, image)


class _PortalReceiver(QObject):
    """Receives the portal's Request.Response signal (a QtDBus slot needs a QObject)."""

    def __init__(self, future: asyncio.Future[tuple[int, dict]]) -> None:
        super().__init__()
        self._future = future

    @Slot("uint", "QVariantMap")  # the signal's own type: QtDBus refuses an int slot
    def response(self, code: int, results: dict) -> None:
        if not self._future.done():
            self._future.set_result((int(code), dict(results)))


async def _portal_screenshot() -> bytes | None:
    """xdg-desktop-portal Screenshot (interactive): the portal shows its own region picker."""
    try:
        from PySide6.QtCore import SLOT
        from PySide6.QtDBus import QDBusConnection, QDBusInterface, QDBusMessage
    except ImportError as exc:
        raise CaptureError("Screen capture on Wayland needs QtDBus, which this Qt build "
                           "lacks; use your desktop's screenshot tool and paste.") from exc
    bus = QDBusConnection.sessionBus()
    if not bus.isConnected():
        raise CaptureError("Screen capture on Wayland needs the session D-Bus, which is not "
                           "running; use your desktop's screenshot tool and paste.")
    token = "stepdesk" + secrets.token_hex(6)
    sender = bus.baseService().lstrip(":").replace(".", "_")
    handle = f"/org/freedesktop/portal/desktop/request/{sender}/{token}"
    future: asyncio.Future[tuple[int, dict]] = asyncio.get_running_loop().create_future()
    receiver = _PortalReceiver(future)
    bus.connect("org.freedesktop.portal.Desktop", handle, "org.freedesktop.portal.Request",
                "Response", receiver, SLOT("response(uint,QVariantMap)"))
    iface = QDBusInterface("org.freedesktop.portal.Desktop", "/org/freedesktop/portal/desktop",
                           "org.freedesktop.portal.Screenshot", bus)
    reply = iface.call("Screenshot", "", {"handle_token": token, "interactive": True})
    if reply.type() == QDBusMessage.MessageType.ErrorMessage:
        raise CaptureError(f"The desktop refused the screenshot request: {reply.errorMessage()}")
    try:
        code, results = await asyncio.wait_for(future, PORTAL_TIMEOUT_S)
    except TimeoutError as exc:
        raise CaptureError("The desktop's screenshot dialog did not answer.") from exc
    if code != 0:
        return None  # 1 = cancelled by the user, 2 = other end
    path = Path(QUrl(str(results.get("uri", ""))).toLocalFile())
    from app.boundedread import ReadRefused, read_bounded

    try:  # a path the desktop named: bounded by bytes read, never a FIFO or device
        return await asyncio.to_thread(read_bounded, path, MAX_SCREENSHOT_BYTES,
                                       what="screenshot")
    except ReadRefused as exc:
        raise CaptureError(f"The screenshot file {path.name} could not be read.") from exc
