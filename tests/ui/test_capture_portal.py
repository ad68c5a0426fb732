"""The Wayland path: the Screenshot portal over QtDBus, against a fake portal service on a
private session bus (`dbus-daemon --session` started here, never the user's bus)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtGui import QColor, QImage

from tests.ui.harness import next_signal, run

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def bus_address(tmp_path: Path) -> Iterator[str]:
    config = Path("/usr/share/dbus-1/session.conf")
    daemon = subprocess.Popen(["dbus-daemon", f"--config-file={config}", "--nofork",
                               "--print-address=1"], stdout=subprocess.PIPE, text=True)
    try:
        assert daemon.stdout is not None
        yield daemon.stdout.readline().strip()
    finally:
        daemon.terminate()
        daemon.wait(10)
        if daemon.stdout is not None:
            daemon.stdout.close()


@pytest.fixture
def portal(bus_address: str, tmp_path: Path) -> Iterator[Any]:
    started: list[subprocess.Popen[str]] = []
    png = tmp_path / "shot.png"
    image = QImage(64, 48, QImage.Format.Format_RGB32)
    image.fill(QColor(10, 200, 30))
    image.save(str(png))

    def start(mode: str) -> None:
        proc = subprocess.Popen([sys.executable, "-m", "tests.fake_portal", bus_address, mode,
                                 str(png)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
        started.append(proc)
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"

    yield start, image
    for proc in started:
        proc.terminate()
        proc.wait(10)
        assert proc.stdout is not None
        proc.stdout.close()


def session(bus_address: str, timeout: float = 5.0) -> Any:
    from PySide6.QtDBus import QDBusConnection

    from app.ui.capture.session import CaptureSession

    bus = QDBusConnection.connectToBus(bus_address, bus_address)  # one name per daemon
    assert bus.isConnected()
    return CaptureSession(use_portal=True, portal_bus=bus, portal_timeout=timeout)


def test_portal_screenshot_comes_back_as_the_capture(qloop: Any, bus_address: str,
                                                     portal: Any) -> None:
    start, image = portal
    start("ok")
    got = run(qloop, session(bus_address).run("region"))
    assert got is not None
    assert got.image.convertToFormat(QImage.Format.Format_RGB32) == image


def test_portal_cancel_is_no_capture(qloop: Any, bus_address: str, portal: Any) -> None:
    portal[0]("cancel")
    assert run(qloop, session(bus_address).run("region")) is None


@pytest.mark.parametrize("mode", ["deny", "error"])
def test_portal_refusal_says_how_to_allow_it(qloop: Any, bus_address: str, portal: Any,
                                             mode: str) -> None:
    from app.ui.capture.grab import CaptureError
    from app.ui.capture.portal import DENIED

    portal[0](mode)
    with pytest.raises(CaptureError) as caught:
        run(qloop, session(bus_address).run("region"))
    assert str(caught.value) == DENIED


def test_portal_that_never_answers_times_out_with_a_sentence(qloop: Any, bus_address: str,
                                                             portal: Any) -> None:
    from app.ui.capture.grab import CaptureError

    portal[0]("silent")
    with pytest.raises(CaptureError, match=r"did not answer within 0\.3 s"):
        run(qloop, session(bus_address, timeout=0.3).run("region"))


def test_no_portal_on_the_bus_is_a_sentence(qloop: Any, bus_address: str) -> None:
    from app.ui.capture.grab import CaptureError

    with pytest.raises(CaptureError, match=r"refused the screenshot request"):
        run(qloop, session(bus_address).run("region"))


def test_global_shortcut_through_the_portal_is_bound_and_pressed(qloop: Any, bus_address: str,
                                                                  portal: Any) -> None:
    """CreateSession + BindShortcuts (a(sa{sv}) as the portal expects), then Activated."""
    from app.ui.capture.hotkeys.portal import PortalHotkeys

    portal[0]("ok")
    hotkeys = PortalHotkeys(bus_address)

    async def scenario() -> tuple[Any, ...]:
        try:
            assert hotkeys.register("capture", "Ctrl+Alt+S") is None
            assert hotkeys.register("quick_ask", "Ctrl+Alt+Space") is None
            return await next_signal(hotkeys.activated, timeout=20)
        finally:
            hotkeys.close()

    assert run(qloop, scenario()) == ("capture",)  # the fake presses CTRL+ALT+s


@pytest.mark.parametrize("mode", ["deny", "error"])
def test_global_shortcut_refused_by_the_desktop_says_what_to_do(qloop: Any, bus_address: str,
                                                                portal: Any, mode: str) -> None:
    from app.ui.capture.hotkeys.portal import REFUSED, PortalHotkeys

    portal[0](mode)
    hotkeys = PortalHotkeys(bus_address)

    async def scenario() -> tuple[Any, ...]:
        try:
            hotkeys.register("capture", "Ctrl+Alt+S")
            return await next_signal(hotkeys.refused, timeout=20)
        finally:
            hotkeys.close()

    assert run(qloop, scenario()) == ("capture", REFUSED)
