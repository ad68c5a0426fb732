"""Content-addressed files for attachments: `root/ab/abcdef….ext`, thumbnails in root/thumbs.

Intake writes the exact bytes to send into `tmp_dir` (same filesystem as `root`), hashing as
it writes; `adopt` then renames the file into place, so a video is never read twice. Identical
content is stored once: adopting bytes we already have just deletes the temporary file.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

from app.fsmodes import create_private, private_dir

_SHA_RE = re.compile(r"[0-9a-f]{64}")
_EXT_RE = re.compile(r"[a-z0-9]{1,8}")
_CHUNK = 1 << 20
_TEMP_PID_RE = re.compile(r"[a-z]+-(\d+)-")


class BlobStore:
    """Sync and Qt-free; call from a worker thread for large files."""

    def __init__(self, root: Path, *, create: bool = True) -> None:
        self.root = root
        self.tmp_dir = root / "tmp"
        self.thumbs_dir = root / "thumbs"
        if create:
            private_dir(self.tmp_dir)

    def path(self, sha256: str, ext: str) -> Path:
        _check(sha256, ext)
        return self.root / sha256[:2] / f"{sha256}.{ext}"

    def exists(self, sha256: str, ext: str) -> bool:
        return self.path(sha256, ext).is_file()

    def find(self, sha256: str) -> Path | None:
        """The stored file for `sha256` whatever its extension (exports need only the hash)."""
        _check(sha256, "x")
        folder = self.root / sha256[:2]
        return next(iter(sorted(folder.glob(f"{sha256}.*"))), None) if folder.is_dir() else None

    def adopt(self, tmp_path: Path, sha256: str, ext: str) -> Path:
        """Move a finished temp file into place (a rename, no re-read); dedupe by content."""
        target = self.path(sha256, ext)
        if target.exists():
            tmp_path.unlink(missing_ok=True)
            return target
        private_dir(target.parent)
        os.replace(tmp_path, target)
        return target

    def put_file(self, src: Path) -> tuple[str, Path]:
        """Copy `src` in, hashing while copying (one read); for callers without intake."""
        ext = src.suffix.lower().lstrip(".") or "bin"
        if not _EXT_RE.fullmatch(ext):
            ext = "bin"
        digest = hashlib.sha256()
        fd, tmp_name = tempfile.mkstemp(dir=self.tmp_dir, prefix=f"put-{os.getpid()}-",
                                        suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out, src.open("rb") as f:
                while chunk := f.read(_CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
            sha = digest.hexdigest()
            return sha, self.adopt(Path(tmp_name), sha, ext)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise

    def put_thumbnail(self, sha256: str, data: bytes) -> Path:
        target = self._thumb(sha256)
        private_dir(target.parent)
        fd, tmp_name = tempfile.mkstemp(dir=self.tmp_dir, prefix=f"thumb-{os.getpid()}-",
                                        suffix=".png")
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp_name, target)
        return target

    def thumbnail_path(self, sha256: str) -> Path | None:
        target = self._thumb(sha256)
        return target if target.is_file() else None

    def collect(self, referenced: set[str]) -> int:
        """Delete blobs (and thumbnails) whose sha256 is not in `referenced`; returns count.

        Run it when no intake is between `adopt` and inserting its message (e.g. at start-up),
        or include in-flight hashes in `referenced`.
        """
        removed = 0
        for folder in self.root.iterdir():
            if not (folder.is_dir() and re.fullmatch(r"[0-9a-f]{2}", folder.name)):
                continue
            for blob in folder.iterdir():
                if blob.stem not in referenced:
                    blob.unlink(missing_ok=True)
                    removed += 1
            with contextlib.suppress(OSError):
                folder.rmdir()  # only succeeds when empty
        if self.thumbs_dir.is_dir():
            for thumb in self.thumbs_dir.glob("*/*.png"):
                if thumb.stem not in referenced:
                    thumb.unlink(missing_ok=True)
        return removed

    def collect_stale_temp(self) -> int:
        """Delete temp copies left by processes that are gone (killed mid-intake).

        Every temp name carries its writer's pid (`img-<pid>-….jpg`); files of live processes
        (a window preparing media while the CLI starts) are kept. Returns how many went.
        """
        removed = 0
        try:
            entries = list(os.scandir(self.tmp_dir))
        except OSError:
            return 0
        for entry in entries:
            match = _TEMP_PID_RE.match(entry.name)
            pid = int(match.group(1)) if match else None
            if pid is not None and (pid == os.getpid() or _alive(pid)):
                continue
            with contextlib.suppress(OSError):
                if entry.is_file(follow_symlinks=False):
                    os.unlink(entry.path)
                    removed += 1
        return removed

    def copy_out(self, sha256: str, dest: Path) -> Path | None:
        """Copy a blob to `dest` (exports); None when we no longer have it."""
        src = self.find(sha256)
        if src is None:
            return None
        private_dir(dest.parent)
        with src.open("rb") as f, os.fdopen(create_private(dest, exclusive=False), "wb") as out:
            shutil.copyfileobj(f, out, _CHUNK)
        return dest

    def _thumb(self, sha256: str) -> Path:
        _check(sha256, "png")
        return self.thumbs_dir / sha256[:2] / f"{sha256}.png"


def _alive(pid: int) -> bool:
    if sys.platform == "win32":  # os.kill would terminate it there: keep the files
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # someone else's process, or no way to tell: keep its files
    return True


def _check(sha256: str, ext: str) -> None:
    """Names come from the database: refuse anything that is not a plain hash and extension."""
    if not _SHA_RE.fullmatch(sha256):
        raise ValueError(f"not a sha256 hex digest: {sha256!r}")
    if not _EXT_RE.fullmatch(ext):
        raise ValueError(f"not a plain file extension: {ext!r}")
