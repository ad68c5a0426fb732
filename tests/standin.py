"""A faithful local stand-in of the StepFun HTTP API (stepfun-api.md §10), stdlib only.

Tests and benchmarks talk real HTTP to it on 127.0.0.1, so the client is exercised exactly as
against the live service — including its quirks (empty-string `finish_reason`, cumulative usage
on every chunk, `cached_tokens` in two places) and its failures, which tests switch on with
`fault()`. Run by hand: `python tests/standin.py --port 8765 [--api-key K] [--fault flood]`.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import contextlib
import json
import random
import socket
import string
import sys
import threading
import time
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

if __package__ in (None, ""):  # run as a script: make `app` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app import limits
from tests.standin_wire import (
    ANY_FAULTS,
    STREAM_FAULTS,
    ApiFailure,
    Fault,
    Recorded,
    StoredFile,
    route,
)


class StandIn:
    """The server: `start()`, `stop()`, `base_url`, `requests`, `reply()`, `fault()`."""

    def __init__(self, api_key: str, port: int = 0) -> None:
        self.api_key = api_key
        self._port = port
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._conns: set[socket.socket] = set()
        self._rendered: dict[tuple[Any, ...], list[bytes]] = {}
        self.requests: list[Recorded] = []
        self.files: dict[str, StoredFile] = {}
        self._faults: list[Fault] = []
        self._reply: dict[str, Any] = {}
        self.crlf = False  # SSE lines end in CRLF instead of LF
        self.sse_comments = False  # SSE comment lines between events
        self.reasoning_key: str | None = None  # force `reasoning`/`reasoning_content` in chat
        self.messages_thinking = True  # Messages SSE: send thinking blocks [assumed in the docs]
        self.messages_stop_nested = False  # Messages SSE: stop_reason inside `delta`, not on top
        # Chat usage also carries `completion_tokens_details.reasoning_tokens` (OpenAI style;
        # StepFun's Chat docs show none, so off by default).
        self.reasoning_tokens = False
        # Lowered by tests so the size checks can be hit without 128 MB of test data.
        self.max_video_bytes = limits.MAX_VIDEO_BYTES
        self.max_image_bytes = limits.MAX_IMAGE_BYTES_PER_REQUEST

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> StandIn:
        owner = self

        class Handler(_Handler):
            standin = owner

        self._server = _Server(("127.0.0.1", self._port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.01}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop promptly, even with a stalled stream open: its socket is shut down under it."""
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        with self._lock:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(2)

    @property
    def port(self) -> int:
        assert self._server is not None, "start() first"
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    # -- configuration ---------------------------------------------------------------------
    def reply(self, content: str | None = None, reasoning: str | None = None,
              chunks: int | None = None) -> None:
        """Fix the next replies' text (None = the deterministic echo) and delta count."""
        with self._lock:
            self._reply = {"content": content, "reasoning": reasoning, "chunks": chunks}

    def fault(self, name: str, *, endpoint: str = "chat", times: int | None = 1,
              **params: Any) -> None:
        """Switch a fault on for `times` requests to `endpoint` (None = until `clear_faults`).

        Endpoints: chat, messages, upload, files (get/list/delete), models, or `*`.
        Names: status_NNN [retry_after, message, type], drop [after], stall [after, seconds],
        malformed [after, together] (`together`: the good events and the bad one in one
        write, so the client reads them as one batch), truncate [after] (a clean end without
        finish or [DONE]),
        finish_length, finish_content_filter, file_not_found,
        flood [count], paced [count, duration, reasoning], keepalive [after, interval]
        (comments only after the first events), trickle [after, interval] (one byte now and
        then), echo_auth [status] (an error quoting the Authorization header; any endpoint),
        rendezvous [parties, after, timeout] (send `after` deltas, then wait until `parties`
        streams have got that far before going on; a stream left waiting is dropped).
        Any fault with `effort=E` applies only to requests whose reasoning effort is E.
        """
        if not (name.removeprefix("status_").isdigit() or name in STREAM_FAULTS
                or name in ANY_FAULTS):
            raise ValueError(f"unknown fault {name!r}")
        if name == "rendezvous":
            params["barrier"] = threading.Barrier(int(params.get("parties", 3)),
                                                  timeout=float(params.get("timeout", 10)))
        with self._lock:
            self._faults.append(Fault(name, endpoint, times, params))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def expire_files(self, *file_ids: str) -> None:
        """Make files vanish (all if none named): later `stepfile://` use gets "file not found"."""
        with self._lock:
            for fid in file_ids or list(self.files):
                self.files.pop(fid, None)

    def add_file(self, data: bytes, filename: str = "f.bin") -> str:
        """Store a file directly (test set-up without an upload request)."""
        fid = "file-" + "".join(random.choices(string.ascii_letters + string.digits, k=10))
        with self._lock:
            self.files[fid] = StoredFile(fid, data, filename, "storage", int(time.time()))
        return fid

    # -- inspection --------------------------------------------------------------------------
    def chat_requests(self) -> list[Recorded]:
        return self._matching("POST", "/v1/chat/completions")

    def messages_requests(self) -> list[Recorded]:
        return self._matching("POST", "/v1/messages")

    def upload_requests(self) -> list[Recorded]:
        return self._matching("POST", "/v1/files")

    def _matching(self, method: str, path: str) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if r.method == method and r.path == path]

    def take_fault(self, endpoint: str, body: Any = None) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                streaming = endpoint in ("chat", "messages")
                if fault.endpoint not in (endpoint, "*"):
                    continue
                if "effort" in fault.params and fault.params["effort"] != _effort_of(body):
                    continue
                if not (fault.name.startswith("status_") or fault.name in ANY_FAULTS) \
                        and not streaming:
                    continue
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                return fault
        return None

    def reply_config(self) -> dict[str, Any]:
        with self._lock:
            return dict(self._reply)

    def rendered(self, key: tuple[Any, ...], build: Callable[[], list[bytes]]) -> list[bytes]:
        """Cache of pre-rendered floods, so serving one costs the server almost nothing."""
        with self._lock:
            body = self._rendered.get(key)
        if body is None:
            body = build()
            with self._lock:
                self._rendered[key] = body
        return body


