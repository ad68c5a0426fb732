"""`StepClient`: the one HTTP client for StepFun — chat (streamed or whole), files, models.

One shared `httpx.AsyncClient` per StepClient (connection reuse), explicit timeouts, and
`trust_env=False` so a developer's proxy variables cannot swallow requests: the proxy and the
trust store come from Settings through the constructor. Failures become `app.api.errors` classes.
One retry policy (`should_retry`, as openai-python's `_should_retry`) and one loop
(`_send_with_retries`) serve streamed and whole calls: bounded, exponential back-off with
jitter, `Retry-After` honoured up to a cap, only before the reply starts (never a half-streamed
answer twice). The loop catches `ApiError` only, so cancelling a task passes straight through a
retry sleep. The key is checked before anything is built (`app.api.keycheck`), and every error
text is passed through `app.redact.redact` with the key and any proxy credentials.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import ssl
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from app.api.errors import (
    ApiError,
    InvalidKey,
    NetworkError,
    StreamInterrupted,
    Timeout,
    from_response,
)
from app.api.events import Retrying, StreamEvent, Usage, unbatched
from app.api.files import FileObject, MultipartFile
from app.api.keycheck import key_problem
from app.api.request import ChatRequest, build_chat_body, build_messages_body, has_video
from app.api.sse_chat import chat_batches, chat_result
from app.api.sse_lines import idle_message, sse_batches
from app.api.sse_messages import messages_batches, messages_result
from app.api.timeouts import Timeouts
from app.redact import redact, url_secrets

__all__ = ["ChatResult", "FileObject", "StepClient", "Timeouts", "should_retry"]

RETRY_AFTER_CAP = 30.0
"""Longest wait we take on a server's `Retry-After`."""
BACKOFF_CAP = 20.0
RETRY_STATUSES = frozenset({408, 409, 429})
"""Besides every 5xx: request timeout, lock conflict, rate limit (as openai-python)."""


def should_retry(err: ApiError) -> bool:
    """The one answer to "is this failure worth another attempt?" (before any reply byte).

    Statuses 408, 409, 429 and 5xx; connection failures, connect timeouts and a read timeout
    before the first byte (a network failure: nothing was answered); never a request the
    server understood and refused (other 4xx), a bad key, or a URL httpx cannot use.
    """
    status = err.status
    if status is not None and (status in RETRY_STATUSES or status >= 500):
        return True
    return err.retryable


@dataclass(frozen=True)
class ChatResult:
    """A whole (non-streamed) reply. Both texts are reported; callers choose what to show."""

    content: str
    reasoning: str
    usage: Usage | None
    finish_reason: str | None


