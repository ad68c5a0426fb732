"""The attachments of the message being written: prepared off the UI thread, sent, uploaded.

The controller owns the items (keyed by a small int) and reports each change as a signal; the
attachment tray is a view of those signals. Items added before the store is open (files from
the command line, a second `stepdesk FILE`) wait until `set_context` gives the work dir.
Whatever changes an attachment before it is sent (an image editor) goes through `replace`,
which runs the new bytes through the same intake as a drop.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Sequence
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from PySide6.QtCore import QObject, Signal

from app.ui.widgets.attachment_tray import format_bytes

if TYPE_CHECKING:
    import asyncio

    from app.media.edit_steps import EditRequest, EditSteps
    from app.media.intake import PreparedMedia
    from app.ui.controllers.tasks import TaskSet
    from app.ui.widgets.drop_overlay import MimeMedia

DOWNLOAD_TIMEOUT_S = 30.0

Job = Callable[[int], Coroutine[Any, Any, None]]


def _no_proxy(_url: str) -> str | None:
    return None


class AttachmentController(QObject):
    """Prepares what the user attaches and keeps its state truthful.

    Signals:
        added(int, str): key, name — a new item, preparing.
        item_ready(int, object, object, str): key, thumbnail bytes or None, the pipeline's
            changes (tuple of str), a summary ("image, 600×400").
        item_failed(int, str): key, the reason in one sentence.
        item_sending(int): key — handed to a send, waiting to upload.
        item_progress(int, int, int): key, bytes uploaded, total.
        removed(int): key.
        status(str): upload progress over every item, for the status bar ("" when done).
        changed(): anything above happened (templates re-check their media hint).
        edit_opened(int, object, str, bool): key, `OpenedImage`, name, keep-original default —
            `edit(key)` has the image ready for the image editor.
        edit_failed(str): the image could not be opened for editing (one sentence).
    """

    added = Signal(int, str)
    item_ready = Signal(int, object, object, str)
    item_failed = Signal(int, str)
    item_sending = Signal(int)
    item_progress = Signal(int, int, int)
    removed = Signal(int)
    status = Signal(str)
    changed = Signal()
    edit_opened = Signal(int, object, str, bool)
    edit_failed = Signal(str)

    def __init__(self, tasks: TaskSet, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._tasks = tasks
        self._next = 1
        self._names: dict[int, str] = {}
        self._failed: set[int] = set()
        self._ready: dict[int, PreparedMedia] = {}
        self._jobs: dict[int, asyncio.Task[None]] = {}
        self._sending: dict[str, int] = {}  # sha256 -> key, while a send uploads them
        self._progress: dict[int, tuple[int, int]] = {}  # key -> (sent, total)
        self._work_dir: Path | None = None
        self._proxy_for: Callable[[str], str | None] = _no_proxy
        # Set by `set_context`; made on first use, as this controller exists before the
        # window's first paint and asyncio is imported after it (ui/first_paint.py).
        self._context: asyncio.Event | None = None
        self._pasted = 0
        self._sources: dict[int, Path | bytes] = {}  # what each item was prepared from
        self._edits: dict[int, EditRequest] = {}  # the edits applied to it, if any
        self._edit_when_ready: set[int] = set()
        self._editing: set[int] = set()  # open in the image editor (or opening)

    def set_context(self, work_dir: Path, proxy_for: Callable[[str], str | None]) -> None:
        self._work_dir = work_dir
        self._proxy_for = proxy_for
        self._context_set().set()

    def _context_set(self) -> asyncio.Event:
        """Set once the work dir is known; preparing waits for it."""
        if self._context is None:
            import asyncio

            self._context = asyncio.Event()
        return self._context

    # --- adding --------------------------------------------------------------------------
    def add_mime(self, media: MimeMedia) -> None:
        self.add_paths(media.paths)
        for data in media.images:
            self.add_bytes(data, self._pasted_name())
        self.add_urls(media.urls)

    def add_paths(self, paths: Sequence[Path]) -> None:
        for path in paths:
            self._add(path.name or str(path), partial(self._run_intake, Path(path), None))

    def add_bytes(self, data: bytes, name: str, *, then_edit: bool = False) -> None:
        """Attach pasted or captured bytes; `then_edit` opens the image editor once ready
        (the "mark up after capture" option)."""
        key = self._add(name, partial(self._run_intake, data, name))
        if then_edit:
            self._edit_when_ready.add(key)

    def add_urls(self, urls: Sequence[str]) -> None:
        for url in urls:
            name = unquote(Path(urlsplit(url).path).name) or urlsplit(url).hostname or url
            self._add(name, partial(self._download_then_prepare, url, name))

    def replace(self, key: int, data: bytes) -> None:
        """New bytes for an attachment not sent yet (an edited image): prepared again, same
        name, same place in the tray."""
        name = self._names.get(key)
        if name is None or key in self._sending.values():
            return
        self._discard(key)
        self._failed.discard(key)
        self.added.emit(key, name)
        self._jobs[key] = self._tasks.spawn(self._run_intake(data, name, key), f"attach-{key}")
        self.changed.emit()

    def media(self, key: int) -> PreparedMedia | None:
        """A ready item (what an editor would open)."""
        return self._ready.get(key)

    def screenshot_name(self) -> str:
        return f"Screenshot {datetime.now():%Y-%m-%d %H.%M.%S}.png"

    def _pasted_name(self) -> str:
        self._pasted += 1
        return f"Pasted image {self._pasted}.png"

    def _add(self, name: str, job: Job) -> int:
        key = self._next
        self._next += 1
        self._names[key] = name
        self.added.emit(key, name)
        self._jobs[key] = self._tasks.spawn(job(key), name=f"attach-{key}")
        self.changed.emit()
        return key

    # --- the image editor ----------------------------------------------------------------
    def edit(self, key: int) -> None:
        """Open a ready image for editing: decoded in a worker, then `edit_opened`.

        The editor opens on the source the user attached (full resolution, upright) with
        the edits made so far; `apply_edit` sends its answer back here.
        """
        item, source = self._ready.get(key), self._sources.get(key)
        if item is None or item.kind != "image" or source is None or key in self._editing:
            return  # one editor per image: two would each send their own answer back
        self._editing.add(key)
        self._tasks.spawn(self._open_editor(key, source, self._names.get(key, "image")),
                          f"edit-{key}")

    async def _open_editor(self, key: int, source: Path | bytes, name: str) -> None:
        import asyncio

        from app.media.edit_steps import NO_EDITS
        from app.media.errors import MediaError

        request = self._edits.get(key)
        try:
            session = await asyncio.to_thread(_open_session, source, name,
                                              request.steps if request else NO_EDITS)
        except (MediaError, OSError) as exc:
            self._editing.discard(key)
            self.edit_failed.emit(f"{name} cannot be opened for editing: "
                                  f"{getattr(exc, 'strerror', None) or exc}")
            return
        if key in self._ready:
            self.edit_opened.emit(key, session, name,
                                  request.keep_original if request else False)
        else:
            self._editing.discard(key)

    def edit_closed(self, key: int) -> None:
        """The editor was closed without using its edits: the item may be sent as it is."""
        self._editing.discard(key)

    def apply_edit(self, key: int, steps: EditSteps, keep_original: bool) -> None:
        """The editor's answer: prepare the item again from its source with these edits
        (none: back to the image as attached). Same name, same place in the tray."""
        from app.media.edit_steps import EditRequest

        self._editing.discard(key)
        source, name = self._sources.get(key), self._names.get(key)
        if source is None or name is None or key in self._sending.values():
            return
        request = EditRequest(steps, keep_original) if steps else None
        if request is None:
            self._edits.pop(key, None)
        else:
            self._edits[key] = request
        self._discard(key)
        self._failed.discard(key)
        self.added.emit(key, name)
        self._jobs[key] = self._tasks.spawn(self._run_intake(source, name, key),
                                            f"attach-{key}")
        self.changed.emit()

    # --- the work ------------------------------------------------------------------------
    async def _download_then_prepare(self, url: str, name: str, key: int) -> None:
        from app.media.intake import MediaError

        try:
            data = await self._download(url, name)
        except MediaError as exc:
            self._jobs.pop(key, None)
            self._fail(key, str(exc))
            return
        await self._run_intake(data, name, key)

    async def _run_intake(self, source: Path | bytes, name: str | None, key: int) -> None:
        from app.media.intake import IntakeOptions, MediaError, discard, prepare

        self._sources[key] = source
        try:
            await self._context_set().wait()
            assert self._work_dir is not None
            item = await prepare(source, work_dir=self._work_dir, name=name,
                                 options=IntakeOptions(edit=self._edits.get(key)))
        except MediaError as exc:
            self._fail(key, str(exc))
            return
        except OSError as exc:
            what = name or (str(source) if isinstance(source, Path) else "The image")
            self._fail(key, f"{what} could not be read: {exc.strerror or exc}.")
            return
        finally:
            self._jobs.pop(key, None)
        if key not in self._names:  # removed while preparing
            discard(item)
            return
        twin = next((other for other in self._ready.values() if other.sha256 == item.sha256),
                    None)
        if twin is not None:  # the same bytes twice are one attachment, sent once
            if item.path != twin.path:
                discard(item)
            self._fail(key, f"Already attached: this is the same file as "
                            f"“{twin.original_name}”.")
            return
        self._ready[key] = item
        dims = f"{item.width}×{item.height}" if item.width and item.height else ""
        what = f"{item.kind}, {dims}" if dims else item.kind
        if item.duration_s:
            what += f", {item.duration_s:.0f} s"
        self.item_ready.emit(key, item.thumbnail, item.changes, what)
        self.changed.emit()
        if key in self._edit_when_ready:
            self._edit_when_ready.discard(key)
            self.edit(key)

    async def _download(self, url: str, name: str) -> bytes:
        """Fetch a dropped http(s) image URL without blocking the UI (async httpx)."""
        import httpx

        from app import limits
        from app.media.intake import MediaError

        try:
            async with httpx.AsyncClient(
                    trust_env=False, follow_redirects=True, proxy=self._proxy_for(url),
                    timeout=httpx.Timeout(DOWNLOAD_TIMEOUT_S)) as client, \
                    client.stream("GET", url) as response:
                if response.status_code != 200:
                    raise MediaError(f"{name} could not be downloaded "
                                     f"(the server answered {response.status_code}).")
                kind = response.headers.get("content-type", "").split(";")[0].strip()
                if kind and not kind.startswith(("image/", "video/")):
                    raise MediaError(f"{name} is not an image or a video ({kind}).")
                chunks: list[bytes] = []
                total = 0
                async for chunk in response.aiter_bytes():
                    total += len(chunk)
                    if total > limits.MAX_UPLOAD_BYTES:
                        raise MediaError(f"{name} is larger than "
                                         f"{limits.MAX_UPLOAD_BYTES // limits.MB} MB.")
                    chunks.append(chunk)
        except httpx.HTTPError as exc:
            raise MediaError(f"{name} could not be downloaded: {type(exc).__name__}.") from exc
        return b"".join(chunks)

    def _fail(self, key: int, reason: str) -> None:
        if key in self._names:
            self._failed.add(key)
            self.item_failed.emit(key, reason)
        self.changed.emit()

    # --- state for sending ---------------------------------------------------------------
    def preparing(self) -> bool:
        return bool(self._jobs)

    async def wait_prepared(self) -> None:
        """Return once nothing is being prepared any more (a template sends right after)."""
        import asyncio

        while self._jobs:
            await asyncio.wait(list(self._jobs.values()))

    def ready(self) -> list[PreparedMedia]:
        return [self._ready[k] for k in sorted(self._ready)]

    def limit_problem(self) -> str | None:
        """What stops these items from being sent: one still open in the image editor (what
        it shows is not what would be sent), or too many images for one message. (Too many
        megabytes is fixed by the chat engine, which recompresses the largest images.)"""
        from app import limits

        editing = [self._names[k] for k in sorted(self._editing) if k in self._names]
        if editing:
            return (f"“{editing[0]}” is still open in the image editor: use or discard its "
                    "edits first, so nothing is sent that you meant to change or black out.")

        count = sum(1 for item in self.ready() if item.kind == "image")
        if count > limits.MAX_IMAGES_PER_REQUEST:
            return (f"This message has {count} images; at most "
                    f"{limits.MAX_IMAGES_PER_REQUEST} images can be sent in one message.")
        return None

    def take_for_send(self) -> list[PreparedMedia]:
        """Hand the ready items to a send; they stay visible (with upload progress) until
        `sent()`; failed items stay too, with their reason, until the user removes them."""
        media = self.ready()
        for key, item in self._ready.items():
            self._sending[item.sha256] = key
            self.item_sending.emit(key)
        self._ready.clear()
        return media

    def upload_progress(self, sha256: str, _name: str, sent: int, total: int) -> None:
        """An `UploadProgress` of the running send (sha256 names the attachment)."""
        key = self._sending.get(sha256)
        if key is None:
            return
        self._progress[key] = (sent, total)
        self.status.emit(self._status_text())
        self.item_progress.emit(key, sent, total)

    def _status_text(self) -> str:
        busy = {k: p for k, p in self._progress.items() if p[0] < p[1]}
        if not busy:
            return ""
        sent = sum(s for s, _t in busy.values())
        total = sum(t for _s, t in busy.values())
        names = ", ".join(self._names.get(k, "?") for k in busy)
        return (f"Uploading {names}: {100 * sent // max(total, 1)}% "
                f"({format_bytes(sent)} of {format_bytes(total)})")

    def sent(self) -> None:
        """The turn has begun streaming (or ended): the sent items leave the tray."""
        if not self._sending and not self._progress:
            return
        for key in self._sending.values():
            self._names.pop(key, None)
            self._forget(key)
            self.removed.emit(key)
        self._sending.clear()
        self._progress.clear()
        self.status.emit("")
        self.changed.emit()

    def remove(self, key: int) -> None:
        self._discard(key)
        self._forget(key)
        self._names.pop(key, None)
        self._failed.discard(key)
        self.removed.emit(key)
        self.changed.emit()

    def _discard(self, key: int) -> None:
        job = self._jobs.pop(key, None)
        if job is not None:
            job.cancel()
        item = self._ready.pop(key, None)
        if item is not None:
            from app.media.intake import discard

            discard(item)

    def _forget(self, key: int) -> None:
        self._sources.pop(key, None)
        self._edits.pop(key, None)
        self._edit_when_ready.discard(key)
        self._editing.discard(key)


def _open_session(source: Path | bytes, name: str, steps: EditSteps) -> object:
    """In a worker thread: read the source and decode it for the editor."""
    from app.ui.widgets.edit_canvas import open_for_editing

    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    return open_for_editing(data, name, steps)