def _effort_of(body: Any) -> str | None:
    """The reasoning effort a chat or messages request asked for."""
    if not isinstance(body, dict):
        return None
    effort = body.get("reasoning_effort") or (body.get("output_config") or {}).get("effort")
    return effort if isinstance(effort, str) else None


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a stalled stream must never keep stop() (or the process) waiting

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client hanging up mid-response is normal here (cancel tests); stay quiet."""
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    standin: StandIn

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default stderr access log."""

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes: without this, Nagle + delayed ACK
        # add 40 ms to every response.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.standin._lock:
            self.standin._conns.add(self.connection)

    def finish(self) -> None:
        with self.standin._lock:
            self.standin._conns.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    # -- plumbing --------------------------------------------------------------------------
    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _dispatch(self) -> None:
        path = urlsplit(self.path).path
        rec = Recorded(self.command, path, dict(self.headers.items()),
                       trace_id=uuid.uuid4().hex)
        body = self._read_body()
        with self.standin._lock:
            self.standin.requests.append(rec)
        try:
            route(self, rec, body)
        except ApiFailure as exc:
            envelope = {"error": {"message": exc.message, "type": exc.type}}
            self.send_json(rec, exc.status, envelope, exc.headers)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def send_json(self, rec: Recorded, status: int, obj: Any,
                  headers: dict[str, str] | None = None) -> None:
        data = json.dumps(obj, ensure_ascii=False).encode()
        rec.status = status
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Trace-Id", rec.trace_id)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def start_stream(self, rec: Recorded) -> None:
        rec.status = 200
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("X-Trace-Id", rec.trace_id)
        self.end_headers()

    def send_chunk(self, data: bytes) -> None:
        if data:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    def end_stream(self) -> None:
        self.wfile.write(b"0\r\n\r\n")

    def drop(self) -> None:
        """Close the socket mid-body: no terminating chunk, no [DONE]."""
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def decode_b64(self, payload: str) -> bytes:
        try:
            return base64.b64decode(payload, validate=True)
        except (binascii.Error, ValueError):
            raise ApiFailure(400, "invalid base64 data in media url") from None


def main(argv: list[str] | None = None) -> None:
    """Serve until Ctrl+C; print the base URL first so scripts can read it."""
    parser = argparse.ArgumentParser(description="Local stand-in of the StepFun API")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--api-key", default="sk-standin")
    parser.add_argument("--fault", action="append", default=[],
                        help="persistent fault, e.g. flood or paced:count=2000,duration=2")
    args = parser.parse_args(argv)
    server = StandIn(api_key=args.api_key, port=args.port).start()
    for spec in args.fault:
        name, _, raw = spec.partition(":")
        params = {k: float(v) for k, v in (p.split("=") for p in raw.split(",") if p)}
        server.fault(name, times=None, **params)
    print(server.base_url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
