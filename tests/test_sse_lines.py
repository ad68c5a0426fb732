"""Our SSE line decoder: CR, LF, CRLF (split across reads), BOM, comments, multi-line data,
bounded line length — the same lines whichever way the stream is cut into chunks."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from app.api.sse_lines import LineTooLong, SSELineDecoder, sse_batches

CASES = [
    # (stream, lines)
    ("a\nb\n", ["a", "b"]),
    ("a\r\nb\r\n", ["a", "b"]),
    ("a\rb\r", ["a", "b"]),
    ("a\r\n\r\nb\n", ["a", "", "b"]),
    ("a\r\rb\n", ["a", "", "b"]),
    ("\ufeffdata: x\n\n", ["data: x", ""]),
    ("data: x\u2028y\n", ["data: x\u2028y"]),  # U+2028 is not a line break in SSE
    ("data: é漢字\n", ["data: é漢字"]),
    ("no end", []),
]


@pytest.mark.parametrize(("stream", "lines"), CASES)
def test_lines_whatever_the_chunking(stream: str, lines: list[str]) -> None:
    for size in range(1, len(stream) + 1):
        decoder = SSELineDecoder()
        got: list[str] = []
        for i in range(0, len(stream), size):
            got += decoder.decode(stream[i:i + size])
        assert got == lines, (size, got)


def test_bom_only_at_the_start() -> None:
    decoder = SSELineDecoder()
    assert decoder.decode("a\n\ufeffb\n") == ["a", "\ufeffb"]


def test_long_line_is_bounded_even_without_a_line_break() -> None:
    decoder = SSELineDecoder(max_line=1000)
    decoder.decode("x" * 600)
    with pytest.raises(LineTooLong):
        decoder.decode("x" * 600)
    with pytest.raises(LineTooLong):
        SSELineDecoder(max_line=1000).decode("y" * 2000 + "\n")


def test_long_line_in_many_chunks_is_linear() -> None:
    decoder = SSELineDecoder()
    for _ in range(5000):
        assert decoder.decode("z" * 1000) == []
    assert decoder.decode("\n") == ["z" * 5_000_000]


def _response(body: bytes, ctype: str = "text/event-stream") -> httpx.Response:
    async def chunks():
        for i in range(0, len(body), 7):
            yield body[i:i + 7]

    return httpx.Response(200, headers={"content-type": ctype}, content=chunks())


async def _collect(body: bytes) -> list[str]:
    out: list[str] = []
    async for batch in sse_batches(_response(body)):
        out += batch
    return out


@pytest.mark.parametrize(("body", "events"), [
    (b"data: a\n\ndata: b\n\n", ["a", "b"]),
    (b": comment\ndata: a\n\n: ping\n\n", ["a"]),
    (b"data: one\ndata: two\n\n", ["one\ntwo"]),
    (b"event: x\nid: 3\nretry: 10\ndata:tight\n\n", ["tight"]),
    (b"data\n\n", [""]),
    (b"data: cut off without a blank line", []),
    (b"\xef\xbb\xbfdata: bom\r\n\r\n", ["bom"]),
])
def test_events_from_a_real_httpx_response(body: bytes, events: list[str]) -> None:
    assert asyncio.run(_collect(body)) == events


def test_not_an_event_stream_is_refused() -> None:
    from app.api.errors import StreamInterrupted

    async def go() -> None:
        async for _ in sse_batches(_response(b"{}", "application/json")):
            pass

    with pytest.raises(StreamInterrupted):
        asyncio.run(go())
