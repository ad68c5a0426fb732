"""The background instance (`stepdesk capture …` with none running) in its two stages.

It starts with the tray, the shortcuts, the picker and the store only: no main window, and
none of what only a window, an answer or a send needs is imported (that is the memory budget,
tests/bench/bench_tray_memory.py). A quick ask builds what it sends with at first need; the
window is built when asked for (tray › Open, "Continue in Step Desk"), and Quit from the tray
closes the store either way. The picker and tray are the real ones (offscreen platform; the
X-server tests cover the gestures), the store is a real SQLite file, the API the stand-in.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QRect
from PySide6.QtGui import QColor, QImage

from tests.ui.harness import next_signal, run, until

pytestmark = pytest.mark.qt_log_ignore("does not support")  # offscreen: no raise, no grab

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ["app.ui.main_window", "app.ui.widgets.conversation_view", "app.ui.render.markdown",
         "app.ui.widgets.quick_ask", "app.ui.controllers.attachments", "app.chat",
         "app.templates", "app.sync", "app.compare", "app.media", "httpx", "keyring",
         "markdown_it", "PIL"]

SCRIPT = """
import asyncio, json, os, sys
from functools import partial
from pathlib import Path
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from app.ui.app import BackgroundStart, make_application, make_loop
from app.ui.capture.hotkeys.base import HotkeyBackend
from tests.ui.harness import until

def state(root):
    kinds = sorted(type(w).__name__ for w in QApplication.topLevelWidgets() if w.isVisible())
    return {"imported": sorted(m for m in sys.argv[1:] if m in sys.modules),
            "window": root.background.window is not None, "visible": kinds}

async def scenario(root):
    running = asyncio.ensure_future(root.run(("capture", {"mode": "region"})))
    session = root.background.capture.session
    await until(lambda: session.overlays, what="the picker")
    QTest.keyClick(session.overlays[0], Qt.Key.Key_Escape)
    await until(lambda: not session.active and root.core.library().done(), what="the store")
    report = {"before": state(root)}
    qa = root.background.quick_ask
    root.background.tray.actions_by_name["quick_ask"].trigger()
    await until(lambda: qa.panel.tiles_row.isVisible(), what="the panel's template tiles")
    report["panel"] = state(root)
    qa.panel.dismissed.emit()
    ready = []
    root.background.tray.actions_by_name["open"].trigger()
    root.background.window.ready.connect(lambda: ready.append(True))
    await until(lambda: ready, what="the window's controllers")
    report["after"] = state(root)
    root.background.tray.actions_by_name["quit"].trigger()
    report["exit"] = await running
    print(json.dumps(report))

app = make_application()
root = BackgroundStart(dict(os.environ), Path(os.environ["STEPDESK_DATA_DIR"]),
                       hotkeys=HotkeyBackend())
with asyncio.Runner(loop_factory=partial(make_loop, app)) as runner:
    runner.run(asyncio.wait_for(scenario(root), 60))
