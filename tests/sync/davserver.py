"""A real WebDAV server (wsgidav on cheroot) on 127.0.0.1 for sync tests, with faults.

`Faults` wraps the wsgidav app: it counts requests by method and can answer the Nth matching
request with a status (401, 507, 500, …), drop the connection mid-body, or wait for an event
before answering (a slow server) — the server itself stays real.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cheroot import wsgi
from wsgidav.wsgidav_app import WsgiDAVApp

USER, PASSWORD = "dav-user", "dav-pass-9f2c"

Environ = dict[str, Any]
StartResponse = Callable[..., Any]


@dataclass
class Fault:
    method: str  # "PUT", "GET", … or "*"
    nth: int  # 1-based, among requests of that method counted from when the fault is set
    status: int = 0  # answer with this status
    drop: bool = False  # close the connection without an answer
    hold: threading.Event | None = None  # wait for this before passing the request on
    seen: int = 0


@dataclass
class Faults:
    app: Callable[[Environ, StartResponse], Iterable[bytes]]
    counts: Counter[str] = field(default_factory=Counter)
    pending: list[Fault] = field(default_factory=list)
    on_request: Callable[[str, str], None] | None = None

    def add(self, fault: Fault) -> Fault:
        self.pending.append(fault)
        return fault

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        method = environ["REQUEST_METHOD"]
        self.counts[method] += 1
        if self.on_request is not None:
            self.on_request(method, environ.get("PATH_INFO", ""))
        for fault in list(self.pending):
            if fault.method not in ("*", method):
                continue
            fault.seen += 1
            if fault.seen != fault.nth:
                continue
            self.pending.remove(fault)
            if fault.hold is not None:
                fault.hold.wait(30)
            elif fault.drop:
                environ["wsgi.input"].read(16)  # part of the body, then the line goes dead
                raise ConnectionAbortedError("fault injection: dropped")
            else:
                start_response(f"{fault.status} Injected", [("Content-Length", "0")])
                return [b""]
        return self.app(environ, start_response)


class DavServer:
    def __init__(self, root: Path) -> None:
        root.mkdir(parents=True, exist_ok=True)
        config = {
            "host": "127.0.0.1", "port": 0,
            "provider_mapping": {"/dav": str(root)},
            "http_authenticator": {"domain_controller": None, "accept_basic": True,
                                   "accept_digest": False, "default_to_digest": False},
            "simple_dc": {"user_mapping": {"*": {USER: {"password": PASSWORD}}}},
            "verbose": 0,
            "logging": {"enable": False, "enable_loggers": []},
            "dir_browser": {"enable": False},
            "lock_storage": True,
        }
        self.root = root
        self.faults = Faults(WsgiDAVApp(config))
        self._server = wsgi.Server(("127.0.0.1", 0), self.faults, numthreads=4)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.bind_addr[1]}/dav"

    def start(self) -> None:
        self._server.prepare()
        self._thread = threading.Thread(target=self._server.serve, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.stop()
        if self._thread is not None:
            self._thread.join(10)
