"""Capture parts on their own: the picker's keys and crops, the single-instance commands,
`stepdesk capture` parsing, shortcut parsing, and a shortcut another X client holds.

The picker runs offscreen on a grab made here (a pixmap twice the screen's logical size
stands for a 2× screen), so the logical → physical conversion is checked exactly.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QPointF, QRect, Qt
from PySide6.QtGui import QColor, QGuiApplication, QImage, QKeyEvent, QMouseEvent, QPixmap

from tests.ui.harness import next_signal, run
from tests.xdesk import Desk, x_desktop

ROOT = Path(__file__).resolve().parents[2]


def grab_at(scale: int) -> Any:
    """A ScreenGrab of the primary screen whose pixels are `scale`× its logical size."""
    from app.ui.capture.grab import ScreenGrab

    screen = QGuiApplication.primaryScreen()
    geo = screen.geometry()
    image = QImage(geo.width() * scale, geo.height() * scale, QImage.Format.Format_RGB32)
    for y in range(0, 200 * scale):
        for x in range(0, 300 * scale):
            image.setPixelColor(x, y, QColor(x % 256, y % 256, (x * y) % 256))
    return ScreenGrab(screen, QRect(geo), QPixmap.fromImage(image))


def mouse(overlay: Any, kind: QMouseEvent.Type, x: int, y: int) -> None:
    button = Qt.MouseButton.LeftButton
    buttons = Qt.MouseButton.NoButton if kind == QMouseEvent.Type.MouseButtonRelease else button
    event = QMouseEvent(kind, QPointF(x, y), QPointF(x, y), button, buttons,
                        Qt.KeyboardModifier.NoModifier)
    QGuiApplication.sendEvent(overlay, event)


def key(overlay: Any, k: Qt.Key, mods: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier
        ) -> None:
    QGuiApplication.sendEvent(overlay, QKeyEvent(QKeyEvent.Type.KeyPress, k, mods))


def drag(overlay: Any, x0: int, y0: int, x1: int, y1: int) -> None:
    mouse(overlay, QMouseEvent.Type.MouseButtonPress, x0, y0)
    mouse(overlay, QMouseEvent.Type.MouseMove, x1, y1)
    mouse(overlay, QMouseEvent.Type.MouseButtonRelease, x1, y1)


@pytest.mark.parametrize("scale", [1, 2])
def test_region_crop_is_exact_in_physical_pixels(qtbot: Any, scale: int) -> None:
    from app.ui.capture.overlay import CaptureOverlay

    grab = grab_at(scale)
    overlay = CaptureOverlay(grab)
    qtbot.addWidget(overlay)
    got: list[tuple[QImage, QRect]] = []
    overlay.accepted.connect(lambda image, where: got.append((image, where)))
    drag(overlay, 10, 20, 110, 70)
    assert not got  # a drag selects; Enter accepts
    key(overlay, Qt.Key.Key_Right)  # nudge one logical pixel right and down
    key(overlay, Qt.Key.Key_Down)
    key(overlay, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)  # one wider
    key(overlay, Qt.Key.Key_Return)
    (image, where), = got
    assert where == QRect(11, 21, 101, 50)
    assert (image.width(), image.height()) == (101 * scale, 50 * scale)
    expected = grab.pixmap.toImage().copy(11 * scale, 21 * scale, 101 * scale, 50 * scale)
    assert image.convertToFormat(QImage.Format.Format_RGB32) == expected


def grab_beside(left: int, scale: int, seed: int) -> Any:
    """A ScreenGrab of a 400×300 screen whose left edge is at global x = `left`, at `scale`
    physical pixels per logical one, every pixel distinct (a second monitor beside the
    first; the offscreen platform has one screen, so the geometry is what is tested)."""
    from app.ui.capture.grab import ScreenGrab

    image = QImage(400 * scale, 300 * scale, QImage.Format.Format_RGB32)
    for y in range(image.height()):
        for x in range(image.width()):
            image.setPixelColor(x, y, QColor((x + seed) % 256, y % 256, (x // 256 + seed) % 256))
    return ScreenGrab(QGuiApplication.primaryScreen(), QRect(left, 0, 400, 300),
                      QPixmap.fromImage(image))


def test_a_region_on_a_second_monitor_at_another_ratio_is_its_own_pixels(qtbot: Any) -> None:
    """Monitors side by side at 1× and 2×: a region dragged on the right one is reported in
    global logical coordinates and cut from that monitor's grab in its physical pixels."""
    from app.ui.capture.overlay import CaptureOverlay

    right = grab_beside(400, 2, seed=7)
    overlay = CaptureOverlay(right)
    qtbot.addWidget(overlay)
    got: list[tuple[QImage, QRect]] = []
    overlay.accepted.connect(lambda image, where: got.append((image, where)))
    drag(overlay, 30, 40, 130, 90)
    key(overlay, Qt.Key.Key_Return)
    (image, where), = got
    assert where == QRect(430, 40, 100, 50)
    expected = right.pixmap.toImage().copy(60, 80, 200, 100)
    assert image.convertToFormat(QImage.Format.Format_RGB32) == expected