"""


def test_starts_without_the_window_and_builds_it_when_opened_from_the_tray(
        gui_env: dict[str, str]) -> None:
    env = {**os.environ, **gui_env, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen",
           "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring"}
    out = subprocess.run([sys.executable, "-c", SCRIPT, *HEAVY], env=env, cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout.splitlines()[-1])
    assert report["before"] == {"imported": [], "window": False, "visible": []}
    panel = report["panel"]  # the panel shows its tiles: nothing is sent, nothing connects
    assert panel["visible"] == ["QuickAskPanel"] and not panel["window"]
    assert set(panel["imported"]) & {"httpx", "app.chat", "app.ui.main_window",
                                     "app.ui.render.markdown", "markdown_it"} == set()
    after = report["after"]
    assert after["window"] and after["visible"] == ["MainWindow"]
    assert "app.ui.main_window" in after["imported"] and "httpx" in after["imported"]
    assert report["exit"] == 0


def pattern() -> QImage:
    image = QImage(60, 40, QImage.Format.Format_RGB32)
    image.fill(QColor("teal"))
    return image


async def start_in_background(env: dict[str, str]) -> tuple[Any, Any]:
    import asyncio

    from app.ui.app import BackgroundStart, make_application
    from app.ui.capture.hotkeys.base import HotkeyBackend

    make_application()
    root = BackgroundStart(env, Path(env["STEPDESK_DATA_DIR"]), hotkeys=HotkeyBackend())
    running = asyncio.ensure_future(root.run(("quick_ask", {})))
    await until(lambda: root.core.library().done(), what="the store")
    return root, running


def test_quick_ask_sends_without_the_window_and_continues_in_it(
        qloop: Any, gui_env: dict[str, str], standin: Any) -> None:
    from app.ui.capture.session import Captured

    async def scenario() -> None:
        root, running = await start_in_background(gui_env)
        qa = root.background.quick_ask
        assert qa.visible  # the command: the panel without a capture
        qa.open_capture(Captured(pattern(), QRect(10, 10, 60, 40)))
        qa.panel.prompt.setPlainText("what is this")
        conversation, status, error = await next_signal(
            qa.finished, lambda: qa.send("what is this", "low", ""), timeout=30)
        assert (status, error) == ("complete", "")
        assert root.background.window is None  # the answer needed no window
        assert "what is this" in qa.panel.answer_text()

        qa.panel.continue_requested.emit()  # "Continue in Step Desk"
        window = root.background.window
        await next_signal(window.conversation_shown, timeout=30)
        await until(lambda: window.controllers.conversations.current == conversation,
                    what="the quick ask's conversation in the window")
        assert window.isVisible() and not qa.visible
        root.background.tray.actions_by_name["quit"].trigger()
        assert await running == 0
        window.deleteLater()

    run(qloop, scenario())


def test_a_second_stepdesk_opens_the_window_of_the_background_instance(
        qloop: Any, gui_env: dict[str, str], standin: Any, tmp_path: Path) -> None:
    """The real hand-over: a second `stepdesk FILE` process talks to this one's socket."""
    import asyncio

    from app.ui.platform.single_instance import SingleInstanceServer, server_name

    photo = tmp_path / "photo.png"
    pattern().save(str(photo))
    env = {**os.environ, **gui_env, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen"}

    async def scenario() -> None:
        root, running = await start_in_background(gui_env)
        server = SingleInstanceServer(server_name(Path(gui_env["STEPDESK_DATA_DIR"])))
        assert server.listen()
        root.listen(server)
        second = await asyncio.to_thread(
            subprocess.run, [sys.executable, "-m", "app", str(photo)], env=env, cwd=ROOT,
            capture_output=True, text=True, timeout=60)
        assert second.returncode == 0 and "sent to the open" in second.stderr, second.stderr
        window = root.background.window
        assert window is not None and window.isVisible()
        await until(lambda: window.attachments.ready(), what="the handed-over file")
        assert [m.original_name for m in window.attachments.ready()] == ["photo.png"]
        root.background.tray.actions_by_name["quit"].trigger()
        assert await running == 0
        server.close()
        window.deleteLater()

    run(qloop, scenario())


def test_quit_from_the_tray_before_any_window_closes_the_store(
        qloop: Any, gui_env: dict[str, str], standin: Any) -> None:
    async def scenario() -> None:
        root, running = await start_in_background(gui_env)
        services = root.core.library().result().services
        lock = services.paths.owner_dir / f"{services.store.owner}.lock"  # held while open
        assert lock.exists()
        root.background.tray.actions_by_name["quit"].trigger()
        assert await running == 0
        assert root.background.window is None and not root.background.quick_ask.visible
        assert not lock.exists()  # the store closed its connection and let go of its lock

    run(qloop, scenario())


def test_without_a_key_the_first_panel_says_so_once_the_lookup_ends(
        qloop: Any, gui_env: dict[str, str], standin: Any) -> None:
    from app.ui.controllers.quick_ask import NO_KEY

    env = {k: v for k, v in gui_env.items() if k != "STEP_API_KEY"}
    env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.null.Keyring"

    async def scenario() -> None:
        root, running = await start_in_background(env)
        qa = root.background.quick_ask  # opened by the command, before the key lookup
        await until(lambda: qa.panel.note.text() == NO_KEY, what="the no-key note")
        await qa.send("hello", "low", "")
        assert qa.panel.note.text() == NO_KEY and not standin.chat_requests()
        root.background.tray.actions_by_name["quit"].trigger()
        assert await running == 0

    run(qloop, scenario())


def test_with_a_sync_target_the_background_instance_syncs_on_its_own_and_on_quit(
        qloop: Any, gui_env: dict[str, str], standin: Any, tmp_path: Path) -> None:
    """Sync runs without the window: at start (a target is set) and once more at Quit."""
    from app.services import open_core

    target = tmp_path / "sync"
    target.mkdir()
    env = {**gui_env, "STEPDESK_SYNC_PASSPHRASE": "correct horse battery staple"}

    def written() -> bool:
        return (target / "sync.json").exists()

    async def scenario() -> None:
        services = await open_core(env)
        await services.save_options({"sync_target": str(target), "sync_on_quit": True,
                                     "sync_interval_minutes": 0})
        await services.aclose()
        root, running = await start_in_background(env)
        await until(lambda: root.core.sync is not None and written(), timeout=30,
                    what="the first sync")
        sync = root.core.sync
        await until(lambda: sync.status_text, timeout=30, what="the first sync's report")
        said: list[str] = []  # from here on: what the sync at Quit reports
        sync.statusChanged.connect(lambda text, failing: said.append(f"{failing} {text}"))
        root.background.tray.actions_by_name["quit"].trigger()
        assert await running == 0
        assert [text.split(" at ")[0] for text in said] == ["False Synced"]

    run(qloop, scenario())
