"""Capture from anywhere, on a real X server: shortcut, drag, Enter, prompt → the upload.

Each test starts Xvfb + openbox (tests/xdesk.py), a pattern window (tests/capture_pattern.py)
that has the focus, and Step Desk as a real process on the xcb platform, then drives it with
xdotool and checks, against the stand-in, that the uploaded image is exactly what the X
server showed under the region, pixel for pixel (at scale 1 and 2).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image, ImageChops

from tests.conftest import TEST_API_KEY
from tests.xdesk import Desk, Proc, holds_within, wait_until, x_desktop

OVERLAY, PANEL = "^Step Desk capture$", "Quick ask"


@pytest.fixture
def desk() -> Iterator[Desk]:
    with x_desktop() as d:
        yield d


@pytest.fixture
def pattern(desk: Desk, tmp_path: Path) -> Iterator[int]:
    """The pattern window, shown, raised and focused; yields its X id."""
    proc = Proc(desk, ["-m", "tests.capture_pattern"], log=tmp_path / "pattern.log")
    try:
        assert proc.read_line() == "ready", proc.text()
        xid = desk.wait_window("^capture-pattern$")
        desk.xdotool("windowactivate", "--sync", str(xid))
        wait_drawn(desk, xid)
        yield xid
    finally:
        proc.stop()


PATTERN: list[Image.Image] = []


def wait_drawn(desk: Desk, xid: int) -> None:
    """Until the X server shows the whole pattern (a raised window repaints after Expose)."""
    from tests.capture_pattern import pattern_bytes

    if not PATTERN:
        PATTERN.append(Image.frombytes("RGB", (800, 600), pattern_bytes()))
    x, y, w, h = desk.client_rect(xid)

    def shown() -> bool:
        got = desk.root_image().crop((x, y, x + w, y + h))
        return ImageChops.difference(got, PATTERN[0]).getbbox() is None

    wait_until(shown, 30, "the pattern on screen")


def app_env(standin: Any, data_dir: Path, scale: int = 1) -> dict[str, str]:
    env = {"STEPDESK_DATA_DIR": str(data_dir), "STEP_BASE_URL": standin.base_url,
           "STEP_API_KEY": TEST_API_KEY,
           "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring"}
    if scale != 1:
        env["QT_SCALE_FACTOR"] = str(scale)
    return env


def start_app(desk: Desk, env: dict[str, str], log: Path, *args: str) -> Proc:
    return Proc(desk, ["-m", "app", *args], env=env, log=log)


def wait_shortcut(desk: Desk, proc: Proc) -> None:
    """Step Desk is up when Ctrl+Alt+S opens its picker; Esc closes it again.

    Pressed, not probed: a probe that grabs the key itself to see whether it is taken would,
    in the instant it holds it, make Step Desk's own grab fail ("already taken").
    """
    def picker_opened() -> bool:
        assert proc.popen.poll() is None, proc.text()
        desk.xdotool("key", "ctrl+alt+s")  # before the grab it goes to the focused window
        return holds_within(lambda: desk.visible(OVERLAY), 1)

    wait_until(picker_opened, 60, "the global shortcut to open the picker")
    desk.xdotool("key", "Escape")
    wait_until(lambda: not desk.visible(OVERLAY) and desk.keyboard_free(), 30,
               "the picker to close and let the keyboard go")


def drag(desk: Desk, x0: int, y0: int, x1: int, y1: int) -> None:
    desk.xdotool("mousemove", str(x0), str(y0), "mousedown", "1",
                 "mousemove", str((x0 + x1) // 2), str((y0 + y1) // 2),
                 "mousemove", str(x1), str(y1), "mouseup", "1")


def ready(desk: Desk) -> int:
    """The quick-ask panel, once keys typed now reach it: the picker gone (its keyboard grab
    with it) and the X input focus on the panel — typing earlier loses the first letters."""
    panel = desk.wait_window(PANEL)
    wait_until(lambda: not desk.visible(OVERLAY) and desk.has_focus(panel), 30,
               "the quick-ask panel to have the keyboard")
    return panel


def ask(desk: Desk, standin: Any, prompt: str, before: int = 0) -> dict[str, Any]:
    """Type into the focused quick-ask panel, press Enter; the chat request that came."""
    ready(desk)
    if prompt:
        desk.xdotool("type", "--delay", "5", prompt)
    desk.xdotool("key", "Return")
    wait_until(lambda: len(standin.chat_requests()) > before, 60, "the chat request")
    return standin.chat_requests()[-1].json


def sent_images(standin: Any, request: dict[str, Any]) -> list[Image.Image]:
    """The images a chat request refers to, fetched back from the stand-in's file store."""
    ids = re.findall(r"stepfile://([\w-]+)", str(request))
    http = httpx.Client(base_url=standin.base_url,
                        headers={"Authorization": f"Bearer {TEST_API_KEY}"})
    with http:
        return [Image.open(io.BytesIO(http.get(f"/files/{fid}/content").content)).convert("RGB")
                for fid in ids]


