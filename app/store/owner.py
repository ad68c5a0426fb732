"""Which process owns a streaming reply: one OS file lock per live process.

Each Store holds an exclusive lock on `owner_dir/<uuid>.lock` for its lifetime and writes
that uuid into `messages.owner` while a reply streams. When the process dies — however it
dies — the OS drops the lock, so "can I take this lock?" answers "is the owner gone?" without
trusting pids (which are reused) or clocks. `flock` (POSIX) and `msvcrt.locking` (Windows)
locks belong to an open file, so two Stores in one process also exclude each other.
"""

from __future__ import annotations

import contextlib
import os
import sys
import uuid
from pathlib import Path
from typing import IO

from app.fsmodes import create_private, private_dir

if sys.platform == "win32":
    import msvcrt

    def _try_lock(f: IO[bytes]) -> bool:
        f.seek(0)
        try:
            msvcrt.locking(f.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock(f: IO[bytes]) -> None:
        f.seek(0)
        msvcrt.locking(f.fileno(), msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _try_lock(f: IO[bytes]) -> bool:
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _unlock(f: IO[bytes]) -> None:
        fcntl.flock(f.fileno(), fcntl.LOCK_UN)


class OwnerLock:
    """This process's lock file; `uuid` goes into `messages.owner` of streaming rows."""

    def __init__(self, owner_dir: Path) -> None:
        private_dir(owner_dir)
        self.uuid = uuid.uuid4().hex
        self.path = owner_dir / f"{self.uuid}.lock"
        # POSIX: lock under a temporary name, then rename, so a sweeping process can never
        # see (and delete) our lock file in the instant before it is locked.
        staging = owner_dir / f"{self.uuid}.lock.tmp" if sys.platform != "win32" else self.path
        self._file: IO[bytes] | None = os.fdopen(create_private(staging), "ab")
        if not _try_lock(self._file):
            self._file.close()
            raise OSError(f"could not lock {staging}")
        if staging != self.path:
            os.replace(staging, self.path)

    def release(self) -> None:
        """Unlock and remove the lock file (idempotent)."""
        if self._file is None:
            return
        f, self._file = self._file, None
        # POSIX: unlink while still locked, so nobody sees an unlocked file. Windows refuses
        # to delete an open file, so there the unlink after closing does the work.
        with contextlib.suppress(OSError):
            self.path.unlink()
        _unlock(f)
        f.close()
        with contextlib.suppress(OSError):
            self.path.unlink(missing_ok=True)


class ReadOnlyOwner:
    """The owner of a Store opened read-only: it streams nothing, so it locks nothing."""

    def __init__(self) -> None:
        self.uuid = uuid.uuid4().hex

    def release(self) -> None:
        """Nothing to release."""


def owner_is_gone(owner_dir: Path, owner: str | None) -> bool:
    """True when the process that wrote `owner` no longer holds its lock.

    A gone owner's lock file is removed on the way. A missing or malformed owner counts as
    gone: nothing alive can be holding it.
    """
    if not owner:
        return True
    try:
        name = uuid.UUID(hex=owner).hex
    except ValueError:
        return True
    return _take_and_remove(owner_dir / f"{name}.lock")


def sweep_stale_locks(owner_dir: Path, keep: str) -> int:
    """Delete lock files left by dead processes (everything lockable but ours)."""
    removed = 0
    for path in owner_dir.glob("*.lock"):
        if path.stem != keep and _take_and_remove(path):
            removed += 1
    return removed


def _take_and_remove(path: Path) -> bool:
    try:
        f = path.open("r+b")
    except FileNotFoundError:
        return True
    except OSError:
        return False  # unreadable: assume someone is alive rather than hijack a reply
    try:
        if not _try_lock(f):
            return False
        with contextlib.suppress(OSError):
            path.unlink()  # POSIX; on Windows this fails while open and is retried below
        _unlock(f)
    finally:
        f.close()
    with contextlib.suppress(OSError):
        path.unlink(missing_ok=True)
    return True
