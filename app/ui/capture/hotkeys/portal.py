"""Wayland global shortcuts: the xdg-desktop-portal GlobalShortcuts interface.

Why not QtDBus, as for the Screenshot call: BindShortcuts takes `a(sa{sv})`, and
PySide6's QDBusArgument cannot write it (a Python dict is marshalled as `as`, and a struct
type cannot be registered from Python), so the call never reaches the portal in the right
shape. jeepney — pure Python, already installed with keyring on Linux — speaks the
protocol instead, on its own connection in a worker thread: CreateSession, BindShortcuts,
then `Activated` signals, each emitted as `activated(name)` (Qt queues it to the GUI
thread). Where the desktop refuses (GNOME refuses non-Flatpak apps; wlroots has no
backend) `refused(name, sentence)` explains the fallback: `stepdesk capture` bound in the
desktop's own keyboard settings.
"""

from __future__ import annotations

import contextlib
import secrets
import socket
import threading
from typing import Any

from PySide6.QtCore import QTimer

from app.ui.capture.hotkeys.base import BadSequence, HotkeyBackend, parse_sequence

SERVICE, PATH = "org.freedesktop.portal.Desktop", "/org/freedesktop/portal/desktop"
IFACE = "org.freedesktop.portal.GlobalShortcuts"
CLOSED_CHECK_S = 1.0  # how soon the worker notices close() if a wake-up was missed
ANSWER_TIMEOUT_S = 30.0  # the desktop shows its own dialog: a person may take a while
REFUSED = ("The desktop did not grant a global shortcut to Step Desk; bind "
           "`stepdesk capture` in its keyboard settings instead (see the README).")
_TRIGGER_MODS = {"ctrl": "CTRL", "alt": "ALT", "shift": "SHIFT", "super": "LOGO"}
_DESCRIPTIONS = {"capture": "Capture a region and ask Step Desk",
                 "quick_ask": "Open Step Desk's quick-ask panel"}


def preferred_trigger(sequence: str) -> str:
    """"Ctrl+Alt+S" → "CTRL+ALT+s" (the XDG shortcuts specification's form)."""
    mods, key = parse_sequence(sequence)
    names = [_TRIGGER_MODS[m] for m in ("ctrl", "alt", "shift", "super") if m in mods]
    return "+".join([*names, key])


class PortalHotkeys(HotkeyBackend):
    """See the module docstring. `address`: a D-Bus address instead of the session bus."""

    def __init__(self, address: str = "SESSION") -> None:
        super().__init__()
        self._address = address
        self._wanted: dict[str, str] = {}
        self._thread: threading.Thread | None = None
        self._conn: Any = None
        self._closed = False
        self._bind_soon = QTimer(self)
        self._bind_soon.setSingleShot(True)
        self._bind_soon.timeout.connect(self._bind)

    def register(self, name: str, sequence: str) -> str | None:
        try:
            preferred_trigger(sequence)
        except BadSequence as exc:
            return str(exc)
        self._wanted[name] = sequence
        self._bind_soon.start(0)  # both shortcuts in one BindShortcuts call
        return None  # the desktop answers later (refused(), if it says no)

    def unregister(self, name: str) -> None:
        self._wanted.pop(name, None)

    def close(self) -> None:
        self._closed = True
        if self._conn is not None:
            with contextlib.suppress(OSError):  # wakes the worker's blocking receive
                self._conn.sock.shutdown(socket.SHUT_RDWR)
            self._conn.close()

    def _bind(self) -> None:
        if self._thread is not None or self._closed or not self._wanted:
            return  # one session per process; later changes need a restart of Step Desk
        wanted = dict(self._wanted)
        self._thread = threading.Thread(target=self._run, args=(wanted,), daemon=True,
                                        name="global-shortcuts-portal")
        self._thread.start()

    # --- the worker thread ------------------------------------------------------------------
    def _run(self, wanted: dict[str, str]) -> None:
        from jeepney import DBusAddress, HeaderFields, MatchRule, MessageType, new_method_call
        from jeepney.bus_messages import message_bus
        from jeepney.io.blocking import open_dbus_connection

        try:
            self._conn = conn = open_dbus_connection(bus=self._address)
        except (OSError, KeyError, ValueError, StopIteration):
            self._refuse(wanted, "There is no session D-Bus to ask the desktop for a "
                                 "global shortcut; bind `stepdesk capture` in its keyboard "
                                 "settings instead.")
            return
        if self._closed:  # closed while the connection opened: close() saw no connection
            conn.close()
            return
        try:
            for member in ("Response", "Activated"):
                conn.send_and_get_reply(message_bus.AddMatch(MatchRule(
                    type="signal", member=member)))
            portal = DBusAddress(PATH, bus_name=SERVICE, interface=IFACE)
            sender = conn.unique_name.lstrip(":").replace(".", "_")

            def call(method: str, signature: str, body: tuple[Any, ...], token: str
                     ) -> tuple[int, dict[str, Any]]:
                reply = conn.send_and_get_reply(new_method_call(portal, method, signature,
                                                                body), timeout=10)
                if reply.header.message_type == MessageType.error:
                    return 2, {}
                handle = f"{PATH}/request/{sender}/{token}"
                while True:
                    msg = conn.receive(timeout=ANSWER_TIMEOUT_S)
                    if (msg.header.fields.get(HeaderFields.member) == "Response"
                            and msg.header.fields.get(HeaderFields.path) == handle):
                        return int(msg.body[0]), dict(msg.body[1])

            token, session_token = _token(), _token()
            code, results = call("CreateSession", "a{sv}", ({
                "handle_token": ("s", token), "session_handle_token": ("s", session_token)},),
                token)
            if code != 0:
                self._refuse(wanted, REFUSED)
                return
            session = results["session_handle"][1]
            shortcuts = [(name, {"description": ("s", _DESCRIPTIONS.get(name, name)),
                                 "preferred_trigger": ("s", preferred_trigger(seq))})
                         for name, seq in wanted.items()]
            token = _token()
            code, _ = call("BindShortcuts", "oa(sa{sv})sa{sv}",
                           (session, shortcuts, "", {"handle_token": ("s", token)}), token)
            if code != 0:
                self._refuse(wanted, REFUSED)
                return
            while not self._closed:
                try:  # bounded, so a close() that raced this receive is seen within a second
                    msg = conn.receive(timeout=CLOSED_CHECK_S)
                except TimeoutError:
                    continue
                fields = msg.header.fields
                if (fields.get(HeaderFields.member) == "Activated"
                        and fields.get(HeaderFields.interface) == IFACE
                        and msg.body[0] == session):
                    self.activated.emit(str(msg.body[1]))
        except (OSError, TimeoutError, KeyError, IndexError, ValueError):
            if not self._closed:
                self._refuse(wanted, REFUSED)

    def _refuse(self, wanted: dict[str, str], sentence: str) -> None:
        for name in wanted:
            self.refused.emit(name, sentence)


def _token() -> str:
    return "stepdesk" + secrets.token_hex(6)