class StepClient:
    """Async client for the StepFun API; use as `async with StepClient(...) as client:`."""

    def __init__(self, *, base_url: str, api_key: str, timeouts: Timeouts | None = None,
                 proxy: str | None = None, verify: bool | ssl.SSLContext = True,
                 transport: httpx.AsyncBaseTransport | None = None,
                 max_retries: int = 3, backoff: float = 0.5) -> None:
        problem = key_problem(api_key)
        if problem:
            raise InvalidKey(problem)
        self._base = base_url.rstrip("/")
        self._key = api_key
        self._secrets = (api_key, *url_secrets(proxy), *url_secrets(base_url))
        self._timeouts = timeouts = timeouts or Timeouts()
        self._max_retries = max_retries
        self._backoff = backoff
        self.last_trace_id: str | None = None
        self._twin_options = (proxy, verify, transport)  # for `twin()`
        if self._base.startswith("http://") and (proxy is None or proxy.startswith("http://")):
            verify = False  # no TLS anywhere on the path: skip building a CA bundle (~80 ms)
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(connect=timeouts.connect, read=timeouts.read,
                                  write=timeouts.write, pool=timeouts.pool),
            headers={"Authorization": f"Bearer {api_key}", "User-Agent": "StepDesk"},
            trust_env=False, proxy=proxy, verify=verify, transport=transport)

    def __repr__(self) -> str:
        return f"StepClient(base_url={redact(self._base)!r})"

    def twin(self) -> StepClient:
        """A new client with the same base URL, key, timeouts, proxy, trust and retry policy,
        for another event loop's thread (an httpx pool belongs to the loop that uses it)."""
        proxy, verify, transport = self._twin_options
        return StepClient(base_url=self._base, api_key=self._key, timeouts=self._timeouts,
                          proxy=proxy, verify=verify, transport=transport,
                          max_retries=self._max_retries, backoff=self._backoff)

    def redact(self, text: str) -> str:
        """`text` without this client's key or proxy credentials, in any form."""
        return redact(text, self._secrets)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> StepClient:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.aclose()

    # -- chat --------------------------------------------------------------------------------
    def stream_chat(self, req: ChatRequest) -> AsyncGenerator[StreamEvent, None]:
        """Stream one reply as events, ending with `Finished`; raises ApiError subclasses.

        Uses the Messages API when `req.api_style == "messages"`, except for requests with
        video, which always go through Chat Completions. Yields `Retrying` before each retry
        (only ever before the first reply byte). `finish_reason: content_filter` raises
        ContentBlocked after the partial deltas. Cancelling the consumer closes the response;
        a consumer that stops early should close the generator (`contextlib.aclosing`).
        """
        return unbatched(self.stream_chat_batches(req))

    async def stream_chat_batches(self, req: ChatRequest
                                  ) -> AsyncGenerator[list[StreamEvent], None]:
        """`stream_chat`'s events, one list per network read (a `Retrying` alone in its list).

        For consumers that can take a read's deltas at once (the engine, the terminal): one
        step per read instead of one per delta is most of the cost of a fast stream.
        """
        path, content, parse = await self._chat_call(req, stream=True)
        response: httpx.Response | None = None
        async for step in self._send_with_retries(
                "POST", path, content=content, stream=True,
                headers={"Content-Type": "application/json", "Accept": "text/event-stream"}):
            if isinstance(step, Retrying):
                yield [step]
            else:
                response = step
        assert response is not None
        trace_id = response.headers.get("x-trace-id")
        try:
            # Close the parser and the SSE reader in this task as soon as the reply ends,
            # rather than whenever the garbage collector gets to them.
            async with contextlib.aclosing(sse_batches(
                    response, idle_timeout=self._timeouts.read)) as batches, \
                    contextlib.aclosing(parse(batches, trace_id)) as events:
                async for batch in events:
                    yield batch
        except httpx.TimeoutException as exc:
            raise Timeout(idle_message(self._timeouts.read), trace_id=trace_id) from exc
        except httpx.HTTPError as exc:
            raise StreamInterrupted("The connection dropped while the reply was streaming.",
                                    trace_id=trace_id) from exc
        finally:
            await response.aclose()

    async def chat(self, req: ChatRequest) -> ChatResult:
        """One whole reply (no streaming), through the same API choice as `stream_chat`.

        Raises ContentBlocked for `finish_reason: content_filter`, like `stream_chat`.
        """
        path, content, _ = await self._chat_call(req, stream=False)
        body, trace_id = await self._json_call("POST", path, content=content)
        parse = messages_result if path == "/messages" else chat_result
        return ChatResult(*parse(body, trace_id))

    async def _chat_call(self, req: ChatRequest, *, stream: bool) -> tuple[str, bytes, Any]:
        if req.api_style == "messages" and not has_video(req):
            # Reads and base64-encodes image files: keep that off the event loop.
            body = await asyncio.to_thread(build_messages_body, req, stream=stream)
            return "/messages", _dumps(body), messages_batches
        return "/chat/completions", _dumps(build_chat_body(req, stream=stream)), chat_batches

    # -- files and models ---------------------------------------------------------------------
    async def upload_file(self, path: Path, *, filename: str | None = None,
                          mime: str | None = None, purpose: str = "storage",
                          progress: Callable[[int, int], None] | None = None) -> FileObject:
        """Upload a file (multipart, streamed from disk; reopened for each retry)."""
        try:
            form = MultipartFile(path, filename=filename or path.name,
                                 mime=mime or "application/octet-stream", purpose=purpose,
                                 progress=progress)
        except OSError as exc:
            raise ApiError(f"Could not read {path.name}: {exc.strerror or exc}.") from exc
        headers = {"Content-Type": form.content_type,
                   "Content-Length": str(form.content_length)}
        body, _ = await self._json_call("POST", "/files", body_factory=form.body,
                                        headers=headers)
        return FileObject.from_json(body)

    async def get_file(self, file_id: str) -> FileObject:
        body, _ = await self._json_call("GET", f"/files/{file_id}")
        return FileObject.from_json(body)

    async def list_files(self) -> list[FileObject]:
        body, _ = await self._json_call("GET", "/files")
        return [FileObject.from_json(obj) for obj in body.get("data") or []]

    async def delete_file(self, file_id: str) -> None:
        await self._json_call("DELETE", f"/files/{file_id}")

    async def list_models(self) -> list[str]:
        body, _ = await self._json_call("GET", "/models")
        return [str(obj["id"]) for obj in body.get("data") or [] if "id" in obj]

    # -- plumbing ----------------------------------------------------------------------------
    async def _json_call(self, method: str, path: str, *, content: bytes | None = None,
                         body_factory: Callable[[], AsyncIterator[bytes]] | None = None,
                         headers: dict[str, str] | None = None
                         ) -> tuple[dict[str, Any], str | None]:
        """Send with retries; return the JSON object body and the trace id."""
        if content is not None:
            headers = {"Content-Type": "application/json", **(headers or {})}
        response: httpx.Response | None = None
        async for step in self._send_with_retries(method, path, content=content,
                                                  body_factory=body_factory, headers=headers):
            if not isinstance(step, Retrying):
                response = step
        assert response is not None
        trace_id = response.headers.get("x-trace-id")
        try:
            body = json.loads(response.content)
        except (ValueError, RecursionError):  # RecursionError: nesting a server controls
            body = None
        if not isinstance(body, dict):
            raise ApiError("The server sent a reply that is not valid JSON.",
                           status=response.status_code, trace_id=trace_id)
        return body, trace_id

    async def _send_with_retries(
            self, method: str, path: str, *, content: bytes | None = None,
            body_factory: Callable[[], AsyncIterator[bytes]] | None = None,
            headers: dict[str, str] | None = None, stream: bool = False,
    ) -> AsyncIterator[Retrying | httpx.Response]:
        """The one retry loop: yields `Retrying` before each wait, then the good response.

        The body is rebuilt for every attempt (an upload reopens its file). A streamed error
        response is read and closed here, so callers only ever get a 2xx/3xx response.
        """
        attempt = 0
        while True:
            request = self._http.build_request(
                method, self._base + path, headers=headers,
                content=body_factory() if body_factory is not None else content)
            try:
                response = await self._send(request, stream=stream)
                if response.status_code >= 400:
                    if stream:
                        try:
                            await response.aread()
                        except httpx.HTTPError as exc:
                            raise self._transport_error(exc, request) from exc
                        finally:
                            await response.aclose()
                    raise self._status_error(response, path)
            except ApiError as err:
                delay = self._retry_delay(err, attempt)
                if delay is None:
                    raise
                attempt += 1
                yield Retrying(attempt, delay, err.message)
                await asyncio.sleep(delay)
                continue
            yield response
            return

    async def _send(self, request: httpx.Request, *, stream: bool) -> httpx.Response:
        try:
            response = await self._http.send(request, stream=stream)
        except httpx.HTTPError as exc:
            raise self._transport_error(exc, request) from exc
        except OSError as exc:  # the upload body could not read its file
            reason = self.redact(exc.strerror or str(exc))
            raise ApiError(f"Could not read the file being uploaded: {reason}.") from exc
        self.last_trace_id = response.headers.get("x-trace-id") or self.last_trace_id
        return response

    def _status_error(self, response: httpx.Response, path: str) -> ApiError:
        return from_response(response.status_code, response.content,
                             trace_id=response.headers.get("x-trace-id"), path=path,
                             retry_after=response.headers.get("retry-after"),
                             secrets=self._secrets)

    def _transport_error(self, exc: httpx.HTTPError, request: httpx.Request) -> ApiError:
        host = request.url.host or redact(self._base)
        reason = self.redact(str(exc).strip())
        if isinstance(exc, httpx.ConnectTimeout):
            err: ApiError = Timeout(f"Connecting to {host} timed out after "
                                    f"{self._timeouts.connect:g} s.")
            err.retryable = True
        elif isinstance(exc, httpx.ReadTimeout):  # before the first byte: nothing answered
            err = NetworkError(f"{host} did not answer within {self._timeouts.read:g} s.")
        elif isinstance(exc, httpx.TimeoutException):
            err = Timeout(f"{host} did not answer within {self._timeouts.read:g} s.")
        elif isinstance(exc, (httpx.ConnectError, httpx.ProxyError)):
            err = NetworkError(f"Could not connect to {host}" + (f": {reason}." if reason else "."))
        elif isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)):
            err = NetworkError(f"The connection to {host} broke before a reply arrived.")
        else:
            err = NetworkError(f"Could not reach {host}" + (f": {reason}." if reason else "."))
            err.retryable = False
        return err

    def _retry_delay(self, err: ApiError, attempt: int) -> float | None:
        """Seconds to wait before retry number `attempt + 1`, or None to give up."""
        if not should_retry(err) or attempt >= self._max_retries:
            return None
        retry_after = getattr(err, "retry_after", None)
        if retry_after is not None:
            return min(retry_after, RETRY_AFTER_CAP)
        base = min(BACKOFF_CAP, self._backoff * 2 ** attempt)
        return base / 2 + random.uniform(0, base / 2)


def _dumps(body: dict[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
