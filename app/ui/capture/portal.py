"""xdg-desktop-portal over QtDBus: the Screenshot call (Wayland), one request at a time.

A portal method returns a Request object path at once; the answer comes later as that
object's `Response(uint code, a{sv} results)` signal: 0 success, 1 cancelled by the user,
2 ended another way (a denied permission, on GNOME). The handle is predictable from our
bus name and a token, so we subscribe before calling and miss nothing.
"""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QUrl, Slot

from app.ui.capture.grab import CaptureError

if TYPE_CHECKING:  # QtDBus itself is imported where used: a Qt build may lack it
    from PySide6.QtDBus import QDBusConnection, QDBusMessage, QDBusPendingCall

SCREENSHOT_TIMEOUT_S = 10.0
PORTAL_SERVICE = "org.freedesktop.portal.Desktop"
PORTAL_PATH = "/org/freedesktop/portal/desktop"

DENIED = ("The desktop did not allow Step Desk to take a screenshot: allow screenshots for "
          "Step Desk in your desktop's privacy settings (GNOME: Settings › Apps › Step Desk; "
          "KDE: System Settings › Application Permissions), then try again.")


class _Receiver(QObject):
    """Receives a Request.Response signal (a QtDBus slot needs a QObject).

    The slot is declared with the signal's own `uint` (QtDBus refuses an `int` slot for
    it), so QtDBus hands over the results already converted to a dict."""

    def __init__(self, future: asyncio.Future[tuple[int, dict[str, Any]]]) -> None:
        super().__init__()
        self._future = future

    @Slot("uint", "QVariantMap")
    def response(self, code: int, results: dict[str, Any]) -> None:
        if not self._future.done():
            self._future.set_result((int(code), dict(results)))


def session_bus(bus: QDBusConnection | None = None) -> QDBusConnection:
    """The session bus (or the given connection), or CaptureError saying why there is none."""
    try:
        from PySide6.QtDBus import QDBusConnection
    except ImportError as exc:
        raise CaptureError("Talking to the desktop needs QtDBus, which this Qt build "
                           "lacks.") from exc
    bus = QDBusConnection.sessionBus() if bus is None else bus
    if not bus.isConnected():
        raise CaptureError("The session D-Bus is not running, so the desktop's portal cannot "
                           "be asked.")
    return bus


def request_handle(bus: QDBusConnection, token: str) -> str:
    sender = bus.baseService().lstrip(":").replace(".", "_")
    return f"{PORTAL_PATH}/request/{sender}/{token}"


async def request(interface: str, method: str, args: list[Any], timeout: float,
                  what: str, bus: QDBusConnection | None = None
                  ) -> tuple[int, dict[str, Any]]:
    """Call a portal method whose last argument is the options dict; await its Response.

    `bus`: a QDBusConnection to use instead of the session bus (tests: a private bus)."""
    from PySide6.QtCore import SLOT
    from PySide6.QtDBus import QDBusInterface, QDBusMessage

    connection = session_bus(bus)
    token = "stepdesk" + secrets.token_hex(6)
    handle = request_handle(connection, token)
    future: asyncio.Future[tuple[int, dict[str, Any]]] = asyncio.get_running_loop().create_future()
    receiver = _Receiver(future)
    # The stubs type the slot as bytes; SLOT() gives the str QtDBus takes.
    connection.connect(PORTAL_SERVICE, handle, "org.freedesktop.portal.Request",  # type: ignore[call-overload]
                       "Response", receiver, SLOT("response(uint,QVariantMap)"))
    try:
        options = dict(args[-1])
        options["handle_token"] = token
        iface = QDBusInterface(PORTAL_SERVICE, PORTAL_PATH, interface, connection)
        pending = iface.asyncCallWithArgumentList(method, [*args[:-1], options])
        reply = await _finished(pending, timeout, what)
        if reply.type() == QDBusMessage.MessageType.ErrorMessage:
            if reply.errorName().endswith(("NotAllowed", "AccessDenied")):
                raise CaptureError(DENIED)
            raise CaptureError(f"The desktop refused the {what} request: {reply.errorMessage()}")
        try:
            return await asyncio.wait_for(future, timeout)
        except TimeoutError as exc:
            raise CaptureError(f"The desktop's {what} dialog did not answer within "
                               f"{timeout:g} s; try again, or use its own tool and paste.") from exc
    finally:
        connection.disconnect(PORTAL_SERVICE, handle,  # type: ignore[call-overload]  # as above
                              "org.freedesktop.portal.Request", "Response", receiver,
                              SLOT("response(uint,QVariantMap)"))


async def _finished(pending: QDBusPendingCall, timeout: float, what: str) -> QDBusMessage:
    """Await a QDBusPendingCall without blocking the UI thread."""
    from PySide6.QtDBus import QDBusPendingCallWatcher

    watcher = QDBusPendingCallWatcher(pending)
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    def finished(*_: object) -> None:
        if not done.done():
            done.set_result(None)

    watcher.finished.connect(finished)
    if watcher.isFinished():
        finished()
    try:
        await asyncio.wait_for(done, timeout)
    except TimeoutError as exc:
        raise CaptureError(f"The desktop's portal did not answer the {what} request within "
                           f"{timeout:g} s; try again, or use its own tool and paste.") from exc
    return watcher.reply()


async def screenshot(timeout: float = SCREENSHOT_TIMEOUT_S,
                     bus: QDBusConnection | None = None) -> bytes | None:
    """Screenshot(parent_window, {interactive}) → the file's bytes; None when cancelled."""
    code, results = await request("org.freedesktop.portal.Screenshot", "Screenshot",
                                  ["", {"interactive": True}], timeout, "screenshot", bus)
    if code == 1:
        return None
    if code != 0:
        raise CaptureError(DENIED)
    path = Path(QUrl(str(results.get("uri", ""))).toLocalFile())
    try:
        return await asyncio.to_thread(path.read_bytes)
    except OSError as exc:
        raise CaptureError(f"The screenshot file {path.name} could not be read.") from exc
