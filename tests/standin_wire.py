"""The stand-in's wire behaviour: routes, validation, SSE rendering and faults.

Split from `tests/standin.py` (the server and its test-facing controls) so each stays readable;
everything here is plain functions of a request handler `h` (see `standin._Handler`).
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from app import limits

if TYPE_CHECKING:
    from tests.standin import _Handler

MODELS = (
    ("step-3.7-flash", 1713196800),
    ("step-3.5-flash", 1713974400),
    ("step-3.5-flash-2603", 1711015200),
    ("step-1o-turbo-vision", 1711015200),
)
CHAT_ROLES = frozenset({"system", "user", "assistant", "tool"})
VIDEO_MODELS = frozenset({"step-3.7-flash", "step-1o-turbo-vision"})
IMAGE_MODELS = VIDEO_MODELS
EFFORTS = {"step-3.5-flash-2603": ("low", "high")}
STATUS_TYPES = {
    400: "request_params_invalid", 401: "authentication_error", 402: "insufficient_balance",
    404: "not_found", 413: "request_too_large", 429: "rate_limit_exceeded",
    451: "censorship_block", 500: "server_error", 503: "service_unavailable",
}
STATUS_MESSAGES = {
    401: "Incorrect API key provided.", 402: "Insufficient balance.",
    413: "Request entity too large.", 429: "Rate limit reached, please slow down.",
    451: "The content you provided or machine outputted is blocked.",
    500: "Internal server error.", 503: "Service temporarily overloaded.",
}
# Stream faults apply to the streaming endpoints only; `status_NNN` applies anywhere.
STREAM_FAULTS = frozenset({"drop", "stall", "malformed", "truncate", "finish_length",
                           "finish_content_filter", "flood", "paced", "file_not_found",
                           "keepalive", "trickle", "rendezvous", "deep_json"})
# Faults for every endpoint besides `status_NNN`: `echo_auth [status]` answers with an error
# whose message quotes the request's Authorization header, as careless servers and proxies do.
# `slow_headers [seconds]` waits before answering at all (a read timeout before the first byte).
ANY_FAULTS = frozenset({"echo_auth", "slow_headers"})


class ApiFailure(Exception):
    """Raised inside a handler to answer with StepFun's error envelope."""

    def __init__(self, status: int, message: str, type_: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message = status, message
        self.type = type_ or STATUS_TYPES.get(status, "request_params_invalid")
        self.headers = headers or {}


@dataclass
class Recorded:
    """One request as the stand-in received it (and the status it answered)."""

    method: str
    path: str
    headers: dict[str, str]
    json: Any = None
    file_bytes: bytes | None = None
    filename: str | None = None
    purpose: str | None = None
    trace_id: str = ""
    status: int = 0


@dataclass
class StoredFile:
    id: str
    data: bytes
    filename: str
    purpose: str
    created_at: int

    def obj(self) -> dict[str, Any]:
        return {"id": self.id, "object": "file", "bytes": len(self.data),
                "created_at": self.created_at, "filename": self.filename,
                "purpose": self.purpose, "status": "processed"}


@dataclass
class Fault:
    name: str
    endpoint: str
    times: int | None
    params: dict[str, Any] = field(default_factory=dict)


def sniff(data: bytes) -> str | None:
    """The media type from magic bytes, as the server's own check would see it."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[4:8] == b"ftyp":
        return "video/mp4"
    return None


# -- routes ------------------------------------------------------------------------------------
def route(h: _Handler, rec: Recorded, body: bytes) -> None:
    """Authenticate, apply a pending fault, then serve the endpoint."""
    s = h.standin
    endpoint = _endpoint(rec.method, rec.path)
    if endpoint is None:
        raise ApiFailure(404, f"Unknown path {rec.method} {rec.path}", "not_found")
    if "json" in h.headers.get("Content-Type", ""):
        try:
            rec.json = json.loads(body or b"null")
        except ValueError:
            raise ApiFailure(400, "request body is not valid JSON") from None
    if endpoint == "upload":  # recorded even when refused, so tests can see every attempt
        _parse_upload(h, rec, body)
    auth_ok = h.headers.get("Authorization") == f"Bearer {s.api_key}" or (
        endpoint == "messages" and h.headers.get("x-api-key") == s.api_key)
    if not auth_ok:
        raise ApiFailure(401, STATUS_MESSAGES[401], "authentication_error")
    fault = s.take_fault(endpoint, rec.json)
    if fault is not None and fault.name.startswith("status_"):
        code = int(fault.name.removeprefix("status_"))
        headers = {}
        if "retry_after" in fault.params:
            headers["Retry-After"] = str(fault.params["retry_after"])
        raise ApiFailure(code, fault.params.get("message", STATUS_MESSAGES.get(code, "Error.")),
                         fault.params.get("type"), headers)
    if fault is not None and fault.name == "slow_headers":
        s._stopping.wait(float(fault.params.get("seconds", 2.0)))
        fault = None  # then answer normally (the client has usually hung up by now)
    if fault is not None and fault.name == "echo_auth":
        raise ApiFailure(int(fault.params.get("status", 400)),
                         f"Invalid request; headers were Authorization: "
                         f"{h.headers.get('Authorization')}, x-api-key: "
                         f"{h.headers.get('x-api-key')}")
    if endpoint == "chat":
        _chat(h, rec, fault)
    elif endpoint == "messages":
        _messages(h, rec, fault)
    elif endpoint == "upload":
        _upload(h, rec)
    elif endpoint == "models":
        data = [{"id": m, "object": "model", "created": c, "owned_by": "stepai"} for m, c in MODELS]
        h.send_json(rec, 200, {"object": "list", "data": data})
    else:
        _files(h, rec)


def _endpoint(method: str, path: str) -> str | None:
    if method == "POST" and path == "/v1/chat/completions":
        return "chat"
    if method == "POST" and path == "/v1/messages":
        return "messages"
    if method == "POST" and path == "/v1/files":
        return "upload"
    if method == "GET" and path == "/v1/models":
        return "models"
    if (path == "/v1/files" and method == "GET") or (
            path.startswith("/v1/files/") and method in ("GET", "DELETE")):
        return "files"
    return None


def _files(h: _Handler, rec: Recorded) -> None:
    s = h.standin
    if rec.path == "/v1/files":
        with s._lock:
            data = [f.obj() for f in s.files.values()]
        h.send_json(rec, 200, {"object": "list", "data": data})
        return
    fid = rec.path.removeprefix("/v1/files/")
    if fid.endswith("/content") and rec.method == "GET":
        _file_content(h, rec, fid.removesuffix("/content"))
        return
    with s._lock:
        stored = s.files.pop(fid, None) if rec.method == "DELETE" else s.files.get(fid)
    if stored is None:
        raise ApiFailure(404, f"file not found: {fid}", "not_found")
    if rec.method == "DELETE":
        h.send_json(rec, 200, {"id": fid, "object": "file", "deleted": True})
    else:
        h.send_json(rec, 200, stored.obj())


def _file_content(h: _Handler, rec: Recorded, fid: str) -> None:
    """The uploaded bytes, unchanged: tests compare what reached the server pixel for pixel."""
    with h.standin._lock:
        stored = h.standin.files.get(fid)
    if stored is None:
        raise ApiFailure(404, f"file not found: {fid}", "not_found")
    rec.status = 200
    h.send_response(200)
    h.send_header("Content-Type", "application/octet-stream")
    h.send_header("Content-Length", str(len(stored.data)))
    h.send_header("X-Trace-Id", rec.trace_id)
    h.end_headers()
    h.wfile.write(stored.data)


def _parse_upload(h: _Handler, rec: Recorded, body: bytes) -> None:
    parts = _parse_multipart(body, h.headers.get("Content-Type", ""))
    rec.purpose = parts.get("purpose", (None, b""))[1].decode()
    rec.filename, rec.file_bytes = parts.get("file", (None, None))


def _upload(h: _Handler, rec: Recorded) -> None:
    s = h.standin
    purpose, filename, data = rec.purpose, rec.filename, rec.file_bytes
    if data is None or not filename:
        raise ApiFailure(400, "file is required")
    if purpose != "storage":
        raise ApiFailure(400, f"invalid purpose: {purpose!r}; only 'storage' is supported")
    if len(data) > limits.MAX_UPLOAD_BYTES:
        raise ApiFailure(400, "file exceeds 128 MB")
    if sniff(data) is None and not filename.lower().endswith((".mp3", ".wav")):
        raise ApiFailure(400, "unsupported file type")
    fid = s.add_file(data, filename)
    h.send_json(rec, 200, s.files[fid].obj())


def _parse_multipart(body: bytes, ctype: str) -> dict[str, tuple[str | None, bytes]]:
    """Parse multipart/form-data by hand (the stdlib `cgi` module is gone)."""
    params = _header_params(ctype)
    if not ctype.startswith("multipart/form-data") or "boundary" not in params:
        raise ApiFailure(400, "expected multipart/form-data")
    delim = b"\r\n--" + params["boundary"].encode()
    out: dict[str, tuple[str | None, bytes]] = {}
    for piece in (b"\r\n" + body).split(delim)[1:]:
        if piece.startswith(b"--"):
            break
        head, _, content = piece[2:].partition(b"\r\n\r\n")
        disposition = next((line.split(":", 1)[1] for line in head.decode().split("\r\n")
                            if line.lower().startswith("content-disposition:")), "")
        dparams = _header_params(disposition)
        filename = dparams.get("filename")
        if filename is not None:  # undo the HTML5 form escapes of quotes and control characters
            filename = re.sub("%(22|[01][0-9A-F])", lambda m: chr(int(m[1], 16)), filename)
        out[dparams.get("name", "")] = (filename, content)
    return out


def _header_params(value: str) -> dict[str, str]:
    """`a; k="v"; k2=v2` → {k: v, k2: v2}, honouring quotes and backslash escapes."""
    params: dict[str, str] = {}
    i, n = value.find(";"), len(value)
    while 0 <= i < n:
        i += 1
        eq = value.find("=", i)
        if eq < 0:
            break
        key = value[i:eq].strip().lower()
        i = eq + 1
        if i < n and value[i] == '"':
            buf, i = [], i + 1
            while i < n and value[i] != '"':
                if value[i] == "\\" and i + 1 < n:
                    i += 1
                buf.append(value[i])
                i += 1
            params[key] = "".join(buf)
            i = value.find(";", i)
        else:
            end = value.find(";", i)
            params[key] = value[i:end if end >= 0 else n].strip()
            i = end
    return params


# -- chat --------------------------------------------------------------------------------------
@dataclass
class _Seen:
    images: int = 0
    image_bytes: int = 0
    videos: int = 0
    turns: int = 0
    last_text: str = ""
    text_chars: int = 0
    effort: str | None = None


def _media_data(h: _Handler, url: str, kind: str) -> bytes | None:
    """The bytes behind a media URL (None for a remote http URL the server would fetch)."""
    if url.startswith(("http://", "https://")):
        return None
    if url.startswith("stepfile://"):
        fid = url.removeprefix("stepfile://")
        with h.standin._lock:
            stored = h.standin.files.get(fid)
        if stored is None:
            raise ApiFailure(400, f"file not found: {fid}")
        data, declared = stored.data, None
    elif url.startswith("data:"):
        header, _, payload = url.partition(",")
        declared = header[5:].split(";")[0]
        data = h.decode_b64(payload)
    else:
        raise ApiFailure(400, f"invalid {kind} url")
    found = sniff(data)
    allowed = limits.IMAGE_MIMES if kind == "image" else limits.VIDEO_MIMES
    if found not in allowed:
        raise ApiFailure(400, f"unsupported {kind} type")
    if declared is not None and declared != found:
        raise ApiFailure(400, f"{kind} data does not match its declared type {declared}")
    return data


def _count_media(h: _Handler, seen: _Seen, model: str, kind: str, data: bytes | None) -> None:
    if kind == "video":
        if model not in VIDEO_MODELS:
            raise ApiFailure(400, f"model {model} does not support video input")
        if data is not None and len(data) > h.standin.max_video_bytes:
            raise ApiFailure(400, "video must be smaller than 128 MB")
        seen.videos += 1
        return
    if model not in IMAGE_MODELS:
        raise ApiFailure(400, f"model {model} does not support image input")
    seen.images += 1
    seen.image_bytes += len(data or b"")
    if seen.images > limits.MAX_IMAGES_PER_REQUEST:
        raise ApiFailure(400, "too many images: at most 60 per request")
    if seen.image_bytes > h.standin.max_image_bytes:
        raise ApiFailure(400, "images exceed 20 MB in total")


def _check_common(req: Any, *, need_max_tokens: bool) -> tuple[str, list[Any]]:
    if not isinstance(req, dict):
        raise ApiFailure(400, "request body must be a JSON object")
    model, messages = req.get("model"), req.get("messages")
    if model not in {m for m, _ in MODELS}:
        raise ApiFailure(400, f"Unsupported model: {model}")
    if not isinstance(messages, list) or not messages:
        raise ApiFailure(400, "messages must be a non-empty list")
    max_tokens = req.get("max_tokens")
    if need_max_tokens and max_tokens is None:
        raise ApiFailure(400, "max_tokens is required")
    if max_tokens is not None and (not isinstance(max_tokens, int) or max_tokens <= 0):
        raise ApiFailure(400, "max_tokens must be a positive integer")
    return model, messages


def _check_effort(model: str, effort: Any) -> None:
    if effort is not None and effort not in EFFORTS.get(model, ("low", "medium", "high")):
        raise ApiFailure(400, f"invalid reasoning effort: {effort}")


def _scan_chat(h: _Handler, req: Any) -> tuple[str, _Seen]:
    model, messages = _check_common(req, need_max_tokens=False)
    _check_effort(model, req.get("reasoning_effort"))
    seen = _Seen(effort=req.get("reasoning_effort"))
    for msg in messages:
        if not isinstance(msg, dict) or msg.get("role") not in CHAT_ROLES:
            raise ApiFailure(400, "invalid msg role")
        content = msg.get("content")
        parts = [{"type": "text", "text": content}] if isinstance(content, str) else content or []
        text = ""
        for part in parts:
            ptype = part.get("type")
            if ptype == "text":
                text += part.get("text", "")
            elif ptype in ("image_url", "video_url"):
                kind = ptype.removesuffix("_url")
                spec = part.get(ptype) or {}
                if kind == "image" and spec.get("detail", "low") not in ("low", "high"):
                    raise ApiFailure(400, f"invalid detail: {spec.get('detail')}")
                _count_media(h, seen, model, kind, _media_data(h, spec.get("url", ""), kind))
            else:
                raise ApiFailure(400, f"unsupported content part type: {ptype}")
        seen.text_chars += len(text)
        if msg["role"] == "user":
            seen.turns += 1
            seen.last_text = text
    return model, seen


def _reply_parts(h: _Handler, seen: _Seen) -> tuple[list[str], list[str]]:
    cfg = h.standin.reply_config()
    content = cfg.get("content")
    if content is None:
        at = f" at {seen.effort} effort" if seen.effort else ""
        content = (f"Seen {seen.images} image(s) and {seen.videos} video(s) in {seen.turns} "
                   f"user turn(s){at}. You said: {seen.last_text}")
    reasoning = cfg.get("reasoning")
    if reasoning is None:
        reasoning = f"The user asks: {seen.last_text}"
    return _split(reasoning, cfg.get("chunks")), _split(content, cfg.get("chunks"))


def _split(text: str, chunks: int | None) -> list[str]:
    if not text:
        return []
    if chunks is None:
        words = text.split(" ")
        return [w + " " for w in words[:-1]] + [words[-1]] if words[-1] else [
            w + " " for w in words[:-1]]
    size = max(1, -(-len(text) // chunks))
    return [text[i:i + size] for i in range(0, len(text), size)]


def _usage(prompt: int, completion: int, reasoning: int | None = None) -> dict[str, Any]:
    cached = prompt // 2 // 256 * 256
    usage: dict[str, Any] = {"prompt_tokens": prompt, "completion_tokens": completion,
                             "total_tokens": prompt + completion, "cached_tokens": cached,
                             "prompt_tokens_details": {"cached_tokens": cached}}
    if reasoning is not None:
        usage["completion_tokens_details"] = {"reasoning_tokens": reasoning}
    return usage


def _chat(h: _Handler, rec: Recorded, fault: Fault | None) -> None:
    req = rec.json
    model, seen = _scan_chat(h, req)
    name = fault.name if fault else ""
    if name == "file_not_found":
        raise ApiFailure(400, "file not found: the referenced stepfile does not exist")
    prompt = 12 + seen.text_chars // 4 + seen.images * 400 + seen.videos * 2000
    rkey = h.standin.reasoning_key or (
        "reasoning_content" if req.get("reasoning_format") == "deepseek-style" else "reasoning")
    finish = {"finish_length": "length", "finish_content_filter": "content_filter"}.get(name,
                                                                                         "stop")
    if name in ("flood", "paced"):
        count = int(fault.params.get("count", 20_000))  # type: ignore[union-attr]
        thinking = int(fault.params.get("reasoning", 0))  # type: ignore[union-attr]
        reasoning = [f"r{i % 10} " for i in range(thinking)]
        content = [f"t{i % 10} " for i in range(count)]
    else:
        reasoning, content = _reply_parts(h, seen)
        if finish == "content_filter":
            content = content[: len(content) // 2]
    if not req.get("stream"):
        message = {"role": "assistant", "content": "".join(content),
                   rkey: "".join(reasoning)}
        h.send_json(rec, 200, {
            "id": str(uuid.uuid4()), "object": "chat.completion", "created": int(time.time()),
            "model": model, "choices": [{"index": 0, "message": message,
                                         "finish_reason": finish}],
            "usage": _usage(prompt, len(reasoning) + len(content),
                            len(reasoning) if h.standin.reasoning_tokens else None)})
        return
    cid, created = uuid.uuid4().hex, int(time.time())
    details = h.standin.reasoning_tokens

    def chunk(delta: dict[str, Any], finish_reason: str, done: int, p: int = prompt) -> bytes:
        thought = min(done, len(reasoning)) if details else None
        return b"data: %s\n\n" % json.dumps({
            "id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
            "usage": _usage(p, done, thought)}, ensure_ascii=False).encode()

    def build() -> list[bytes]:
        events = [chunk({"role": "assistant", "content": ""}, "", 0, 0)]
        done = 0
        for piece in reasoning:
            done += 1
            events.append(chunk({"role": "", "content": "", rkey: piece}, "", done))
        for piece in content:
            done += 1
            events.append(chunk({"role": "", "content": piece}, "", done))
        events.append(chunk({"role": "", "content": ""}, finish, done))
        events.append(b"data: [DONE]\n\n")
        return events

    if name in ("flood", "paced"):
        key = ("chat", len(reasoning), len(content), model, prompt, details)
        _serve_stream(h, rec, h.standin.rendered(key, build), fault)
    else:
        _serve_stream(h, rec, build(), fault)


def _serve_stream(h: _Handler, rec: Recorded, events: list[bytes], fault: Fault | None) -> None:
    """Write SSE events, applying stream faults. Events[0] is the preamble (not a delta)."""
    name = fault.name if fault else ""
    params = fault.params if fault else {}
    if h.standin.sse_comments:  # keep-alive comments between events, as proxies may add
        events = [events[0], *(b": keep-alive\n\n" + e for e in events[1:])]
    if h.standin.crlf:  # JSON never holds a raw newline, so every \n is a line break
        events = [e.replace(b"\n", b"\r\n") for e in events]
    h.start_stream(rec)
    if name == "flood":
        blob = b"".join(events)
        for i in range(0, len(blob), 65536):
            h.send_chunk(blob[i:i + 65536])
        h.end_stream()
        return
    if name == "paced":
        _pace(h, events, float(params.get("duration", 20.0)))
        h.end_stream()
        return
    after = int(params.get("after", 2)) + 1
    if name in ("keepalive", "trickle"):
        _keep_open(h, events[:after], name, float(params.get("interval", 0.02)))
        return
    if name in ("drop", "stall"):
        h.send_chunk(b"".join(events[:after]))
        if name == "stall":
            h.standin._stopping.wait(float(params.get("seconds", 3600)))
        h.drop()
        return
    if name == "truncate":
        h.send_chunk(b"".join(events[:after]))
        h.end_stream()
        return
    if name == "rendezvous":
        h.send_chunk(b"".join(events[:after]))
        h.wfile.flush()
        try:
            params["barrier"].wait()
        except threading.BrokenBarrierError:
            h.drop()  # the other streams never got this far: they were not concurrent
            return
        events = events[after:]
    if name == "deep_json":  # a chunk nested deeper than any parser's recursion limit
        events = [*events[:after], b"data: " + b"[" * 200_000 + b"]" * 200_000 + b"\n\n",
                  *events[after:]]
    if name == "malformed":
        events = [*events[:after], b'data: {"id": "broken", "choices": [{"delta": \n\n',
                  *events[after:]]
    if params.get("together"):  # one HTTP chunk: the client reads the events as one batch
        events = [b"".join(events)]
    for event in events:
        h.send_chunk(event)
    h.end_stream()


def _keep_open(h: _Handler, events: list[bytes], name: str, interval: float) -> None:
    """Send the first events, then only keep-alive comments (`keepalive`) or one byte of a
    comment at a time (`trickle`), never another event, until the stand-in stops or the
    client hangs up: a connection that is alive but carries no reply."""
    h.send_chunk(b"".join(events))
    h.send_chunk(b":")  # trickle: a comment line that never ends
    try:
        while not h.standin._stopping.wait(interval):
            h.send_chunk(b" keep-alive\n\n:" if name == "keepalive" else b"x")
            h.wfile.flush()
    except OSError:
        pass  # the client timed out and closed the connection, as it should
    h.drop()


def _pace(h: _Handler, events: list[bytes], duration: float) -> None:
    start, sent, total = time.monotonic(), 0, len(events)
    while sent < total and not h.standin._stopping.is_set():
        due = min(total, int((time.monotonic() - start) / duration * total) + 1)
        if due > sent:
            h.send_chunk(b"".join(events[sent:due]))
            sent = due
        time.sleep(0.005)


# -- messages ----------------------------------------------------------------------------------
def _scan_messages(h: _Handler, req: Any) -> tuple[str, _Seen]:
    model, messages = _check_common(req, need_max_tokens=True)
    _check_effort(model, (req.get("output_config") or {}).get("effort"))
    seen = _Seen(effort=(req.get("output_config") or {}).get("effort"))
    for msg in messages:
        if not isinstance(msg, dict) or msg.get("role") not in ("user", "assistant"):
            raise ApiFailure(400, "invalid message role")
        content = msg.get("content")
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content or []
        text = ""
        for block in blocks:
            btype = block.get("type")
            if btype == "text":
                text += block.get("text", "")
            elif btype == "image":
                source = block.get("source") or {}
                if source.get("type") == "base64":
                    url = f"data:{source.get('media_type')};base64,{source.get('data', '')}"
                else:
                    url = source.get("url", "")
                _count_media(h, seen, model, "image", _media_data(h, url, "image"))
            else:
                raise ApiFailure(400, f"unsupported content block type: {btype}")
        seen.text_chars += len(text)
        if msg["role"] == "user":
            seen.turns += 1
            seen.last_text = text
    return model, seen


def _messages(h: _Handler, rec: Recorded, fault: Fault | None) -> None:
    req = rec.json
    model, seen = _scan_messages(h, req)
    name = fault.name if fault else ""
    if name == "file_not_found":
        raise ApiFailure(400, "file not found")
    prompt = 12 + seen.text_chars // 4 + seen.images * 400
    stop = {"finish_length": "max_tokens", "finish_content_filter": "refusal"}.get(name,
                                                                                   "end_turn")
    reasoning, content = _reply_parts(h, seen)
    if name in ("flood", "paced"):
        reasoning = []
        content = [f"t{i % 10} " for i in range(int(fault.params.get("count", 20_000)))]  # type: ignore[union-attr]
    if not h.standin.messages_thinking:
        reasoning = []
    mid = "msg_" + uuid.uuid4().hex[:24]
    if not req.get("stream"):
        blocks = [{"type": "thinking", "thinking": "".join(reasoning)}] if reasoning else []
        blocks.append({"type": "text", "text": "".join(content)})
        h.send_json(rec, 200, {"id": mid, "type": "message", "role": "assistant", "model": model,
                               "stop_reason": stop, "stop_sequence": None, "content": blocks,
                               "usage": {"input_tokens": prompt,
                                         "output_tokens": len(reasoning) + len(content)}})
        return

    def ev(kind: str, data: dict[str, Any]) -> bytes:
        return b"event: %s\ndata: %s\n\n" % (kind.encode(), json.dumps(
            {"type": kind, **data}, ensure_ascii=False).encode())

    # One list item per delta (block start/stop glued on), so fault `after=N` counts deltas.
    events = [ev("message_start", {"message": {"id": mid, "type": "message",
                                               "role": "assistant", "model": model}})
              + ev("ping", {})]
    index = 0
    for kind, pieces in (("thinking", reasoning), ("text", content)):
        if not pieces:
            continue
        items = [ev("content_block_delta", {"index": index, "delta": {
            "type": f"{kind}_delta", kind: piece}}) for piece in pieces]
        items[0] = ev("content_block_start", {"index": index, "content_block": {
            "type": kind, kind: ""}}) + items[0]
        items[-1] += ev("content_block_stop", {"index": index})
        events += items
        index += 1
    usage = {"input_tokens": prompt, "output_tokens": len(reasoning) + len(content)}
    if h.standin.messages_stop_nested:
        events.append(ev("message_delta", {"delta": {"stop_reason": stop,
                                                     "stop_sequence": None}, "usage": usage}))
    else:
        events.append(ev("message_delta", {"stop_reason": stop, "usage": usage}))
    events.append(ev("message_stop", {}))
    _serve_stream(h, rec, events, fault)
