"""Reading a path the user gave, bounded by the bytes actually read.

The size the OS reports is not a bound: `/dev/zero` and FIFOs report 0 and never end, `/proc`
files report 0 and have content, a log file grows while it is read. So a user path is opened
non-blocking (a FIFO with no writer must not hang the open), refused up front unless it is a
regular file, and read until `limit + 1` bytes at most. Every refusal is one sentence.

Leaf module: imports nothing from the app.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

CHUNK = 1 << 20


class ReadRefused(Exception):
    """The path cannot be read as asked; the message says why (and names the path)."""


def open_regular(path: Path, what: str = "file") -> int:
    """Open `path` read-only without blocking; refuse anything but a regular file."""
    shown = os.fsdecode(path).encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0) | \
        getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise ReadRefused(f"Cannot read {shown}: there is no such file.") from None
    except IsADirectoryError:
        raise ReadRefused(f"Cannot read {shown}: it is a folder, not a {what}.") from None
    except PermissionError:
        raise ReadRefused(f"Cannot read {shown}: permission denied.") from None
    except OSError as exc:
        raise ReadRefused(f"Cannot read {shown}: {exc.strerror or exc}.") from None
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise ReadRefused(f"Cannot read {shown}: it is a folder, not a {what}.")
        if not stat.S_ISREG(mode):
            kind = "a pipe" if stat.S_ISFIFO(mode) else \
                "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else \
                "a socket" if stat.S_ISSOCK(mode) else "not a regular file"
            raise ReadRefused(f"Cannot read {shown}: it is {kind}, not a {what}.")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_bounded(path: Path, limit: int, *, what: str = "file") -> bytes:
    """The whole content of the regular file `path`, refused when over `limit` bytes."""
    shown = os.fsdecode(path).encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    fd = open_regular(path, what)
    parts: list[bytes] = []
    total = 0
    try:
        while total <= limit:
            chunk = os.read(fd, min(CHUNK, limit + 1 - total))
            if not chunk:
                break
            parts.append(chunk)
            total += len(chunk)
    except OSError as exc:
        raise ReadRefused(f"Cannot read {shown}: {exc.strerror or exc}.") from None
    finally:
        os.close(fd)
    if total > limit:
        raise ReadRefused(f"{shown} is larger than {limit / 1_000_000:g} MB; it is not a "
                          f"{what}.")
    return b"".join(parts)
