"""Light / dark: follow the system by default, or force one (the Settings "Appearance" choice).

Qt follows the desktop's colour scheme where the platform reports one (Windows, macOS, GNOME and
KDE through the portal). Where it reports none — a bare X server, some window managers — or when
the user wants the other scheme than the desktop's, we install a Fusion palette ourselves.
"""

from __future__ import annotations

from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

APPEARANCES = ("system", "light", "dark")

_DARK = {
    QPalette.ColorRole.Window: "#202124", QPalette.ColorRole.WindowText: "#e8eaed",
    QPalette.ColorRole.Base: "#17181a", QPalette.ColorRole.AlternateBase: "#2a2b2e",
    QPalette.ColorRole.Text: "#e8eaed", QPalette.ColorRole.Button: "#2d2e31",
    QPalette.ColorRole.ButtonText: "#e8eaed", QPalette.ColorRole.Highlight: "#3d6fd6",
    QPalette.ColorRole.HighlightedText: "#ffffff", QPalette.ColorRole.Link: "#8ab4f8",
    QPalette.ColorRole.ToolTipBase: "#2d2e31", QPalette.ColorRole.ToolTipText: "#e8eaed",
    QPalette.ColorRole.PlaceholderText: "#9aa0a6", QPalette.ColorRole.Mid: "#5f6368",
    QPalette.ColorRole.Light: "#3c4043", QPalette.ColorRole.Dark: "#111214",
    QPalette.ColorRole.Midlight: "#35363a", QPalette.ColorRole.Shadow: "#000000",
    QPalette.ColorRole.BrightText: "#ffffff",
}


def dark_palette() -> QPalette:
    palette = QPalette()
    for role, colour in _DARK.items():
        palette.setColor(role, QColor(colour))
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText,
                 QPalette.ColorRole.WindowText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor("#80868b"))
    return palette


def apply_appearance(app: QApplication, appearance: str, system_palette: QPalette) -> None:
    """Switch the whole application's palette; widgets get a PaletteChange and redraw."""
    if appearance == "dark":
        app.setStyle("Fusion")
        app.setPalette(dark_palette())
    elif appearance == "light" and _system_is_dark(system_palette):
        app.setStyle("Fusion")
        app.setPalette(app.style().standardPalette())
    else:
        app.setPalette(system_palette)


def _system_is_dark(palette: QPalette) -> bool:
    return palette.color(QPalette.ColorRole.Window).lightnessF() < 0.5


def current_system_palette() -> QPalette:
    """The palette Qt chose from the platform before we changed anything (call at start-up)."""
    return QPalette(QGuiApplication.palette())
