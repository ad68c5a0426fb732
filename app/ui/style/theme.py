"""The designed light, dark and high-contrast looks, declared once.

A `Theme` is a handful of colour tokens. `apply_theme` turns one into the application palette
and the one style sheet; widgets never set colours of their own, they pick a token through the
palette (`palette(window)`, `palette(base)`, …) or a dynamic property that the style sheet
styles (`role="card"`, `role="chip"`, …). Light, dark and high contrast are one switch.

Why a style sheet at all: rounded cards, chips and the segmented effort control need borders
and radii that QPalette cannot express. Why only one: a per-widget `setStyleSheet` is re-parsed
per widget and breaks palette propagation.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from PySide6.QtGui import QColor, QFont, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

APPEARANCES = ("system", "light", "dark")
TEXT_SCALES = (0.8, 0.9, 1.0, 1.1, 1.25, 1.4, 1.6, 1.8, 2.0)
"""The steps of Ctrl+= / Ctrl+−; Ctrl+0 returns to 1.0."""


@dataclass(frozen=True)
class Theme:
    """Colour tokens (CSS hex) every widget and the Markdown renderer draw from."""

    name: str
    dark: bool
    background: str  # the window behind everything
    surface: str  # cards, the composer, bubbles
    sunken: str  # the sidebar and inputs inside cards
    border: str
    text: str
    muted: str  # secondary text: hints, timestamps, figures
    accent: str  # the one colour for selection, focus and the primary button
    accent_text: str  # text on the accent
    code_background: str
    danger: str  # refusals and errors
    warning: str  # conversions and notes
    focus_width: int = 2


LIGHT = Theme(
    name="light", dark=False, background="#f7f7f8", surface="#ffffff", sunken="#efeff1",
    border="#d9d9de", text="#1f1f24", muted="#6b6b76", accent="#3b5bdb", accent_text="#ffffff",
    code_background="#f3f3f6", danger="#c92a2a", warning="#a35a00")
DARK = Theme(
    name="dark", dark=True, background="#18181b", surface="#232327", sunken="#1d1d21",
    border="#3a3a41", text="#ececf1", muted="#a0a0ab", accent="#7b93f5", accent_text="#0d0d12",
    code_background="#1b1b1f", danger="#ff8787", warning="#ffc078")
HIGH_CONTRAST_LIGHT = replace(
    LIGHT, name="high-contrast-light", background="#ffffff", surface="#ffffff",
    sunken="#ffffff", border="#000000", text="#000000", muted="#000000", accent="#0000c0",
    code_background="#ffffff", danger="#a00000", warning="#000000", focus_width=3)
HIGH_CONTRAST_DARK = replace(
    DARK, name="high-contrast-dark", background="#000000", surface="#000000", sunken="#000000",
    border="#ffffff", text="#ffffff", muted="#ffffff", accent="#ffff00", accent_text="#000000",
    code_background="#000000", danger="#ff6060", warning="#ffffff", focus_width=3)


def choose_theme(appearance: str, system_dark: bool, high_contrast: bool = False) -> Theme:
    """The theme for a Settings choice (`system`, `light`, `dark`) on this desktop."""
    dark = system_dark if appearance not in ("light", "dark") else appearance == "dark"
    if high_contrast:
        return HIGH_CONTRAST_DARK if dark else HIGH_CONTRAST_LIGHT
    return DARK if dark else LIGHT


def system_prefers_dark() -> bool:
    """What the desktop reports (Qt ≥ 6.5 reads it from the platform), else the palette."""
    hints = QGuiApplication.styleHints()
    scheme = hints.colorScheme()
    if scheme != scheme.Unknown:
        return scheme == scheme.Dark
    window = QGuiApplication.palette().color(QPalette.ColorRole.Window)
    return window.lightnessF() < 0.5


def system_high_contrast() -> bool:
    """The OS's high-contrast mode, where Qt exposes it (Qt 6.10+), else off."""
    hints = QGuiApplication.styleHints()
    getter = getattr(hints, "accessibility", None)
    if getter is None:
        return False
    contrast = getter().contrastPreference()
    return contrast == contrast.HighContrast


