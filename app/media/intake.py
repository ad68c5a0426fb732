"""Intake: turn a dropped path (or pasted bytes) into exactly the bytes we will send.

One entry point for the GUI, the CLI and the chat engine. The source is read once: its first
bytes identify it (never its extension), then the same pass hashes and writes the bytes to
send into `work_dir` (the blob store's tmp dir, so adopting them is a rename). Everything
else (EXIF, HEIC, HEVC, 10-minute videos) is handled in `images.py` / `video.py`; every
refusal is a `MediaError` with one human sentence that names the file.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import stat
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

from app.fsmodes import private_dir
from app.media import images, video
from app.media.edit_steps import Box, EditRequest, EditSteps
from app.media.errors import (
    CorruptMedia,
    MediaError,
    MediaTooLarge,
    UnsupportedMedia,
    VideoTooLong,
    display_name,
)
from app.media.fitting import check_message_limits, fit_message
from app.media.hashing import unique_path, write_and_hash
from app.media.sniff import HEAD_BYTES, Sniffed, looks_like_text, sniff

__all__ = [
    "IntakeOptions",
    "MediaError",
    "PreparedEdit",
    "PreparedMedia",
    "VideoTooLong",
    "check_message_limits",
    "fit_message",
    "prepare",
    "prepare_sync",
]


@dataclass(frozen=True)
class PreparedMedia:
    """One attachment ready to send: `path` (inside work_dir) holds exactly the bytes to send."""

    kind: Literal["image", "video"]
    mime: str
    path: Path
    sha256: str
    size: int
    width: int | None
    height: int | None
    duration_s: float | None
    original_name: str
    changes: tuple[str, ...]  # human notes: "converted HEIC → JPEG", "removed location data"
    thumbnail: bytes | None  # PNG, long side ≤ limits.THUMBNAIL_SIDE
    ext: str  # "jpg" | "png" | "gif" | "webp" | "mp4"
    edit: PreparedEdit | None = None  # the user's marks and redactions, already flattened


@dataclass(frozen=True)
class PreparedEdit:
    """What an edited image keeps beside the flattened bytes it sends.

    `base_path` (a PNG in work_dir, hashed as `base_sha256`) is the image `steps` apply to,
    for "Edit again"; `redactions` are in pixels of the sent image, so anything that
    resamples it later (fitting the message's 20 MB) can fill them again.
    """

    steps: EditSteps
    base_path: Path
    base_sha256: str
    original_kept: bool
    redactions: tuple[Box, ...]
    hints: tuple[str, ...] = ()  # steps clipped to the image or ignored as empty


@dataclass(frozen=True)
class IntakeOptions:
    """`trim` (start, end) in seconds for a long video; `progress` gets 0.0–1.0 while converting.

    With `prepare()` the progress callback runs on the event loop; with `prepare_sync()` it
    runs on the calling thread (or the worker thread that calls it).
    """

    trim: tuple[float, float] | None = None
    progress: Callable[[float], None] | None = None
    edit: EditRequest | None = None  # marks and redactions to flatten into an image


def prepare_sync(
    source: Path | bytes,
    *,
    work_dir: Path,
    name: str | None = None,
    options: IntakeOptions = IntakeOptions(),
) -> PreparedMedia:
    """Prepare one file (a path) or pasted content (bytes) for sending; blocking.

    `name` is what to call the file in messages and history (default: the path's name).
    Raises MediaError (or a subclass) with one sentence naming the file.
    """
    return _prepare(source, work_dir, name, options, None)


async def prepare(
    source: Path | bytes,
    *,
    work_dir: Path,
    name: str | None = None,
    options: IntakeOptions = IntakeOptions(),
) -> PreparedMedia:
    """`prepare_sync` off the event loop; cancelling this coroutine stops a transcode.

    Work runs in a thread (Pillow and PyAV release the GIL); long transcodes run in a child
    process, which cancellation terminates. Progress is marshalled back onto the loop.
    """
    loop = asyncio.get_running_loop()
    cancel = threading.Event()
    if options.progress is not None:
        callback = options.progress
        options = IntakeOptions(
            trim=options.trim,
            progress=functools.partial(_call_on_loop, loop, callback),
            edit=options.edit,
        )
    worker = asyncio.ensure_future(
        asyncio.to_thread(_prepare, source, work_dir, name, options, cancel)
    )
    try:
        return await asyncio.shield(worker)
    except asyncio.CancelledError:
        cancel.set()  # the worker terminates its child and removes partial files
        try:
            finished = await worker
        except BaseException:  # MediaCancelled or any failure: nothing was left behind
            pass
        else:  # it completed before noticing: drop the result nobody will adopt
            discard(finished)
        raise


def discard(item: PreparedMedia) -> None:
    """Delete the work files of a prepared item nobody will send (removed, replaced)."""
    item.path.unlink(missing_ok=True)
    if item.edit is not None:
        item.edit.base_path.unlink(missing_ok=True)


def _prepare(
    source: Path | bytes,
    work_dir: Path,
    name: str | None,
    options: IntakeOptions,
    cancel: threading.Event | None,
) -> PreparedMedia:
    private_dir(work_dir)
    if isinstance(source, bytes | bytearray | memoryview):
        shown = display_name(name or "pasted media")
        data = bytes(source)
        if not data:
            raise CorruptMedia(f"“{shown}” is empty (0 bytes).")
        found = _identify(data[:HEAD_BYTES], shown)
        if found is None or found.kind == "image":
            return _image(data, shown, found, work_dir, options.edit)
        _refuse_edit(options, shown)
        spool = unique_path(work_dir, "paste", "bin")
        write_and_hash(data, spool)
        try:
            return _prepare(spool, work_dir, shown, options, cancel)
        finally:
            spool.unlink(missing_ok=True)
    path = Path(source)
    shown = display_name(name or os.fsdecode(path.name) or os.fsdecode(path))
    with _open(path, shown) as (stream, size):
        head = stream.read(HEAD_BYTES)
        if not head:
            raise CorruptMedia(f"“{shown}” is empty (0 bytes).")
        found = _identify(head, shown)
        if found is None or found.kind == "image":
            if size > images.MAX_IMAGE_FILE_BYTES:
                raise MediaTooLarge(
                    f"“{shown}” is {size / 1e6:.0f} MB, too large for an image Step Desk "
                    "can prepare."
                )
            rest = stream.read(images.MAX_IMAGE_FILE_BYTES + 1 - len(head))  # bytes read bound
            if len(head) + len(rest) > images.MAX_IMAGE_FILE_BYTES:
                raise MediaTooLarge(f"“{shown}” grew past "
                                    f"{images.MAX_IMAGE_FILE_BYTES / 1e6:.0f} MB while it was "
                                    "read; it is too large for an image Step Desk can prepare.")
            return _image(head + rest, shown, found, work_dir, options.edit)
        _refuse_edit(options, shown)
        result = video.prepare_video(
            path, stream, head, shown, work_dir,
            trim=options.trim, progress=options.progress, cancel=cancel,
        )
    return PreparedMedia(
        kind="video", mime="video/mp4", path=result.path, sha256=result.sha256,
        size=result.size, width=result.width, height=result.height,
        duration_s=result.duration_s, original_name=shown, changes=result.changes,
        thumbnail=result.thumbnail, ext="mp4",
    )


def _identify(head: bytes, shown: str) -> Sniffed | None:
    """Sniff the head; refuse known non-media at once. None means "let Pillow try"."""
    found = sniff(head)
    if found is None and looks_like_text(head):
        ext = os.path.splitext(shown)[1]
        what = f" despite its {ext} name" if ext else ""
        raise UnsupportedMedia(
            f"“{shown}” is a text file{what}, not an image or video Step Desk can send."
        )
    if found is not None and found.kind == "refused":
        raise UnsupportedMedia(
            f"“{shown}” is {found.label}; Step Desk can send only images and videos."
        )
    return found


def _refuse_edit(options: IntakeOptions, shown: str) -> None:
    if options.edit is not None and options.edit.steps:
        raise UnsupportedMedia(f"“{shown}” is a video; marks and redactions apply to images "
                               "only.")


def _image(data: bytes, shown: str, found: Sniffed | None, work_dir: Path,
           edit: EditRequest | None = None) -> PreparedMedia:
    """Prepare an image held in memory and write the bytes to send, hashing them."""
    if edit is not None:
        return _edited(data, shown, work_dir, edit)
    try:
        result = images.prepare_image(data, shown)
    except CorruptMedia as exc:
        if found is None:  # no magic and Pillow cannot read it either: not media at all
            raise UnsupportedMedia(
                f"“{shown}” is not an image or video Step Desk can read."
            ) from exc
        raise
    out = unique_path(work_dir, "img", result.ext)
    sha256, size = write_and_hash(data if result.data is None else result.data, out)
    return PreparedMedia(
        kind="image", mime=result.mime, path=out, sha256=sha256, size=size,
        width=result.width, height=result.height, duration_s=None, original_name=shown,
        changes=result.changes, thumbnail=result.thumbnail, ext=result.ext,
    )


def _edited(data: bytes, shown: str, work_dir: Path, edit: EditRequest) -> PreparedMedia:
    """Flatten the edits first, so the hash, the upload and every copy are of the edited image."""
    from app.media import annotate

    result = annotate.prepare_edited(data, shown, edit)
    out = unique_path(work_dir, "img", "png")
    sha256, size = write_and_hash(result.data, out)
    base = unique_path(work_dir, "base", "png")
    base_sha256, _ = write_and_hash(result.base, base)
    return PreparedMedia(
        kind="image", mime="image/png", path=out, sha256=sha256, size=size,
        width=result.width, height=result.height, duration_s=None, original_name=shown,
        changes=result.changes, thumbnail=result.thumbnail, ext="png",
        edit=PreparedEdit(result.base_steps, base, base_sha256, result.original_kept,
                          result.redactions, result.hints),
    )


@contextlib.contextmanager
def _open(path: Path, shown: str) -> Iterator[tuple[BinaryIO, int]]:
    """Open a regular file for reading, turning every OS failure into one clear sentence.

    The file is opened non-blocking and checked through its descriptor (`fstat`), so a FIFO
    or device swapped in after a check can neither hang the open nor be read forever.
    """
    try:
        info = os.stat(path)
    except FileNotFoundError:
        if os.path.islink(path):
            raise UnsupportedMedia(
                f"“{shown}” is a link to a file that no longer exists."
            ) from None
        raise UnsupportedMedia(f"“{shown}” does not exist.") from None
    except OSError as exc:
        raise UnsupportedMedia(f"“{shown}” cannot be read ({exc.strerror}).") from exc
    if stat.S_ISDIR(info.st_mode):
        raise UnsupportedMedia(f"“{shown}” is a folder; attach the files inside it instead.")
    if not stat.S_ISREG(info.st_mode):
        raise UnsupportedMedia(f"“{shown}” is not a regular file.")
    if info.st_size == 0:
        raise CorruptMedia(f"“{shown}” is empty (0 bytes).")
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
                     | getattr(os, "O_NOCTTY", 0))
    except PermissionError:
        raise UnsupportedMedia(
            f"Step Desk is not allowed to read “{shown}” (permission denied)."
        ) from None
    except OSError as exc:
        raise UnsupportedMedia(f"“{shown}” cannot be read ({exc.strerror}).") from exc
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):  # swapped for a FIFO or device after the check above
        os.close(fd)
        raise UnsupportedMedia(f"“{shown}” is not a regular file.")
    if hasattr(os, "set_blocking"):
        os.set_blocking(fd, True)
    stream: BinaryIO = open(fd, "rb", buffering=0)  # noqa: SIM115 - closed below
    with stream:
        yield stream, info.st_size


def _call_on_loop(loop: asyncio.AbstractEventLoop, callback: Callable[[float], None],
                  value: float) -> None:
    """Progress from the worker thread, delivered on the event loop."""
    loop.call_soon_threadsafe(callback, value)
