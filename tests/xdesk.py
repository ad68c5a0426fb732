"""A real X desktop for gesture tests: Xvfb + openbox on a free display, driven by xdotool.

Windows under test run as subprocesses on the xcb platform (the test process itself stays
offscreen). Readiness is taken from the X server (the socket answers, the window manager
has set _NET_SUPPORTING_WM_CHECK, `xdotool search --sync` found a window), never from sleeps.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]


def wait_until(predicate: Callable[[], object], timeout: float, what: str) -> None:
    """Poll a condition another process makes true (bounded; fails with `what`)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def holds_within(predicate: Callable[[], object], seconds: float) -> bool:
    """Whether `predicate()` becomes true within `seconds` (one bounded try of a retried
    gesture; the caller's own `wait_until` bounds the whole)."""
    try:
        wait_until(predicate, seconds, "one try")
    except AssertionError:
        return False
    return True


@dataclass
class Desk:
    display: str
    width: int
    height: int

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("QT_", "WAYLAND", "XDG_SESSION"))}
        env.update(DISPLAY=self.display, QT_QPA_PLATFORM="xcb",
                   PYTHONPATH=str(ROOT), QT_API="pyside6")
        return env

    def xdotool(self, *args: str, timeout: float = 30) -> str:
        out = subprocess.run(["xdotool", *args], env=self.env, capture_output=True,
                             text=True, timeout=timeout, check=True)
        return out.stdout.strip()

    def wait_window(self, name: str, timeout: float = 30) -> int:
        """The id of a visible window whose name matches `name`.

        Polled rather than `xdotool search --sync`: that search exits 1 when a window it is
        looking at is destroyed under it (the picker closing as the panel opens), which is
        the X server's timing, not a failure.
        """
        found: list[int] = []

        def shown() -> bool:
            found[:] = self.windows(name)
            return bool(found)

        wait_until(shown, timeout, f"a visible window named {name!r}")
        return found[0]

    def windows(self, name: str) -> list[int]:
        out = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", name],
                             env=self.env, capture_output=True, text=True, timeout=30)
        return [int(word) for word in out.stdout.split() if word.isdigit()]

    def visible(self, name: str) -> bool:
        return bool(self.windows(name))

    def has_focus(self, xid: int) -> bool:
        """Whether the X input focus is on `xid` or inside it (keys typed now reach it)."""
        from Xlib import X, display

        d = display.Display(self.display)
        try:
            focus = d.get_input_focus().focus
            root = d.screen().root.id
            while not isinstance(focus, int) and focus.id not in (root, X.NONE):
                if focus.id == xid:
                    return True
                focus = focus.query_tree().parent
            return False
        finally:
            d.close()

    def root_image(self) -> Image.Image:
        """The whole screen as the X server has it (python-xlib GetImage)."""
        from Xlib import X, display

        d = display.Display(self.display)
        try:
            root = d.screen().root
            geo = root.get_geometry()
            raw = root.get_image(0, 0, geo.width, geo.height, X.ZPixmap, 0xFFFFFFFF)
            return Image.frombytes("RGB", (geo.width, geo.height), raw.data, "raw", "BGRX")
        finally:
            d.close()

    def client_rect(self, xid: int) -> tuple[int, int, int, int]:
        """(x, y, width, height) of a client window on the root, in native pixels."""
        from Xlib import display

        d = display.Display(self.display)
        try:
            win = d.create_resource_object("window", xid)
            geo = win.get_geometry()
            at = win.translate_coords(d.screen().root, 0, 0)
            return -at.x, -at.y, geo.width, geo.height
        finally:
            d.close()

    def keyboard_free(self) -> bool:
        """No client holds an active keyboard grab (ours succeeds, then is released)."""
        from Xlib import X, display

        d = display.Display(self.display)
        try:
            root = d.screen().root
            status = root.grab_keyboard(False, X.GrabModeAsync, X.GrabModeAsync, X.CurrentTime)
            if status == X.GrabSuccess:
                d.ungrab_keyboard(X.CurrentTime)
                d.sync()
            return status == X.GrabSuccess
        finally:
            d.close()

    def start_tray(self) -> subprocess.Popen[bytes]:
        """A system tray (trayer) on this desk; returns once it owns _NET_SYSTEM_TRAY_S0."""
        from Xlib import display

        tray = subprocess.Popen(["trayer", "--edge", "bottom", "--align", "right",
                                 "--widthtype", "pixel", "--width", "160", "--height", "24"],
                                env=self.env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        d = display.Display(self.display)
        try:
            atom = d.intern_atom("_NET_SYSTEM_TRAY_S0")
            wait_until(lambda: tray.poll() is not None or d.get_selection_owner(atom) != 0,
                       30, "the system tray")
        finally:
            d.close()
        if tray.poll() is not None:
            raise RuntimeError("trayer exited")
        return tray

    def key_taken(self, sequence_mask: int, keysym_name: str) -> bool:
        """Whether another client holds a grab of this key (we try it and see BadAccess)."""
        from Xlib import XK, X, display, error

        d = display.Display(self.display)
        try:
            root = d.screen().root
            code = d.keysym_to_keycode(XK.string_to_keysym(keysym_name))
            catch = error.CatchError(error.BadAccess)
            root.grab_key(code, sequence_mask, False, X.GrabModeAsync, X.GrabModeAsync,
                          onerror=catch)
            d.sync()
            taken = catch.get_error() is not None
            if not taken:
                root.ungrab_key(code, sequence_mask)
                d.sync()
            return taken
        finally:
            d.close()


def _wm_running(display: str) -> bool:
    from Xlib import display as xdisplay
    from Xlib import error

    try:
        d = xdisplay.Display(display)
        try:
            atom = d.intern_atom("_NET_SUPPORTING_WM_CHECK")
            return d.screen().root.get_full_property(atom, 0) is not None
        finally:
            d.close()
    except (OSError, error.DisplayError, error.ConnectionClosedError):
        return False  # the server dropped this probe: asked again


def _read_display(fd: int, xvfb: subprocess.Popen[bytes], timeout: float = 30) -> int:
    """The display number Xvfb writes to `-displayfd` once it listens (bounded)."""
    import select

    text = b""
    deadline = time.monotonic() + timeout
    try:
        while not text.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise RuntimeError("Xvfb did not say which display it took")
            chunk = os.read(fd, 16)
            if not chunk:
                raise RuntimeError(f"Xvfb exited before it took a display ({xvfb.wait()})")
            text += chunk
    finally:
        os.close(fd)
    return int(text)


def _server_up(display: str) -> bool:
    """The server listens on its Unix socket (a plain connect: no X client half-made)."""
    import socket

    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        try:
            sock.connect(f"/tmp/.X11-unix/X{display.lstrip(':')}")
        except OSError:
            return False
    return True


@contextlib.contextmanager
def x_desktop(width: int = 1920, height: int = 1080) -> Iterator[Desk]:
    """Start Xvfb and openbox on a free display; stop both after.

    Xvfb picks the display itself (`-displayfd`): it takes the first number whose lock file
    it can create, so two desks started at once (two test runs on one machine) never share
    one, as they could when this side looked for a free number first."""
    for tool in ("Xvfb", "openbox", "xdotool"):
        if shutil.which(tool) is None:
            raise RuntimeError(f"{tool} is missing (.ci/run installs it)")
    read_end, write_end = os.pipe()
    try:
        # -noreset: by default Xvfb resets when its last client leaves, and a client that
        # connects then (the next readiness probe) has its connection reset.
        xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(write_end), "-screen", "0",
                                 f"{width}x{height}x24", "-nolisten", "tcp", "-noreset"],
                                pass_fds=(write_end,), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
    finally:
        os.close(write_end)
    wm = None
    try:
        display = f":{_read_display(read_end, xvfb)}"
        wait_until(lambda: xvfb.poll() is not None or _server_up(display), 30, "Xvfb")
        if xvfb.poll() is not None:
            raise RuntimeError(f"Xvfb {display} exited with {xvfb.returncode}")
        wm = subprocess.Popen(["openbox"], env={**os.environ, "DISPLAY": display},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: _wm_running(display), 30, "openbox")
        yield Desk(display, width, height)
    finally:
        for proc in (wm, xvfb):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()


class Proc:
    """A Python subprocess on the desk, stdout and stderr collected for failure messages."""

    def __init__(self, desk: Desk, args: list[str], env: dict[str, str] | None = None,
                 log: Path | None = None) -> None:
        self.log = log
        self._out = open(log, "w+b") if log else subprocess.DEVNULL  # noqa: SIM115
        self.popen = subprocess.Popen([sys.executable, *args], cwd=ROOT,
                                      env={**desk.env, **(env or {})}, stdout=subprocess.PIPE,
                                      stderr=self._out)

    def read_line(self, timeout: float = 30) -> str:
        """The next stdout line (the child prints when it is ready)."""
        import select

        assert self.popen.stdout is not None
        ready, _, _ = select.select([self.popen.stdout], [], [], timeout)
        if not ready:
            raise AssertionError(f"no output within {timeout} s; log: {self.text()}")
        return self.popen.stdout.readline().decode().strip()

    def text(self) -> str:
        if self.log is None:
            return ""
        return self.log.read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(15)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(5)
        if self.popen.stdout is not None:
            self.popen.stdout.close()
        if self.log is not None:
            self._out.close()  # type: ignore[union-attr]
