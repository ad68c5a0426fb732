"""The application's current look: appearance choice, system scheme, contrast and text size.

One object owns the switch so the Settings choice, the desktop's own scheme changing under us
(Qt's `colorSchemeChanged`) and Ctrl+= / Ctrl+− / Ctrl+0 all end in one `apply_theme`.

Signals:
    changed(object): the `Theme` now applied (the Markdown view re-renders its colours).
    text_scale_changed(float): the text size factor, to be remembered.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QFont, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

from app.ui.style.theme import (
    Theme,
    apply_theme,
    choose_theme,
    next_scale,
    system_high_contrast,
)

BASE_FONT_PROPERTY = "stepdesk-base-font"


def base_font(app: QApplication) -> QFont:
    """The application font before any text scaling: recorded once, so a second window (or
    a test's) does not scale an already scaled font."""
    recorded = app.property(BASE_FONT_PROPERTY)
    if isinstance(recorded, QFont):
        return QFont(recorded)
    font = QFont(app.font())
    app.setProperty(BASE_FONT_PROPERTY, font)
    return font


class Look(QObject):
    changed = Signal(object)
    text_scale_changed = Signal(float)

    def __init__(self, app: QApplication, appearance: str = "system",
                 text_scale: float = 1.0) -> None:
        super().__init__(app)
        self._app = app
        self._base_font = base_font(app)
        # What the platform reported before we installed a palette of our own: the fallback
        # when Qt cannot tell the scheme (a bare X server reports none).
        self._palette_dark = QGuiApplication.palette().color(
            QPalette.ColorRole.Window).lightnessF() < 0.5
        self._appearance = appearance
        self._scale = text_scale
        self._theme = self._choose()
        app.styleHints().colorSchemeChanged.connect(self._system_changed)

    @property
    def theme(self) -> Theme:
        return self._theme

    @property
    def text_scale(self) -> float:
        return self._scale

    def _system_dark(self) -> bool:
        scheme = self._app.styleHints().colorScheme()
        if scheme == scheme.Unknown:
            return self._palette_dark
        return scheme == scheme.Dark

    def _choose(self) -> Theme:
        return choose_theme(self._appearance, self._system_dark(), system_high_contrast())

    def apply(self) -> None:
        self._theme = self._choose()
        apply_theme(self._app, self._theme, self._base_font, self._scale)
        self.changed.emit(self._theme)

    def set_appearance(self, appearance: str) -> None:
        if appearance != self._appearance or self._choose() != self._theme:
            self._appearance = appearance
            self.apply()

    def step_text(self, step: int) -> None:
        """Ctrl+= (+1), Ctrl+− (−1), Ctrl+0 (0, back to 100 %)."""
        scale = next_scale(self._scale, step)
        if scale != self._scale:
            self._scale = scale
            self.apply()
            self.text_scale_changed.emit(scale)

    def _system_changed(self) -> None:
        if self._appearance == "system":
            self.apply()
