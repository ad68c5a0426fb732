"""Step Desk's icon, for the window and the tray alike.

Its own module so the background instance (tray only, `app.ui.background`) has the icon
without importing the main window.
"""

from __future__ import annotations

from PySide6.QtGui import QIcon

ICON_SIZES = (16, 32, 48, 64, 128, 256)


def app_icon() -> QIcon:
    """The window icon from the packaged PNGs (plain files, importlib.resources)."""
    from importlib.resources import files

    icon = QIcon()
    base = files("app") / "resources" / "icons"
    for size in ICON_SIZES:
        icon.addFile(str(base / f"stepdesk-{size}.png"))
    return icon
