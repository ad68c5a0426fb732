"""Global shortcuts that work while another app has the focus, one backend per platform.

Every backend is a `HotkeyBackend` (`base`): `register(name, sequence)` returns None or one
sentence saying why the shortcut cannot be had (taken by another program, refused by the
desktop), and `activated(name)` fires when it is pressed. This package only chooses:
`make_backend()` imports the one for the running platform — X11 (python-xlib key grab),
Wayland (the GlobalShortcuts portal), Windows (RegisterHotKey), macOS (Carbon
RegisterEventHotKey); where none works, the base class explains `stepdesk capture` for the
desktop's own shortcut settings.
"""

from __future__ import annotations

import sys

from PySide6.QtGui import QGuiApplication

from app.ui.capture.hotkeys.base import HotkeyBackend


def make_backend() -> HotkeyBackend:
    """The backend for this platform (the explaining fallback where none exists)."""
    platform = QGuiApplication.platformName()
    if platform == "xcb":
        from app.ui.capture.hotkeys.x11 import X11Hotkeys

        try:
            return X11Hotkeys()
        except OSError:
            return HotkeyBackend()
    if "wayland" in platform.lower():
        from app.ui.capture.hotkeys.portal import PortalHotkeys

        return PortalHotkeys()
    if sys.platform == "win32":
        from app.ui.capture.hotkeys.windows import WindowsHotkeys

        return WindowsHotkeys()
    if sys.platform == "darwin":
        from app.ui.capture.hotkeys.macos import MacHotkeys

        return MacHotkeys()
    return HotkeyBackend()
