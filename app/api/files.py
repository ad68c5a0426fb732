"""Multipart upload bodies streamed from disk, and the Files API's file object.

httpx's own `files=` reads the whole file into memory before sending; videos reach 128 MB, so we
build the multipart body ourselves as an async generator over the open file, with an exact
`Content-Length` (so the server sees a plain, non-chunked request) and a progress callback.
"""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CHUNK_BYTES = 256 * 1024

# HTML5 form encoding of a quoted filename, as browsers and httpx do: UTF-8 kept as is.
_FILENAME_ESCAPES = {'"': "%22", "\\": "\\\\"} | {
    chr(c): f"%{c:02X}" for c in range(0x20) if c != 0x1B}
_FILENAME_RE = re.compile("|".join(re.escape(c) for c in _FILENAME_ESCAPES))


@dataclass(frozen=True)
class FileObject:
    """A file stored by the Files API (`status` may be missing, §3)."""

    id: str
    bytes: int
    created_at: int
    filename: str
    purpose: str
    status: str | None

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> FileObject:
        return cls(id=str(obj["id"]), bytes=int(obj.get("bytes") or 0),
                   created_at=int(obj.get("created_at") or 0),
                   filename=str(obj.get("filename") or ""),
                   purpose=str(obj.get("purpose") or ""), status=obj.get("status"))


def quote_filename(name: str) -> str:
    """The `filename="…"` parameter value, safe for quotes, backslashes and control characters."""
    return _FILENAME_RE.sub(lambda m: _FILENAME_ESCAPES[m.group(0)], name)


class MultipartFile:
    """One `purpose` field plus one file field; `body()` may be called again for a retry."""

    def __init__(self, path: Path, *, filename: str, mime: str, purpose: str,
                 progress: Callable[[int, int], None] | None = None) -> None:
        self.path = path
        self.size = path.stat().st_size
        self.progress = progress
        boundary = "stepdesk-" + secrets.token_hex(16)
        self.content_type = f"multipart/form-data; boundary={boundary}"
        self._head = (
            f"--{boundary}\r\n"
            f'Content-Disposition: form-data; name="purpose"\r\n\r\n{purpose}\r\n'
            f"--{boundary}\r\n"
            f'Content-Disposition: form-data; name="file"; filename="{quote_filename(filename)}"'
            f"\r\nContent-Type: {mime}\r\n\r\n").encode()
        self._tail = f"\r\n--{boundary}--\r\n".encode()

    @property
    def content_length(self) -> int:
        return len(self._head) + self.size + len(self._tail)

    async def body(self) -> AsyncIterator[bytes]:
        """Yield the body, reading the file (opened afresh) in chunks off the event loop."""
        yield self._head
        sent = 0
        with self.path.open("rb") as fh:
            while sent < self.size:
                chunk = await asyncio.to_thread(fh.read, min(CHUNK_BYTES, self.size - sent))
                if not chunk:
                    raise OSError(f"{self.path.name} shrank while it was being uploaded")
                sent += len(chunk)
                yield chunk
                if self.progress is not None:
                    self.progress(sent, self.size)
        yield self._tail