def palette_for(theme: Theme) -> QPalette:
    role, group = QPalette.ColorRole, QPalette.ColorGroup
    palette = QPalette()
    colours = {
        role.Window: theme.background, role.WindowText: theme.text, role.Base: theme.surface,
        role.AlternateBase: theme.sunken, role.Text: theme.text, role.Button: theme.surface,
        role.ButtonText: theme.text, role.Highlight: theme.accent,
        role.HighlightedText: theme.accent_text, role.Link: theme.accent,
        role.LinkVisited: theme.accent, role.ToolTipBase: theme.surface,
        role.ToolTipText: theme.text, role.PlaceholderText: theme.muted, role.Mid: theme.border,
        role.Midlight: theme.sunken, role.Light: theme.surface, role.Dark: theme.border,
        role.Shadow: "#000000", role.BrightText: theme.danger, role.Accent: theme.accent,
    }
    for colour_role, colour in colours.items():
        palette.setColor(colour_role, QColor(colour))
    for colour_role in (role.Text, role.ButtonText, role.WindowText):
        palette.setColor(group.Disabled, colour_role, QColor(theme.muted))
    return palette


def style_sheet(theme: Theme) -> str:
    """The one application style sheet: shapes by role, colours from the theme."""
    t = theme
    return f"""
QToolTip {{ color: {t.text}; background: {t.surface}; border: 1px solid {t.border};
  padding: 4px 6px; }}
*[role="card"] {{ background: {t.surface}; border: 1px solid {t.border}; border-radius: 14px; }}
*[role="bubble"] {{ background: {t.sunken}; border-radius: 14px; }}
*[role="sidebar"] {{ background: {t.sunken}; }}
QLabel[role="muted"], QLabel[role="group"] {{ color: {t.muted}; }}
QLabel[role="group"] {{ font-weight: 600; padding: 8px 8px 2px 8px; }}
QLabel[role="danger"] {{ color: {t.danger}; }}
QLabel[role="warning"] {{ color: {t.warning}; }}
QToolButton[role="icon"] {{ border: none; border-radius: 8px; padding: 4px; }}
QToolButton[role="icon"]:hover {{ background: {t.sunken}; }}
QToolButton[role="icon"]:focus {{ outline: none; border: {t.focus_width}px solid {t.accent}; }}
QToolButton[role="primary"] {{ background: {t.accent}; border: none; border-radius: 16px;
  padding: 6px; }}
QToolButton[role="primary"]:disabled {{ background: {t.border}; }}
QToolButton[role="primary"]:focus {{ border: {t.focus_width}px solid {t.text}; }}
QToolButton[role="chip"] {{ border: 1px solid {t.border}; border-radius: 12px;
  padding: 2px 10px; color: {t.text}; background: {t.surface}; }}
QToolButton[role="chip"]:hover {{ background: {t.sunken}; }}
QToolButton[role="chip"]:focus {{ border: {t.focus_width}px solid {t.accent}; }}
QToolButton[role="segment"] {{ border: 1px solid {t.border}; padding: 2px 12px;
  color: {t.muted}; background: {t.surface}; }}
QToolButton[role="segment"][position="first"] {{ border-top-left-radius: 12px;
  border-bottom-left-radius: 12px; }}
QToolButton[role="segment"][position="last"] {{ border-top-right-radius: 12px;
  border-bottom-right-radius: 12px; }}
QToolButton[role="segment"]:checked {{ background: {t.accent}; color: {t.accent_text};
  border-color: {t.accent}; }}
QToolButton[role="segment"]:focus {{ border: {t.focus_width}px solid {t.text}; }}
QPushButton:focus, QLineEdit:focus, QComboBox:focus, QListView:focus, QTreeView:focus {{
  border: {t.focus_width}px solid {t.accent}; }}
"""


def scaled_font(base: QFont, scale: float) -> QFont:
    """`base` at `scale` × its size (Ctrl+= / Ctrl+−), never below 6 pt."""
    font = QFont(base)
    if base.pointSizeF() > 0:
        font.setPointSizeF(max(6.0, base.pointSizeF() * scale))
    else:
        font.setPixelSize(max(8, round(base.pixelSize() * scale)))
    return font


def next_scale(current: float, step: int) -> float:
    """The next step of `TEXT_SCALES` up (+1) or down (−1); 0 resets to 1.0."""
    if step == 0:
        return 1.0
    nearest = min(range(len(TEXT_SCALES)), key=lambda i: abs(TEXT_SCALES[i] - current))
    index = max(0, min(len(TEXT_SCALES) - 1, nearest + step))
    return TEXT_SCALES[index]


def apply_theme(app: QApplication, theme: Theme, base_font: QFont, scale: float = 1.0) -> None:
    """Switch the whole application: style, palette, style sheet and text size at once."""
    if app.style().name().lower() != "fusion":
        app.setStyle("Fusion")  # the one style that honours every palette role everywhere
    app.setPalette(palette_for(theme))
    app.setFont(scaled_font(base_font, scale))
    app.setStyleSheet(style_sheet(theme))