def test_all_monitors_at_different_ratios_compose_at_the_highest(qtbot: Any) -> None:
    from app.ui.capture.grab import compose_all

    left, right = grab_beside(0, 1, seed=0), grab_beside(400, 2, seed=99)
    whole = compose_all([left, right])
    assert (whole.width(), whole.height()) == (1600, 600)
    # the 2× monitor's pixels land unscaled at its place; the 1× one is drawn twice as big
    assert whole.copy(800, 0, 800, 600) == right.pixmap.toImage()
    assert whole.pixelColor(10, 10) == left.pixmap.toImage().pixelColor(5, 5)


@pytest.mark.parametrize(("x1", "y1"), [(10, 20), (11, 60), (60, 21)])  # empty, 1 px wide/high
def test_empty_or_one_pixel_region_is_refused_with_a_hint(qtbot: Any, x1: int, y1: int) -> None:
    from app.ui.capture.overlay import EMPTY_HINT, CaptureOverlay

    overlay = CaptureOverlay(grab_at(1))
    qtbot.addWidget(overlay)
    got: list[object] = []
    overlay.accepted.connect(got.append)
    drag(overlay, 10, 20, x1, y1)
    key(overlay, Qt.Key.Key_Return)
    assert not got and overlay.hint() == EMPTY_HINT


def test_window_mode_highlights_the_window_under_the_cursor(qtbot: Any) -> None:
    from app.ui.capture.overlay import CaptureOverlay, PickableWindow

    grab = grab_at(2)
    front, back = QRect(50, 40, 80, 60), QRect(0, 0, 200, 150)
    windows = [PickableWindow(front, QRect(100, 80, 160, 120)), PickableWindow(back)]
    overlay = CaptureOverlay(grab, "window", windows)
    qtbot.addWidget(overlay)
    mouse(overlay, QMouseEvent.Type.MouseMove, 60, 50)
    assert overlay.selection() == front  # the topmost window containing the cursor
    mouse(overlay, QMouseEvent.Type.MouseMove, 10, 10)
    assert overlay.selection() == back
    got: list[QImage] = []
    overlay.accepted.connect(lambda image, _where: got.append(image))
    mouse(overlay, QMouseEvent.Type.MouseButtonPress, 60, 50)
    (image,) = got  # cut by its native rectangle: exact at any ratio
    assert image.convertToFormat(QImage.Format.Format_RGB32) == \
        grab.pixmap.toImage().copy(100, 80, 160, 120)


def test_escape_cancels(qtbot: Any) -> None:
    from app.ui.capture.overlay import CaptureOverlay

    overlay = CaptureOverlay(grab_at(1))
    qtbot.addWidget(overlay)
    with qtbot.waitSignal(overlay.cancelled, timeout=1000):
        key(overlay, Qt.Key.Key_Escape)


@pytest.mark.parametrize(("argv", "command"), [
    ([], {"mode": "region", "template": "", "prompt": ""}),
    (["--window"], {"mode": "window", "template": "", "prompt": ""}),
    (["--screen", "what", "is", "this"],
     {"mode": "screen", "template": "", "prompt": "what is this"}),
    (["--screens", "-t", "screenshot-to-code"],
     {"mode": "screens", "template": "screenshot-to-code", "prompt": ""}),
])
def test_capture_command_line(argv: list[str], command: dict[str, str]) -> None:
    from app.cli.capture import parse_capture

    assert parse_capture(argv) == ("capture", command)


