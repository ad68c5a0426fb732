"""The system tray icon that keeps Step Desk reachable while its window is closed.

Its menu: Capture region / window / screen, Quick ask, Open Step Desk, Quit. A click on the
icon opens the window. Where the desktop has no tray (`QSystemTrayIcon.isSystemTrayAvailable`
is False) nothing is shown and closing the window quits, as before.

Signals:
    capture_requested(str): "region", "window" or "screen".
    quick_ask_requested(): Quick ask without a capture.
    open_requested(): show the main window.
    quit_requested(): quit for real.
"""

from __future__ import annotations

from functools import partial

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction, QIcon
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from app.safetext import one_line

BACKGROUND_NOTE = ("Step Desk keeps running in the tray, so the capture shortcut works. "
                   "Quit from the tray menu, or turn this off in Settings.")


def notification_text(text: str) -> str:
    """Text for a desktop notification: control characters shown (`app.safetext`), and no
    `<`, `>` or `&`, which notification daemons may read as markup (a remote `<img>`)."""
    return one_line(text).replace("<", "‹").replace(">", "›").replace("&", "＆")


def tray_available() -> bool:
    return QSystemTrayIcon.isSystemTrayAvailable()


class Tray(QObject):
    """See the module docstring."""

    capture_requested = Signal(str)
    quick_ask_requested = Signal()
    open_requested = Signal()
    quit_requested = Signal()

    def __init__(self, icon: QIcon, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.menu = QMenu()
        self.actions_by_name: dict[str, QAction] = {}
        for name, text in (("region", "Capture region"), ("window", "Capture window"),
                           ("screen", "Capture screen")):
            action = self.menu.addAction(text)
            action.triggered.connect(partial(self.capture_requested.emit, name))
            self.actions_by_name[name] = action
        self.actions_by_name["quick_ask"] = self.menu.addAction("Quick ask")
        self.actions_by_name["quick_ask"].triggered.connect(self.quick_ask_requested)
        self.menu.addSeparator()
        self.actions_by_name["open"] = self.menu.addAction("Open Step Desk")
        self.actions_by_name["open"].triggered.connect(self.open_requested)
        self.actions_by_name["quit"] = self.menu.addAction("Quit")
        self.actions_by_name["quit"].triggered.connect(self.quit_requested)
        self.icon = QSystemTrayIcon(icon, self)
        self.icon.setToolTip("Step Desk")
        self.icon.setContextMenu(self.menu)
        self.icon.activated.connect(self._activated)

    def show(self) -> bool:
        """Show the icon where a tray exists; False (nothing shown) where none does."""
        if not tray_available():
            return False
        self.icon.show()
        return True

    def is_shown(self) -> bool:
        return self.icon.isVisible()

    def set_shortcuts(self, capture: str, quick_ask: str) -> None:
        """Show the global shortcuts in the menu (text only: the grab is elsewhere)."""
        self.actions_by_name["region"].setText(f"Capture region\t{capture}" if capture
                                               else "Capture region")
        self.actions_by_name["quick_ask"].setText(f"Quick ask\t{quick_ask}" if quick_ask
                                                  else "Quick ask")

    def say(self, text: str) -> None:
        """A balloon from the tray icon (the first-time background note, capture errors)."""
        if self.icon.isVisible():
            self.icon.showMessage("Step Desk", notification_text(text),
                                  QSystemTrayIcon.MessageIcon.Information, 8000)

    def hide(self) -> None:
        self.icon.hide()

    def _activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason in (QSystemTrayIcon.ActivationReason.Trigger,
                      QSystemTrayIcon.ActivationReason.DoubleClick):
            self.open_requested.emit()
