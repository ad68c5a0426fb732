"""Typed API failures, each with one human sentence and StepFun's trace id.

Callers (chat engine, CLI, GUI) branch on the class — retry, re-upload, ask for a key — and show
`str(err)` as is. The message never contains the API key: it is built from our own wording plus
the server's `error.message`, and `app.redact.redact` removes the key (in every form) if a
server ever echoed it back.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from app.redact import redact


class ApiError(Exception):
    """Base class. `str(err)` is the message plus " (trace id: X)" when the server sent one."""

    retryable: bool = False
    status: int | None = None

    def __init__(self, message: str, *, status: int | None = None,
                 trace_id: str | None = None) -> None:
        self.message = message
        if status is not None:
            self.status = status
        self.trace_id = trace_id
        super().__init__(self.__str__())

    def __str__(self) -> str:
        if self.trace_id:
            return f"{self.message} (trace id: {self.trace_id})"
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, status={self.status!r}, " \
               f"trace_id={self.trace_id!r})"


class AuthError(ApiError):
    status = 401


class InvalidKey(AuthError):
    """The key cannot be sent at all (see `app.api.keycheck`): refused before any request."""


class InsufficientBalance(ApiError):
    status = 402


class RateLimited(ApiError):
    status = 429
    retryable = True

    def __init__(self, message: str, *, status: int | None = None, trace_id: str | None = None,
                 retry_after: float | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(message, status=status, trace_id=trace_id)


class ContentBlocked(ApiError):
    status = 451


class ServerError(ApiError):
    status = 500
    retryable = True


class BadRequest(ApiError):
    status = 400


class FileNotFound(ApiError):
    """A file id the server no longer knows: the caller re-uploads once."""

    status = 404


class TooLarge(ApiError):
    status = 413


class NetworkError(ApiError):
    """Could not reach the host (DNS, refused, TLS, proxy)."""

    retryable = True


class Timeout(ApiError):
    """Connect or read timeout."""


class StreamInterrupted(ApiError):
    """The reply started but broke off: a dropped connection or a malformed chunk."""


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds form only; dates are ignored)."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


def error_body(body: bytes) -> tuple[str, str]:
    """(message, type) from `{"error": {"message", "type"}}`, tolerating any other shape."""
    try:
        data: Any = json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: nesting a server controls
        text = body.decode("utf-8", "replace").strip()
        return (text[:200] if text and "<" not in text[:1] else ""), ""
    err = data.get("error") if isinstance(data, dict) else None
    if isinstance(err, dict):
        return str(err.get("message") or ""), str(err.get("type") or "")
    if isinstance(err, str):
        return err, ""
    if isinstance(data, dict) and isinstance(data.get("message"), str):
        return data["message"], str(data.get("type") or "")
    return "", ""


def from_response(status: int, body: bytes, *, trace_id: str | None, path: str,
                  retry_after: str | None = None, secrets: Sequence[str] = ()) -> ApiError:
    """Map an HTTP error response to the matching ApiError subclass."""
    server_msg, err_type = error_body(body)
    server_msg = redact(server_msg, secrets).rstrip(".")
    said = f": {server_msg}." if server_msg else "."
    kw: dict[str, Any] = {"status": status, "trace_id": trace_id}
    if status == 401:
        return AuthError("The API key was rejected; check it in Settings.", **kw)
    if status == 402:
        return InsufficientBalance("The StepFun account has insufficient balance; top it up "
                                   "and try again.", **kw)
    if status == 429:
        wait = parse_retry_after(retry_after)
        return RateLimited("StepFun is rate-limiting requests; wait a moment and try again.",
                           retry_after=wait, **kw)
    if status == 451 or err_type == "censorship_block":
        return ContentBlocked("StepFun's content review blocked this request or its reply.", **kw)
    if status == 413:
        return TooLarge("The request is too large for the server; send fewer or smaller "
                        "attachments.", **kw)
    if status >= 500:
        return ServerError(f"StepFun had a server error (HTTP {status}); try again later.", **kw)
    if (status == 404 and "/files" in path) or "file not found" in server_msg.lower():
        return FileNotFound(f"The server no longer has an uploaded file{said}", **kw)
    return BadRequest(f"The server refused the request (HTTP {status}){said}", **kw)
