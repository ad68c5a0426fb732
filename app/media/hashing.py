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

CHUNK = 1 << 20  # 1 MiB: big enough for throughput, small enough for memory


def copy_and_hash(
    src: BinaryIO,
    dst: Path,
    *,
    head: bytes = b"",
    progress: Callable[[int], None] | None = None,
) -> tuple[str, int]:
    """Copy `head` then the rest of `src` into the new file `dst`, hashing as we go.

    `head` is what the caller already read from `src` (to sniff it), so no byte is read
    twice. Returns (sha256 hex, size). `progress` gets the bytes copied so far.
    """
    digest = hashlib.sha256()
    size = 0
    with open(dst, "xb") as out:
        chunk = head
        while chunk:
            digest.update(chunk)
            out.write(chunk)
            size += len(chunk)
            if progress is not None:
                progress(size)
            chunk = src.read(CHUNK)
    return digest.hexdigest(), size


def write_and_hash(data: bytes, dst: Path) -> tuple[str, int]:
    """Write an in-memory encoding (a converted image) to `dst`; return (sha256 hex, size)."""
    with open(dst, "xb") as out:
        out.write(data)
    return hashlib.sha256(data).hexdigest(), len(data)


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
