"""The window's first paint: what is loaded by then, and Qt's loop that delivers it.

Start-up speed is measured by tests/bench/bench_startup.py, never here. These tests guard
what makes it fast, so a heavy import creeping back before the first paint fails CI: a real
`run_gui` in a child process (offscreen, empty data dir) lists the modules loaded when the
real window — sidebar, welcome screen, composer — first paints, then runs on until the
services are open and closes normally.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QCloseEvent, QPaintEvent
from PySide6.QtWidgets import QWidget

from app.ui.first_paint import paint_first

ROOT = Path(__file__).resolve().parents[2]

NOT_BEFORE_FIRST_PAINT = (
    "asyncio", "qasync", "ssl", "httpx", "PIL", "markdown_it", "pygments",
    "app.config", "app.options", "app.store", "app.services", "app.chat", "app.compare",
    "app.sync", "app.templates.model",
    "app.ui.background", "app.ui.controllers.turns", "app.ui.controllers.compare",
    "app.ui.controllers.capture", "app.ui.controllers.quick_ask", "app.ui.dialogs.settings",
    "app.ui.dialogs.ask", "app.ui.render.markdown", "app.ui.render.math_images",
    "app.ui.widgets.message_widget", "app.ui.widgets.uploads_page", "importlib.resources",
)
"""Modules an empty window's first paint does not need (each was made lazy on purpose)."""

CHILD = r"""
import json, sys
from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QApplication

app = QApplication(sys.argv[:1])
seen = {}

class FirstPaint(QObject):
    def eventFilter(self, obj, event):
        if event.type() == QEvent.Type.Paint and type(obj).__name__ == "MainWindow" \
                and not seen:
            seen["modules"] = sorted(sys.modules)
            seen["shown"] = [obj.sidebar.isVisible(), obj.composer.isVisible(),
                             obj.center.currentWidget() is obj.welcome, obj.welcome.isVisible()]
            free = obj.screen().availableGeometry()
            seen["fits"] = [obj.width() <= free.width(), obj.height() <= free.height(),
                            obj.composer.send_button.isVisible()]
            obj.ready.connect(obj.close)
        return False

watch = FirstPaint()
app.installEventFilter(watch)
from app.ui.app import run_gui
code = run_gui([])
print(json.dumps(seen))
sys.exit(code)
"""


def first_start(gui_env: dict[str, str], platform: str = "offscreen") -> dict[str, Any]:
    """What the CHILD saw of a real `run_gui` on an empty data dir."""
    env = {**os.environ, **gui_env, "QT_QPA_PLATFORM": platform, "QT_API": "pyside6",
           "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", CHILD], env=env, cwd=ROOT, timeout=60,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    seen: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return seen


def test_an_empty_window_paints_before_the_heavy_modules_load(gui_env: dict[str, str]) -> None:
    seen = first_start(gui_env)
    assert seen["shown"] == [True, True, True, True]  # the real window, not a stand-in
    loaded = set(seen["modules"])
    early = [name for name in NOT_BEFORE_FIRST_PAINT
             if name in loaded or any(m.startswith(name + ".") for m in loaded)]
    assert early == []


def test_a_first_start_fits_a_small_screen(gui_env: dict[str, str], tmp_path: Path) -> None:
    """1080p at 150 % is 1280×720 logical pixels: with no remembered geometry the window
    opens within it, its send button on the screen (a fixed 760 px cut the send row off)."""
    screens = tmp_path / "screens.json"
    screens.write_text(json.dumps({"screens": [
        {"name": "small", "x": 0, "y": 0, "width": 1280, "height": 720, "logicalDpi": 96,
         "logicalBaseDpi": 96, "dpr": 1}]}), encoding="utf-8")
    seen = first_start(gui_env, f"offscreen:configfile={screens}")
    assert seen["fits"] == [True, True, True]


class Probe(QWidget):
    """A real widget that records its paints and the closes it was asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.paints = 0
        self.closes = 0

    def paintEvent(self, event: QPaintEvent) -> None:
        self.paints += 1

    def closeEvent(self, event: QCloseEvent) -> None:
        self.closes += 1
        event.accept()


def test_paint_first_returns_once_the_window_has_painted(qtbot: Any) -> None:
    probe = Probe()
    qtbot.addWidget(probe)
    paint_first(probe)
    assert probe.isVisible()
    assert probe.paints >= 1
    assert probe.closes == 0


class CloseOnShow(QObject):
    """Asks the window to close as it is shown: a close that comes before its first paint."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Show and isinstance(watched, QWidget):
            watched.removeEventFilter(self)
            watched.close()
        return False


def test_a_close_before_the_first_paint_waits_for_the_real_loop(qtbot: Any) -> None:
    """The window's shutdown is a coroutine: a close asked for while only Qt's loop runs is
    held, then asked again once the next loop (asyncio's, in the app) runs."""
    probe = Probe()
    qtbot.addWidget(probe)
    closer = CloseOnShow()
    probe.installEventFilter(closer)
    paint_first(probe)
    assert (probe.closes, probe.paints) == (0, 0) and probe.isVisible()
    qtbot.waitUntil(lambda: probe.closes == 1)
    assert not probe.isVisible()
