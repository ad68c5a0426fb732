"""Server-sent events → batches of `data:` payloads, one batch per network read.

Batching is the hot-path optimisation that keeps `stream_chat` within 0.7× of a bare line loop
(tests/bench/bench_stream.py): the per-event async-generator hop is paid once per read instead of
once per line, and consumers can coalesce cumulative usage within a batch. Only `data:` fields
matter to us, because both StepFun APIs repeat the event type inside the JSON.

The line decoder is our own (≈40 lines, tested in tests/test_sse_lines.py) rather than a private
module of a library: CR, LF and CRLF (also split across reads), a BOM before the first line, and
a bound on line length, so a server cannot make us buffer an endless line. Two bounds on time:
httpx's read timeout counts from the last *byte*; `idle_timeout` here counts from the last
*event*, so a server that keeps the connection open with comments, keep-alive lines or a byte
now and then still ends as a timeout.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

import httpx

from app.api.errors import StreamInterrupted, Timeout

MAX_LINE_CHARS = 16 * 1024 * 1024
"""Longest SSE line accepted (a whole reply in one chunk is far shorter)."""


class LineTooLong(StreamInterrupted):
    """The server sent a line longer than MAX_LINE_CHARS."""


class SSELineDecoder:
    """Incremental splitter: feed text as it arrives, get back the complete lines."""

    __slots__ = ("_after_cr", "_max", "_parts", "_pending", "_started")

    def __init__(self, max_line: int = MAX_LINE_CHARS) -> None:
        self._max = max_line
        self._parts: list[str] = []  # the unfinished line, in pieces (no quadratic joins)
        self._pending = 0
        self._after_cr = False  # the last chunk ended in CR: a leading LF belongs to it
        self._started = False

    def decode(self, text: str) -> list[str]:
        if not text:
            return []
        if not self._started:
            self._started = True
            if text[0] == "\ufeff":
                text = text[1:]
        if self._after_cr and text[:1] == "\n":
            text = text[1:]
        self._after_cr = False
        if "\r" in text:
            self._after_cr = text[-1] == "\r"
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        lines = text.split("\n")
        tail = lines.pop()
        if lines and self._parts:
            self._parts.append(lines[0])
            lines[0] = "".join(self._parts)
            self._parts.clear()
            self._pending = 0
        if tail:
            self._parts.append(tail)
            self._pending += len(tail)
        if self._pending > self._max or (lines and len(lines[0]) > self._max):
            raise LineTooLong(f"The server sent a line longer than {self._max // 1_000_000} "
                              "million characters, so the reply was cut off.")
        return lines

    def flush(self) -> list[str]:
        """The unterminated last line, if any (the SSE spec drops its event anyway)."""
        line = "".join(self._parts)
        self._parts.clear()
        self._pending = 0
        return [line] if line else []


def idle_message(seconds: float) -> str:
    """The one sentence for a reply that went quiet, whether bytes or only events stopped."""
    return f"The server stopped sending for {seconds:g} s, so the reply was cut off."


async def sse_batches(response: httpx.Response, *, idle_timeout: float | None = None
                      ) -> AsyncGenerator[list[str], None]:
    """Yield the data of each complete event (multi-line data joined by "\\n"), in batches.

    Comments and the `event:`/`id:`/`retry:` fields are skipped; an event cut off by the end of
    the stream is dropped, as the SSE spec says. With `idle_timeout`, raise `Timeout` when that
    many seconds pass without a complete event, however many bytes trickle in meanwhile.
    """
    trace_id = response.headers.get("x-trace-id")
    ctype = response.headers.get("content-type", "")
    if "text/event-stream" not in ctype:
        raise StreamInterrupted("The server did not answer with an event stream.",
                                trace_id=trace_id)
    decoder = SSELineDecoder()
    data: list[str] = []
    chunks = response.aiter_text().__aiter__()
    loop = asyncio.get_running_loop()
    deadline = None if idle_timeout is None else loop.time() + idle_timeout
    while True:
        try:
            if deadline is None:
                text = await anext(chunks)
            else:
                async with asyncio.timeout_at(deadline):
                    text = await anext(chunks)
        except StopAsyncIteration:
            return
        except TimeoutError:
            assert idle_timeout is not None
            raise Timeout(idle_message(idle_timeout), trace_id=trace_id) from None
        batch: list[str] = []
        for line in decoder.decode(text):
            if line:
                if line.startswith("data:"):
                    data.append(line[6:] if line.startswith("data: ") else line[5:])
                elif line == "data":
                    data.append("")
            elif data:
                batch.append(data[0] if len(data) == 1 else "\n".join(data))
                data = []
        if batch:
            if deadline is not None:
                deadline = loop.time() + idle_timeout  # type: ignore[operator]
            yield batch
