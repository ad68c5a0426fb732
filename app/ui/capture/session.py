"""One capture, start to finish: hide Step Desk, grab, let the user pick, give back pixels.

`CaptureSession.run(mode)` → `Captured` or None (cancelled). Modes: "region", "window",
"screen" (the screen under the cursor), "screens" (all of them side by side). On Wayland
the grab goes through the Screenshot portal, which shows the desktop's own picker.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QPoint, QRect
from PySide6.QtGui import QGuiApplication, QImage, QScreen
from PySide6.QtWidgets import QWidget

from app.ui.capture import x11_windows
from app.ui.capture.grab import (
    CaptureError,
    HiddenWindows,
    ScreenGrab,
    compose_all,
    grab_screens,
    screen_under_cursor,
)
from app.ui.capture.overlay import CaptureOverlay, PickableWindow

if TYPE_CHECKING:
    from PySide6.QtDBus import QDBusConnection

MODES = ("region", "window", "screen", "screens")


@dataclass
class Captured:
    """What a capture produced: full-resolution pixels and where they were on screen."""

    image: QImage
    where: QRect  # global logical coordinates


def is_wayland() -> bool:
    return "wayland" in QGuiApplication.platformName().lower()


def pickable_windows(exclude: Sequence[int] = ()) -> list[PickableWindow]:
    """Other clients' windows, topmost first, in logical and native coordinates (X11 only)."""
    if not x11_windows.available():
        return []
    screens = QGuiApplication.screens()
    found = []
    for win in x11_windows.window_stack(exclude):
        screen = _screen_of_native(screens, win.rect.center())
        if screen is None:
            continue
        origin, dpr = screen.geometry().topLeft(), screen.devicePixelRatio()
        top_left = (win.rect.topLeft() - origin) / dpr + origin
        logical = QRect(top_left, win.rect.size() / dpr)
        found.append(PickableWindow(logical, win.rect))
    return found


def _screen_of_native(screens: Sequence[QScreen], point: QPoint) -> QScreen | None:
    for screen in screens:
        geo = screen.geometry()
        if QRect(geo.topLeft(), geo.size() * screen.devicePixelRatio()).contains(point):
            return screen
    return None


class CaptureSession:
    """Runs captures; at most one at a time (a second request while picking is ignored).

    Args:
        keep_visible: windows not to hide (none, normally).
        on_overlays: called with the overlays once shown (the benchmark and tests).
        portal_timeout: seconds to wait for the Screenshot portal (Wayland).
        use_portal: capture through the portal (default: on Wayland only).
        portal_bus: the QDBusConnection for the portal (default: the session bus).
    """

    def __init__(self, keep_visible: Sequence[QWidget] = (),
                 on_overlays: Callable[[list[CaptureOverlay]], None] | None = None,
                 portal_timeout: float | None = None, use_portal: bool | None = None,
                 portal_bus: QDBusConnection | None = None) -> None:
        self._keep = list(keep_visible)
        self._on_overlays = on_overlays
        self._portal_timeout = portal_timeout
        self._use_portal = use_portal
        self._portal_bus = portal_bus
        self.active = False
        self.overlays: list[CaptureOverlay] = []

    async def run(self, mode: str) -> Captured | None:
        if mode not in MODES:
            raise CaptureError(f"Unknown capture mode {mode!r}: use one of {', '.join(MODES)}.")
        if self.active:
            return None
        self.active = True
        hidden = HiddenWindows(self._keep)
        try:
            if self._use_portal if self._use_portal is not None else is_wayland():
                return await self._portal()
            await hidden.hide()
            windows = pickable_windows() if mode == "window" else []
            grabs = grab_screens()
            if mode == "screen":
                grab = screen_under_cursor(grabs)
                return Captured(grab.pixmap.toImage(), QRect(grab.geometry))
            if mode == "screens":
                where = QRect()
                for g in grabs:
                    where = where.united(g.geometry)
                return Captured(compose_all(grabs), where)
            return await self._pick(grabs, mode, windows)
        finally:
            self.active = False
            hidden.restore()

    async def _pick(self, grabs: list[ScreenGrab], mode: str,
                    windows: list[PickableWindow]) -> Captured | None:
        done: asyncio.Future[Captured | None] = asyncio.get_running_loop().create_future()

        def accepted(image: QImage, where: QRect) -> None:
            if not done.done():
                done.set_result(Captured(image, where))

        def cancelled() -> None:
            if not done.done():
                done.set_result(None)

        self.overlays = [CaptureOverlay(g, mode, windows) for g in grabs]
        under = screen_under_cursor(grabs)
        for overlay, grab in zip(self.overlays, grabs, strict=True):
            overlay.accepted.connect(accepted)
            overlay.cancelled.connect(cancelled)
            overlay.show()
            if grab is under:
                overlay.raise_()
                overlay.activateWindow()
        focus = self.overlays[grabs.index(under)]
        focus.grabKeyboard()  # keys reach us although another app had the focus
        if self._on_overlays is not None:
            self._on_overlays(self.overlays)
        try:
            return await done
        finally:
            focus.releaseKeyboard()
            for overlay in self.overlays:
                overlay.close()
            self.overlays = []

    async def _portal(self) -> Captured | None:
        from app.ui.capture import portal

        data = await portal.screenshot(self._portal_timeout or portal.SCREENSHOT_TIMEOUT_S,
                                       self._portal_bus)
        if data is None:
            return None
        image = QImage.fromData(data)
        if image.isNull():
            raise CaptureError("The desktop's screenshot could not be read as an image.")
        return Captured(image, QRect())
