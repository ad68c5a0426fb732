"""Private files and folders: everything Step Desk writes is readable by its owner only.

The history holds a person's screenshots and every conversation about them, so on POSIX every
folder we create is 0700 and every file 0600, *created* that way (`os.open` with a mode, never
"create, then chmod", so no instant exists where another account could open it), and
`tighten_tree` fixes what an earlier version left wider at start-up. Files written by
libraries that take a path (SQLite's `-wal`/`-shm`, PyAV's muxer) are pre-created here with
0600: SQLite gives its companions the database file's mode, and a muxer truncating an existing
file keeps its mode. `private_umask` is the belt to those braces for the life of a command.

Leaf module: imports nothing from the app, so the store, media and CLI layers can all use it.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
_POSIX = sys.platform != "win32"
_WIDER_THAN_OWNER = stat.S_IRWXG | stat.S_IRWXO


def private_dir(path: Path) -> Path:
    """Create `path` (and missing parents) as 0700; an existing folder is tightened.

    Only folders created here and `path` itself change mode, never an existing parent."""
    missing = []
    folder = path
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):  # another process made it meanwhile
            folder.mkdir(mode=PRIVATE_DIR)
        if _POSIX:
            _tighten(folder, PRIVATE_DIR)  # mkdir's mode is masked by the umask
    if not path.is_dir():
        path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)  # raises the right error
    if _POSIX:
        _tighten(path, PRIVATE_DIR)
    return path


def create_private(path: Path, *, exclusive: bool = True) -> int:
    """Open a new file for writing with mode 0600 from the first instant; returns the fd.

    `exclusive=False` truncates an existing file (and tightens its mode first).
    """
    flags = os.O_WRONLY | os.O_CREAT | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
    flags |= os.O_EXCL if exclusive else os.O_TRUNC
    fd = os.open(path, flags, PRIVATE_FILE)
    if _POSIX and not exclusive:
        os.fchmod(fd, PRIVATE_FILE)
    return fd


def touch_private(path: Path) -> Path:
    """Make sure `path` exists as a 0600 file (before a library creates or opens it)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), PRIVATE_FILE)
    except FileExistsError:  # pragma: no cover - O_CREAT without O_EXCL never raises this
        return path
    try:
        if _POSIX:
            os.fchmod(fd, PRIVATE_FILE)
    finally:
        os.close(fd)
    return path


def write_private_atomic(path: Path, data: bytes, *, overwrite: bool) -> None:
    """Write `data` to a 0600 temp file beside `path`, then rename it into place.

    A failure (full disk, killed process) leaves the target untouched and no half file.
    Without `overwrite`, an existing target raises FileExistsError before anything is written.
    """
    if not overwrite and os.path.lexists(path):
        raise FileExistsError(17, "File exists", str(path))
    if path.is_dir():
        raise IsADirectoryError(21, "Is a directory", str(path))
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        if overwrite:
            os.replace(tmp_name, path)
        else:  # link() refuses an existing target: no race with a file created meanwhile
            try:
                os.link(tmp_name, path)
            except (AttributeError, NotImplementedError, PermissionError):
                os.replace(tmp_name, path)  # filesystems without hard links
            else:
                os.unlink(tmp_name)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise


def write_output(path: Path, data: bytes, *, overwrite: bool) -> None:
    """Write a file the user named (an export): atomically and private for a file, directly
    into a device or FIFO (`/dev/stdout`, a pipe), which is never replaced by a file."""
    if is_device(path):
        with open(path, "wb") as out:
            out.write(data)
        return
    write_private_atomic(path, data, overwrite=overwrite)


def is_device(path: Path) -> bool:
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)


@contextlib.contextmanager
def private_umask() -> Iterator[None]:
    """Run a command with umask 077, restoring the caller's afterwards."""
    if not _POSIX:
        yield
        return
    old = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(old)


def tighten_tree(roots: Iterable[Path]) -> int:
    """Make every folder under `roots` 0700 and every file 0600; returns how many changed.

    Symbolic links are never followed (a link in the data folder must not let us chmod
    someone else's file). Missing roots are skipped. Runs in a worker thread at start-up.
    """
    if not _POSIX:
        return 0
    changed = 0
    pending = [root for root in roots if root.is_dir() and not root.is_symlink()]
    seen: set[Path] = set()
    while pending:
        folder = pending.pop()
        if folder in seen:
            continue
        seen.add(folder)
        changed += _tighten(folder, PRIVATE_DIR)
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.is_symlink():
                    continue
                if entry.is_dir(follow_symlinks=False):
                    pending.append(Path(entry.path))
                elif entry.is_file(follow_symlinks=False):
                    changed += _tighten(Path(entry.path), PRIVATE_FILE,
                                        entry.stat(follow_symlinks=False).st_mode)
            except OSError:
                continue
    return changed


def _tighten(path: Path, mode: int, current: int | None = None) -> int:
    try:
        current = os.lstat(path).st_mode if current is None else current
        if not stat.S_ISLNK(current) and stat.S_IMODE(current) & _WIDER_THAN_OWNER:
            os.chmod(path, mode)
            return 1
    except OSError:
        pass  # read-only data folder, or not ours: reading must still work
    return 0
