"""Settings → Appearance switches the theme, and rendered answers follow it."""

from __future__ import annotations

from typing import Any

from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication

from app.ui.style.look import Look
from app.ui.style.theme import DARK, LIGHT
from app.ui.widgets.conversation_view import ConversationView


def test_dark_then_light_again(qtbot: Any) -> None:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    palette, font, sheet = QPalette(app.palette()), QFont(app.font()), app.styleSheet()
    view = ConversationView()
    qtbot.addWidget(view)
    look = Look(app, appearance="light")
    themes: list[object] = []
    look.changed.connect(themes.append)
    try:
        look.set_appearance("dark")
        assert app.palette().color(QPalette.ColorRole.Window) == QColor(DARK.background)
        qtbot.waitUntil(
            lambda: view.palette().color(QPalette.ColorRole.Base) == QColor(DARK.surface))
        look.set_appearance("light")
        assert app.palette().color(QPalette.ColorRole.Window) == QColor(LIGHT.background)
        assert themes == [DARK, LIGHT]
        look.step_text(+1)
        assert app.font().pointSizeF() > font.pointSizeF()
        look.step_text(0)
        assert app.font().pointSizeF() == font.pointSizeF()
    finally:
        app.setStyleSheet(sheet)
        app.setPalette(palette)
        app.setFont(font)
