"""Streaming SHA-256: hash the bytes we send while writing them, in one pass.

The sha256 keys the blob store and the uploads cache, so it must be the hash of exactly the
bytes that leave the machine, and computing it must not cost a second read of a large file.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from app.fsmodes import create_private

CHUNK = 1 << 20  # 1 MiB: big enough for throughput, small enough for memory


class GrewWhileRead(Exception):
    """The source had more bytes than it had when it was opened (a file still being written)."""


class Capture:
    """Collects bytes [start, start + length) of a stream as `copy_and_hash` passes them."""

    def __init__(self, start: int, length: int) -> None:
        self.start = start
        self.length = length
        self.data = bytearray()

    def feed(self, offset: int, chunk: bytes) -> None:
        lo = max(self.start, offset)
        hi = min(self.start + self.length, offset + len(chunk))
        if lo < hi:
            self.data += chunk[lo - offset : hi - offset]


def copy_and_hash(
    src: BinaryIO,
    dst: Path,
    *,
    head: bytes = b"",
    progress: Callable[[int], None] | None = None,
    capture: Capture | None = None,
    limit: int | None = None,
) -> tuple[str, int]:
    """Copy `head` then the rest of `src` into the new file `dst`, hashing as we go.

    `head` is what the caller already read from `src` (to sniff or probe it), so no byte
    is read twice. `capture` keeps a byte range on the way (a video's thumbnail keyframe).
    Returns (sha256 hex, size). `progress` gets the bytes copied so far. With `limit`, more
    bytes than that raise GrewWhileRead (bounded by bytes read, not by the size reported).
    """
    digest = hashlib.sha256()
    size = 0
    try:
        with os.fdopen(create_private(dst), "wb") as out:
            chunk = head
            while chunk:
                digest.update(chunk)
                out.write(chunk)
                if capture is not None:
                    capture.feed(size, chunk)
                size += len(chunk)
                if limit is not None and size > limit:
                    raise GrewWhileRead(size)
                if progress is not None:
                    progress(size)
                chunk = src.read(CHUNK)
            out.flush()
            _check_written(out.fileno(), size)
    except BaseException:
        dst.unlink(missing_ok=True)  # never leave a partial file for the blob store to adopt
        raise
    return digest.hexdigest(), size


def write_and_hash(data: bytes, dst: Path) -> tuple[str, int]:
    """Write an in-memory encoding (a converted image) to `dst`; return (sha256 hex, size)."""
    try:
        with os.fdopen(create_private(dst), "wb") as out:
            out.write(data)
            out.flush()
            _check_written(out.fileno(), len(data))
    except BaseException:
        dst.unlink(missing_ok=True)
        raise
    return hashlib.sha256(data).hexdigest(), len(data)


def _check_written(fd: int, expected: int) -> None:
    """Flushed size == bytes given: a file-size limit can cut a buffered write silently."""
    if os.fstat(fd).st_size != expected:
        raise OSError(27, "File too large (the copy was cut short)")


def hash_file(path: Path) -> tuple[str, int]:
    """Hash a file we produced ourselves (a remux/transcode output) in chunks."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb", buffering=0) as src:
        while chunk := src.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def unique_path(work_dir: Path, stem: str, ext: str) -> Path:
    """A fresh file name inside `work_dir` (intake may run for several files at once)."""
    return work_dir / f"{stem}-{os.getpid()}-{os.urandom(6).hex()}.{ext}"
