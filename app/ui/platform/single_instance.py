"""One Step Desk window per data dir: a second `stepdesk FILE…` hands its files to the first.

A QLocalServer named after the data dir listens in the running window. A new process first
tries to connect as a client; if a window answers, it sends the file paths (one JSON line),
waits for an "ok" line and exits. Two data dirs (e.g. tests) never see each other.

Besides files, a line can carry a command: `{"capture": {"mode": "region", "template": "",
"prompt": ""}}` from `stepdesk capture`, or `{"quick_ask": {}}`; the server re-emits it as
`command_received`. The line format is ours alone (same user, same data dir), so an unknown
or malformed line is answered "bad" and ignored.

The client side is synchronous on purpose: it runs before any event loop exists, and a
blocking wait of a few hundred milliseconds is the whole point (we must know whether to
open a window at all).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

_CONNECT_MS = 400
_REPLY_MS = 2000
_MAX_MESSAGE = 1_000_000
COMMANDS = ("capture", "quick_ask")


def server_name(data_dir: Path) -> str:
    """A short socket name unique to this user and data dir (names are paths on Unix)."""
    key = f"{os.getuid() if hasattr(os, 'getuid') else ''}:{Path(data_dir).resolve()}"
    return "stepdesk-" + hashlib.sha256(key.encode()).hexdigest()[:16]


def send_to_running(name: str, files: Sequence[Path]) -> bool:
    """Give `files` to a window already listening on `name`; False when none is running."""
    return send_message(name, {"files": [str(Path(f).resolve()) for f in files]})


def send_message(name: str, message: dict[str, Any]) -> bool:
    """Send one message (files or a command) to the running instance; False when none."""
    sock = QLocalSocket()
    sock.connectToServer(name)
    if not sock.waitForConnected(_CONNECT_MS):
        return False
    payload = json.dumps(message) + "\n"
    sock.write(payload.encode())
    sock.flush()
    ok = False
    while sock.waitForReadyRead(_REPLY_MS):
        if sock.canReadLine():
            ok = bytes(sock.readLine().data()).strip() == b"ok"
            break
    sock.disconnectFromServer()
    return ok


class SingleInstanceServer(QObject):
    """Listens for later `stepdesk` invocations of the same data dir.

    Signals:
        files_received(list): absolute paths (as str) sent by another invocation; an empty
            list means "just bring the window to front".
        command_received(str, dict): a command ("capture" or "quick_ask") and its options.
    """

    files_received = Signal(list)
    command_received = Signal(str, dict)

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._name = name
        self._server = QLocalServer(self)
        self._server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        self._server.newConnection.connect(self._on_new_connection)

    def listen(self) -> bool:
        """Start listening; a stale socket left by a crashed window is removed first."""
        if self._server.listen(self._name):
            return True
        QLocalServer.removeServer(self._name)
        return self._server.listen(self._name)

    def full_name(self) -> str:
        """Where the server listens (a socket path on Unix), for diagnostics and tests."""
        return self._server.fullServerName()

    def close(self) -> None:
        self._server.close()

    def _on_new_connection(self) -> None:
        while self._server.hasPendingConnections():
            sock = self._server.nextPendingConnection()
            sock.readyRead.connect(lambda s=sock: self._on_ready_read(s))
            sock.disconnected.connect(sock.deleteLater)
            self._on_ready_read(sock)  # the line may have arrived with the connection

    def _on_ready_read(self, sock: QLocalSocket) -> None:
        if sock.bytesAvailable() > _MAX_MESSAGE:
            sock.abort()
            return
        if not sock.canReadLine():
            return
        line = bytes(sock.readLine().data())
        try:
            message = json.loads(line)
            command = next((c for c in COMMANDS if c in message), None)
            if command is not None:
                options = message[command]
                if not isinstance(options, dict):
                    raise TypeError(command)
                options = {str(k): str(v) for k, v in options.items()}
            else:
                files = [str(f) for f in message["files"]]
        except (ValueError, KeyError, TypeError, AttributeError):
            sock.write(b"bad\n")
            sock.disconnectFromServer()
            return
        sock.write(b"ok\n")
        sock.flush()
        if command is not None:
            self.command_received.emit(command, options)
        else:
            self.files_received.emit(files)
