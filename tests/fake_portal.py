"""A fake xdg-desktop-portal on a private D-Bus bus: the Screenshot and GlobalShortcuts
calls Step Desk makes.

Run as `python -m tests.fake_portal ADDRESS MODE PNG`; prints "ready" once it owns
org.freedesktop.portal.Desktop. Written with jeepney (pure Python, already installed with
keyring on Linux), so the side under test stays Qt's own QtDBus. Modes:
  ok       Response(0, {uri: file://PNG})      cancel   Response(1, {})
  deny     Response(2, {}) (GNOME's answer when screenshots are not allowed)
  error    the call fails with org.freedesktop.portal.Error.NotAllowed
  silent   the call returns its Request handle and no Response ever comes
GlobalShortcuts (CreateSession, BindShortcuts) follow the same modes; after a successful
BindShortcuts the fake "presses" each bound shortcut whose preferred trigger is in the
specification's form (CTRL+ALT+s) by emitting Activated(session, id, 0, {}).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from jeepney import DBusAddress, HeaderFields, MessageType, new_error, new_method_return, new_signal
from jeepney.bus_messages import message_bus
from jeepney.io.blocking import open_dbus_connection

NAME = "org.freedesktop.portal.Desktop"


def main() -> None:
    address, mode, png = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    conn = open_dbus_connection(bus=address)
    reply = conn.send_and_get_reply(message_bus.RequestName(NAME, 4))
    assert reply.body[0] == 1, f"could not own {NAME}: {reply.body}"
    print("ready", flush=True)
    while True:
        msg = conn.receive()
        fields = msg.header.fields
        if msg.header.message_type != MessageType.method_call:
            continue
        member = fields.get(HeaderFields.member)
        if member not in ("Screenshot", "CreateSession", "BindShortcuts"):
            conn.send(new_error(msg, "org.freedesktop.DBus.Error.UnknownMethod"))
            continue
        if mode == "error":
            conn.send(new_error(msg, "org.freedesktop.portal.Error.NotAllowed", "s",
                                ("Not allowed",)))
            continue
        options = msg.body[-1]
        sender = fields[HeaderFields.sender].lstrip(":").replace(".", "_")
        handle = f"/org/freedesktop/portal/desktop/request/{sender}/{options['handle_token'][1]}"
        conn.send(new_method_return(msg, "o", (handle,)))
        if mode == "silent":
            continue
        ok: dict[str, tuple[str, str]] = {"uri": ("s", png.as_uri())}
        if member == "CreateSession":
            session = (f"/org/freedesktop/portal/desktop/session/{sender}/"
                       f"{options['session_handle_token'][1]}")
            ok = {"session_handle": ("s", session)}
        code, results = {"ok": (0, ok), "cancel": (1, {}), "deny": (2, {})}[mode]
        send_signal(conn, msg, handle, "org.freedesktop.portal.Request", "Response",
                    "ua{sv}", (code, results))
        if member == "BindShortcuts" and code == 0:
            session, shortcuts = msg.body[0], msg.body[1]
            for shortcut_id, props in shortcuts:
                if props.get("preferred_trigger", ("s", ""))[1] == "CTRL+ALT+s":
                    send_signal(conn, msg, "/org/freedesktop/portal/desktop",
                                "org.freedesktop.portal.GlobalShortcuts", "Activated",
                                "osta{sv}", (session, shortcut_id, 0, {}))


def send_signal(conn: Any, call: Any, path: str, interface: str, member: str,
                signature: str, body: tuple[Any, ...]) -> None:
    signal = new_signal(DBusAddress(path, interface=interface), member, signature, body)
    signal.header.fields[HeaderFields.destination] = call.header.fields[HeaderFields.sender]
    conn.send(signal)


if __name__ == "__main__":
    main()