def assert_same(got: Image.Image, expected: Image.Image) -> None:
    assert got.size == expected.size
    assert ImageChops.difference(got, expected).getbbox() is None, "pixels differ"
    assert len(expected.getcolors(1 << 20) or []) > 4  # the region really holds the pattern


@pytest.mark.parametrize("scale", [1, 2])
def test_shortcut_region_is_exact_in_physical_pixels(desk: Desk, pattern: int, standin: Any,
                                                      data_dir: Path, tmp_path: Path,
                                                      scale: int) -> None:
    app = start_app(desk, app_env(standin, data_dir, scale), tmp_path / "app.log")
    try:
        wait_shortcut(desk, app)
        desk.xdotool("windowactivate", "--sync", str(pattern))  # another app has the focus
        wait_drawn(desk, pattern)
        screen = desk.root_image()
        desk.xdotool("key", "ctrl+alt+s")
        desk.wait_window(OVERLAY)
        # 300×200 logical at 2× is 600×400 physical: always drag in native pixels.
        x0, y0, w, h = 160, 140, 300 * scale, 200 * scale
        drag(desk, x0, y0, x0 + w, y0 + h)
        desk.xdotool("key", "Return")
        request = ask(desk, standin, "what is in this region")
        images = sent_images(standin, request)
        assert len(images) == 1
        assert images[0].size == (w, h)
        assert_same(images[0], screen.crop((x0, y0, x0 + w, y0 + h)))
        assert "what is in this region" in str(request)
    finally:
        app.stop()


