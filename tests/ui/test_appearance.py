"""Settings → Appearance switches the palette, and rendered answers follow it."""

from __future__ import annotations

from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication

from app.ui.platform.appearance import apply_appearance, current_system_palette
from app.ui.widgets.conversation_view import ConversationView


def lightness(app: QApplication) -> float:
    return app.palette().color(QPalette.ColorRole.Window).lightnessF()


def test_dark_then_system_again(qtbot) -> None:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    system = current_system_palette()
    view = ConversationView()
    qtbot.addWidget(view)
    try:
        apply_appearance(app, "dark", system)
        assert lightness(app) < 0.3
        qtbot.waitUntil(
            lambda: view.palette().color(QPalette.ColorRole.Base).lightnessF() < 0.3)
        apply_appearance(app, "system", system)
        assert app.palette().color(QPalette.ColorRole.Window) == \
            system.color(QPalette.ColorRole.Window)
    finally:
        app.setPalette(system)