@pytest.mark.parametrize("argv", [["--region", "--window"], ["--nope"], ["--template"]])
def test_capture_command_line_mistakes_exit_2_with_one_line(argv: list[str]) -> None:
    proc = subprocess.run([sys.executable, "-m", "app", "capture", *argv], cwd=ROOT,
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr


@pytest.mark.parametrize(("text", "parsed"), [
    ("Ctrl+Alt+S", ({"ctrl", "alt"}, "s")),
    ("ctrl + alt + space", ({"ctrl", "alt"}, "space")),
    ("Meta+Shift+F5", ({"super", "shift"}, "f5")),
    ("Ctrl++", ({"ctrl"}, "+")),
])
def test_shortcut_text(text: str, parsed: tuple[set[str], str]) -> None:
    from app.options import parse_sequence

    mods, key_name = parse_sequence(text)
    assert (set(mods), key_name) == parsed


@pytest.mark.parametrize("text", ["", "S", "Ctrl+", "Hyper+S", "Ctrl+Alt"])
def test_bad_shortcut_text_says_why(text: str) -> None:
    from app.options import BadSequence, parse_sequence

    with pytest.raises(BadSequence, match=r"\w"):
        parse_sequence(text)


def _raw_line(path: str, line: bytes) -> bytes:
    """Send one line over the instance socket without Qt (a hostile or old client)."""
    import socket

    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(10)
        sock.connect(path)
        sock.sendall(line)
        return sock.recv(16)


def test_single_instance_carries_capture_commands(qloop: Any, tmp_path: Path) -> None:
    """A real `python -m app capture …` process hands its command to the listening one."""
    from app.ui.platform.single_instance import SingleInstanceServer, server_name

    data_dir = tmp_path / "data"
    data_dir.mkdir()
    name = server_name(data_dir)

    async def scenario() -> None:
        server = SingleInstanceServer(name)
        assert server.listen()
        try:
            env = {**os.environ, "PYTHONPATH": str(ROOT), "STEPDESK_DATA_DIR": str(data_dir),
                   "QT_QPA_PLATFORM": "offscreen"}
            child = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "app", "capture", "--window", "why", "so",
                env=env, cwd=str(ROOT), stderr=asyncio.subprocess.PIPE)
            got = await next_signal(server.command_received, timeout=30)
            _out, err = await asyncio.wait_for(child.communicate(), 30)
            assert child.returncode == 0, err.decode()
            assert got == ("capture", {"mode": "window", "template": "", "prompt": "why so"})
            path = server.full_name()
            for line in (b'{"capture": "not a dict"}\n', b"not json\n", b'{"other": 1}\n'):
                answer = await asyncio.get_running_loop().run_in_executor(
                    None, _raw_line, path, line)
                assert answer == b"bad\n"
        finally:
            server.close()

    run(qloop, scenario())


@pytest.fixture
def desk() -> Iterator[Desk]:
    with x_desktop(640, 480) as d:
        yield d


def test_shortcut_taken_by_another_client_is_reported_with_a_free_one(
        qtbot: Any, desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    """A second X client grabs Ctrl+Alt+S first: Settings says so and offers another."""
    from Xlib import XK, X, display

    from app.ui.capture.hotkeys.x11 import X11Hotkeys
    from app.ui.controllers.capture import CaptureController
    from app.ui.widgets.shortcut_settings import ShortcutSettings

    monkeypatch.setenv("DISPLAY", desk.display)  # python-xlib's display; Qt stays offscreen
    other = display.Display(desk.display)
    code = other.keysym_to_keycode(XK.string_to_keysym("s"))
    other.screen().root.grab_key(code, X.ControlMask | X.Mod1Mask, False, X.GrabModeAsync,
                                 X.GrabModeAsync)
    other.sync()
    hotkeys = X11Hotkeys()
    controller = CaptureController(quick_ask=None, tasks=None, hotkeys=hotkeys)  # type: ignore[arg-type]
    try:
        problems = controller.apply_shortcuts("Ctrl+Alt+S", "")
        assert problems["capture"] == ("Ctrl+Alt+S is already taken by another program; "
                                       "choose another shortcut in Settings.")
        section = ShortcutSettings(True, {"capture": "Ctrl+Alt+S"}, tray_exists=True)
        qtbot.addWidget(section)
        problem, alternative = controller.try_shortcut("capture", "Ctrl+Alt+S")
        section.set_problem("capture", problem, alternative)
        assert section.problems["capture"].text() == problem
        assert alternative == "Ctrl+Alt+Shift+S"
        edits: list[tuple[str, str]] = []
        section.shortcut_edited.connect(lambda n, s: edits.append((n, s)))
        section.alternatives["capture"].click()
        assert edits == [("capture", "Ctrl+Alt+Shift+S")]
        assert controller.try_shortcut(*edits[0]) == (None, "")
        assert desk.key_taken(X.ControlMask | X.Mod1Mask | X.ShiftMask, "s")  # ours now
        assert desk.key_taken(X.ControlMask | X.Mod1Mask | X.ShiftMask | X.Mod2Mask, "s")
    finally:
        controller.close()
        other.close()