def test_window_capture_without_running_instance(desk: Desk, pattern: int, standin: Any,
                                                 data_dir: Path, tmp_path: Path) -> None:
    x, y, w, h = desk.client_rect(pattern)
    screen = desk.root_image()
    desk.xdotool("mousemove", str(x + w // 2), str(y + h // 2))
    app = start_app(desk, app_env(standin, data_dir), tmp_path / "app.log",
                    "capture", "--window")
    try:
        desk.wait_window(OVERLAY, timeout=60)
        desk.xdotool("click", "1")
        request = ask(desk, standin, "which window")
        (image,) = sent_images(standin, request)
        assert_same(image, screen.crop((x, y, x + w, y + h)))
    finally:
        app.stop()


def test_cli_capture_hands_over_to_the_running_instance(desk: Desk, pattern: int,
                                                        standin: Any, data_dir: Path,
                                                        tmp_path: Path) -> None:
    env = app_env(standin, data_dir)
    app = start_app(desk, env, tmp_path / "app.log")
    try:
        wait_shortcut(desk, app)
        desk.xdotool("windowactivate", "--sync", str(pattern))
        wait_drawn(desk, pattern)
        screen = desk.root_image()
        second = start_app(desk, env, tmp_path / "second.log", "capture", "--region",
                           "describe", "it")
        assert second.popen.wait(60) == 0, second.text()
        assert "sent to the running Step Desk" in second.text()
        second.stop()
        desk.wait_window(OVERLAY)
        drag(desk, 100, 100, 301, 181)
        desk.xdotool("key", "Return")
        request = ask(desk, standin, "")  # the prompt came pre-filled from the command line
        assert "describe it" in str(request)
        (image,) = sent_images(standin, request)
        assert_same(image, screen.crop((100, 100, 301, 181)))
    finally:
        app.stop()


def test_escape_at_every_step_attaches_nothing(desk: Desk, pattern: int, standin: Any,
                                               data_dir: Path, tmp_path: Path) -> None:
    app = start_app(desk, app_env(standin, data_dir), tmp_path / "app.log")
    try:
        wait_shortcut(desk, app)
        desk.xdotool("windowactivate", "--sync", str(pattern))
        wait_drawn(desk, pattern)
        screen = desk.root_image()
        desk.xdotool("key", "ctrl+alt+s")  # 1: Esc in the picker before dragging
        desk.wait_window(OVERLAY)
        desk.xdotool("key", "Escape")
        wait_until(lambda: not desk.visible(OVERLAY) and desk.keyboard_free(), 30,
                   "the picker to close and let the keyboard go")
        desk.xdotool("key", "ctrl+alt+s")  # 2: Esc after a drag, before Enter
        desk.wait_window(OVERLAY)
        drag(desk, 80, 80, 200, 200)
        desk.xdotool("key", "Escape")
        wait_until(lambda: not desk.visible(OVERLAY) and desk.keyboard_free(), 30,
                   "the picker to close and let the keyboard go")
        desk.xdotool("key", "ctrl+alt+s")  # 3: Esc in the quick-ask panel
        desk.wait_window(OVERLAY)
        drag(desk, 90, 90, 250, 250)
        desk.xdotool("key", "Return")
        ready(desk)
        desk.xdotool("type", "never sent")
        desk.xdotool("key", "Escape")
        wait_until(lambda: not desk.visible(PANEL), 30, "the panel to close")
        desk.xdotool("key", "ctrl+alt+s")  # 4: the one that is sent
        desk.wait_window(OVERLAY)
        drag(desk, 300, 120, 420, 200)
        desk.xdotool("key", "Return")
        request = ask(desk, standin, "only this")
        images = sent_images(standin, request)
        assert len(images) == 1 and len(standin.upload_requests()) == 1
        assert_same(images[0], screen.crop((300, 120, 420, 200)))
        assert "never sent" not in str(request)
    finally:
        app.stop()


def test_closing_the_window_keeps_step_desk_in_the_tray(desk: Desk, pattern: int, standin: Any,
                                                        data_dir: Path, tmp_path: Path) -> None:
    """With a tray, closing hides the window; the shortcut still captures; said once."""
    import sqlite3

    tray = desk.start_tray()
    app = start_app(desk, app_env(standin, data_dir), tmp_path / "app.log")
    try:
        wait_shortcut(desk, app)
        window = desk.wait_window("^Step Desk$")
        desk.xdotool("windowactivate", "--sync", str(window), "key", "alt+F4")
        wait_until(lambda: not desk.visible("^Step Desk$"), 30, "the window to hide")
        assert app.popen.poll() is None
        db = sqlite3.connect(data_dir / "stepdesk.db")
        try:
            wait_until(lambda: db.execute("SELECT value FROM settings WHERE key = ?",
                                          ("background_note_shown",)).fetchone() == ("1",),
                       30, "the one-time note to be remembered")
        finally:
            db.close()
        desk.xdotool("windowactivate", "--sync", str(pattern))
        wait_drawn(desk, pattern)
        screen = desk.root_image()
        desk.xdotool("key", "ctrl+alt+s")  # still answering from the tray
        desk.wait_window(OVERLAY)
        drag(desk, 120, 110, 260, 210)
        desk.xdotool("key", "Return")
        (image,) = sent_images(standin, ask(desk, standin, "from the tray"))
        assert_same(image, screen.crop((120, 110, 260, 210)))
    finally:
        app.stop()
        tray.terminate()
        tray.wait(10)


def test_in_window_capture_is_the_same_session_and_lands_in_the_composer(
        desk: Desk, pattern: int, standin: Any, data_dir: Path, tmp_path: Path) -> None:
    """Ctrl+Shift+S in Step Desk's window: the same picker as the global shortcut (the window
    hidden first), and the region goes to the window's composer, not to a quick-ask panel."""
    app = start_app(desk, app_env(standin, data_dir), tmp_path / "app.log")
    try:
        wait_shortcut(desk, app)
        window = desk.wait_window("^Step Desk$")
        px, py, pw, _ph = desk.client_rect(pattern)
        # Beside the pattern, not over it: what the picker freezes is then what is on screen
        # now, with no repaint of an uncovered pattern to wait for.
        desk.xdotool("windowsize", "--sync", str(window), "700", "600",
                     "windowmove", "--sync", str(window), str(px + pw + 40), str(py))
        wait_drawn(desk, pattern)
        screen = desk.root_image()
        desk.xdotool("windowactivate", "--sync", str(window))
        wait_until(lambda: desk.has_focus(window), 30, "Step Desk's window to have the focus")
        desk.xdotool("key", "ctrl+shift+s")  # Esc first: the window comes back, nothing added
        desk.wait_window(OVERLAY)
        desk.xdotool("key", "Escape")
        window = desk.wait_window("^Step Desk$")
        wait_until(lambda: not desk.visible(OVERLAY) and desk.has_focus(window), 30,
                   "the window back with the keyboard after Esc")
        desk.xdotool("key", "ctrl+shift+s")
        desk.wait_window(OVERLAY)
        assert not desk.visible("^Step Desk$"), "the window is hidden for the grab"
        x0, y0 = px + 50, py + 40
        drag(desk, x0, y0, x0 + 240, y0 + 160)
        desk.xdotool("key", "Return")
        window = desk.wait_window("^Step Desk$")
        wait_until(lambda: not desk.visible(OVERLAY) and desk.has_focus(window), 30,
                   "the window back with the keyboard")
        assert not desk.visible(PANEL)
        desk.xdotool("type", "--delay", "5", "in the window")

        def sent() -> bool:  # Enter while the capture is still being prepared is refused
            desk.xdotool("key", "Return")  # (the text stays); once it is ready, it sends
            return holds_within(lambda: standin.chat_requests(), 2)

        wait_until(sent, 60, "the chat request")
        request = standin.chat_requests()[-1].json
        assert "in the window" in str(request)
        (image,) = sent_images(standin, request)
        assert_same(image, screen.crop((x0, y0, x0 + 240, y0 + 160)))
    finally:
        app.stop()
