"""Frozen screen grabs and exact crops in physical pixels, with Step Desk's windows hidden.

A grab is taken once, before the picker is shown, so what the user selects is exactly what
was on screen (nothing moves under the overlay) and the crop is cut from that one grab.
Every rectangle the user sees is in Qt's logical (device-independent) coordinates; the grab
is at the screen's own pixel ratio, so a crop converts logical → physical per screen:
300×200 logical at 2× is a 600×400 image of exactly what was under it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QCursor, QGuiApplication, QImage, QPainter, QPixmap, QScreen
from PySide6.QtWidgets import QApplication, QWidget

from app.ui.capture import x11_windows

log = logging.getLogger(__name__)

UNMAP_TIMEOUT_S = 1.0
"""Upper bound on waiting for the X server to confirm our windows are unmapped."""

OTHER_PLATFORM_SETTLE_S = 0.25
"""Windows/macOS give no "gone from the screen" event a Qt app can await: a short settle."""


class CaptureError(Exception):
    """Capturing is impossible here; the message says why, in one sentence."""


@dataclass
class ScreenGrab:
    """One screen's pixels, frozen at grab time.

    Attributes:
        screen: the Qt screen (for placing the picker on it).
        geometry: the screen's rectangle in global logical coordinates.
        pixmap: the screen's pixels at its full physical resolution.
    """

    screen: QScreen
    geometry: QRect
    pixmap: QPixmap

    @property
    def scale(self) -> float:
        """Physical pixels per logical pixel on this screen (as grabbed)."""
        return self.pixmap.width() / max(1, self.geometry.width())

    def physical(self, rect: QRect) -> QRect:
        """Global logical `rect` (clipped to this screen) → the grab's physical pixels."""
        local = rect.intersected(self.geometry).translated(-self.geometry.topLeft())
        s = self.scale
        left, top = round(local.x() * s), round(local.y() * s)
        right = round((local.x() + local.width()) * s)
        bottom = round((local.y() + local.height()) * s)
        return QRect(left, top, right - left, bottom - top)

    def crop_native(self, rect: QRect) -> QImage:
        """The pixels under a rectangle in native pixels (X11 window geometry).

        Qt keeps a screen's native top-left as its logical top-left, so only the size
        scales: the native rectangle relative to that corner is already in grab pixels.
        """
        local = rect.translated(-self.geometry.topLeft()).intersected(self.pixmap.rect())
        return self.pixmap.copy(local).toImage()

    def crop(self, rect: QRect) -> QImage:
        """The pixels under global logical `rect`, at full physical resolution."""
        return self.pixmap.copy(self.physical(rect)).toImage()


def grab_screens(screens: Sequence[QScreen] | None = None) -> list[ScreenGrab]:
    """Grab every screen (or the given ones); raise CaptureError when nothing came back."""
    grabs = []
    for screen in screens if screens is not None else QGuiApplication.screens():
        pixmap = screen.grabWindow(0)
        if not pixmap.isNull():
            grabs.append(ScreenGrab(screen, screen.geometry(), pixmap))
    if not grabs:
        raise CaptureError(
            "The screen could not be captured here (on macOS, allow Screen Recording for "
            "Step Desk in System Settings › Privacy & Security).")
    return grabs


def screen_under_cursor(grabs: Sequence[ScreenGrab]) -> ScreenGrab:
    """The grab of the screen the mouse is on (the first one when it is on none)."""
    pos = QCursor.pos()
    return next((g for g in grabs if g.geometry.contains(pos)), grabs[0])


def compose_all(grabs: Sequence[ScreenGrab]) -> QImage:
    """Every screen side by side as one image, at the highest pixel ratio among them."""
    bounds = QRect()
    for g in grabs:
        bounds = bounds.united(g.geometry)
    scale = max(g.scale for g in grabs)
    image = QImage(round(bounds.width() * scale), round(bounds.height() * scale),
                   QImage.Format.Format_RGB32)
    image.fill(0)
    painter = QPainter(image)
    for g in grabs:
        at = (g.geometry.topLeft() - bounds.topLeft()) * scale
        target = QRect(at, g.geometry.size() * scale)
        painter.drawPixmap(target, g.pixmap, g.pixmap.rect())
    painter.end()
    return image


def _own_windows() -> list[QWidget]:
    """Step Desk's visible top-level windows. Not the tray icon: on X11 it is a widget too,
    embedded in the tray with the window manager bypassed, and hiding it would remove it."""
    bypass = Qt.WindowType.BypassWindowManagerHint
    return [w for w in QApplication.topLevelWidgets()
            if w.isVisible() and w.isWindow() and not w.windowFlags() & bypass]


class HiddenWindows:
    """Hide Step Desk's windows for a grab and show them again afterwards.

    `hide()` waits until the windows are really gone: on X11 for the server's UnmapNotify
    of each one (an event, read on a private python-xlib connection); elsewhere for a short
    settle, since no such event reaches a Qt app.
    """

    def __init__(self, keep: Sequence[QWidget] = ()) -> None:
        self._keep = list(keep)
        self._hidden: list[QWidget] = []

    async def hide(self) -> None:
        windows = [w for w in _own_windows() if w not in self._keep]
        if not windows:
            return
        watcher = None
        if x11_windows.available():
            watcher = x11_windows.UnmapWatcher([int(w.winId()) for w in windows])
        for window in windows:
            window.hide()
        self._hidden = windows
        if watcher is None:
            await asyncio.sleep(OTHER_PLATFORM_SETTLE_S)
            return
        await _sync_outside_tasks()  # flush Qt's unmap requests to the server
        try:
            await asyncio.to_thread(watcher.wait, UNMAP_TIMEOUT_S)
        finally:
            watcher.close()

    def restore(self) -> None:
        for window in self._hidden:
            window.show()
        self._hidden = []


async def _sync_outside_tasks() -> None:
    """`QGuiApplication.sync()`, run from the loop itself rather than inside this task.

    sync() processes pending events, and under qasync that steps other tasks; called from a
    task's own step it made asyncio refuse them ("Cannot enter into task … while another task
    is being executed"), leaving e.g. start-up hanging when a capture began meanwhile.
    """
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()

    def flush() -> None:
        try:
            QGuiApplication.sync()
        finally:
            if not done.done():
                done.set_result(None)

    loop.call_soon(flush)
    await done
