"""Step Desk's icon, for the window and the tray alike.

Its own module so the background instance (tray only, `app.ui.background`) has the icon
without importing the main window.
"""

from __future__ import annotations

from PySide6.QtGui import QIcon

from app.ui.style.icons import ICON_DIR

ICON_SIZES = (16, 32, 48, 64, 128, 256)


def app_icon() -> QIcon:
    """The window icon from the packaged PNGs, plain files read from the folder beside the
    package as the UI icons are (importlib.resources would be imported for it before the
    first paint)."""
    icon = QIcon()
    for size in ICON_SIZES:
        icon.addFile(str(ICON_DIR.parent / f"stepdesk-{size}.png"))
    return icon
