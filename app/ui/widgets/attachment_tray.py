"""The row of attachments above the composer: thumbnail, what the pipeline changed, ×.

Every item that enters the tray stays visible until the user removes it or it is sent:
a refused file shows its reason inline in red, never a silent drop. The tray is a view;
`AttachmentController` decides what goes in it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from PySide6.QtCore import QObject, QSize, Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QScrollArea,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

if TYPE_CHECKING:
    from app.media.intake import PreparedMedia
    from app.ui.controllers.turns import TaskSet
    from app.ui.widgets.drop_overlay import MimeMedia

THUMB = 64
DOWNLOAD_TIMEOUT_S = 30.0
ERROR_COLOR = "#d32f2f"


class TrayItem(QFrame):
    """One attachment. States: preparing → ready (→ uploading) | failed.

    Signals:
        remove_clicked(int): the × of this item was pressed (the item's key).
    """

    remove_clicked = Signal(int)

    def __init__(self, key: int, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.key = key
        self.name = name
        self.state = "preparing"
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setFixedWidth(180)
        self.thumb = QLabel()
        self.thumb.setFixedSize(THUMB, THUMB)
        self.thumb.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.thumb.setText("…")
        self.title = QLabel()
        self.title.setToolTip(name)
        self.title.setText(self.title.fontMetrics().elidedText(
            name, Qt.TextElideMode.ElideMiddle, 96))
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        self.caption = QLabel("Preparing…")
        self.caption.setWordWrap(True)
        self.caption.setTextFormat(Qt.TextFormat.PlainText)
        small = self.caption.font()
        small.setPointSizeF(small.pointSizeF() * 0.85)
        self.caption.setFont(small)
        self.progress = QProgressBar()
        self.progress.setMaximumHeight(6)
        self.progress.setTextVisible(False)
        self.progress.hide()
        close = QToolButton()
        close.setText("×")
        close.setAutoRaise(True)
        close.setAccessibleName(f"Remove {name}")
        close.setToolTip(f"Remove {name}")
        close.clicked.connect(lambda: self.remove_clicked.emit(self.key))
        self.close_button = close

        text = QVBoxLayout()
        text.setSpacing(1)
        text.addWidget(self.title)
        text.addWidget(self.caption, 1)
        text.addWidget(self.progress)
        row = QHBoxLayout(self)
        row.setContentsMargins(4, 4, 2, 4)
        row.addWidget(self.thumb)
        row.addLayout(text, 1)
        row.addWidget(close, 0, Qt.AlignmentFlag.AlignTop)
        self.setAccessibleName(f"Attachment {name}")

    def set_ready(self, thumbnail: bytes | None, changes: tuple[str, ...], summary: str) -> None:
        self.state = "ready"
        if thumbnail:
            pix = QPixmap()
            if pix.loadFromData(thumbnail):
                dpr = self.devicePixelRatioF()
                pix = pix.scaled(QSize(int(THUMB * dpr), int(THUMB * dpr)),
                                 Qt.AspectRatioMode.KeepAspectRatio,
                                 Qt.TransformationMode.SmoothTransformation)
                pix.setDevicePixelRatio(dpr)
                self.thumb.setPixmap(pix)
        else:
            self.thumb.setText("▶" if summary.startswith("video") else "🖼")
        self.caption.setStyleSheet("")
        self.caption.setText("; ".join(changes) if changes else summary)
        tip = [self.name, summary, *changes]
        self.setToolTip("\n".join(tip))

    def set_failed(self, reason: str) -> None:
        self.state = "failed"
        self.thumb.setText("⚠")
        self.caption.setText(reason)
        self.caption.setStyleSheet(f"color: {ERROR_COLOR};")
        self.setToolTip(reason)
        self.setAccessibleDescription(reason)
        self.progress.hide()

    def set_progress(self, sent: int, total: int) -> None:
        if total <= 0:
            return
        self.progress.setRange(0, 1000)
        self.progress.setValue(int(1000 * min(sent, total) / total))
        self.progress.setVisible(sent < total)


class AttachmentTray(QScrollArea):
    """A horizontal strip of `TrayItem`s; hidden while empty.

    Signals:
        remove_requested(int): the user pressed × on the item with this key.
    """

    remove_requested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Attachments")
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFixedHeight(THUMB + 28)
        inner = QWidget()
        self._row = QHBoxLayout(inner)
        self._row.setContentsMargins(0, 0, 0, 0)
        self._row.addStretch(1)
        self.setWidget(inner)
        self._items: dict[int, TrayItem] = {}
        self.hide()

    def add_item(self, key: int, name: str) -> TrayItem:
        item = TrayItem(key, name)
        item.remove_clicked.connect(self.remove_requested)
        self._row.insertWidget(self._row.count() - 1, item)
        self._items[key] = item
        self.show()
        return item

    def item(self, key: int) -> TrayItem | None:
        return self._items.get(key)

    def items(self) -> list[TrayItem]:
        return list(self._items.values())

    def remove_item(self, key: int) -> None:
        item = self._items.pop(key, None)
        if item is not None:
            item.setParent(None)
            item.deleteLater()
        self.setVisible(bool(self._items))


class AttachmentController(QObject):
    """Prepares what the user attaches (off the UI thread) and keeps the tray truthful.

    Items added before the store is open (files from the command line, a second
    `stepdesk FILE`) wait until `set_context` gives the work dir.

    Signals:
        changed(): an item was added, became ready, failed or was removed.
    """

    changed = Signal()

    def __init__(self, tray: AttachmentTray, tasks: TaskSet, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._tray = tray
        self._tasks = tasks
        self._next = 1
        self._ready: dict[int, PreparedMedia] = {}
        self._jobs: dict[int, asyncio.Task[None]] = {}
        self._sending: dict[str, int] = {}  # sha256 -> key, while a send uploads them
        self._work_dir: Path | None = None
        self._proxy_for: Callable[[str], str | None] = lambda _url: None
        self._context = asyncio.Event()
        self._pasted = 0
        tray.remove_requested.connect(self.remove)

    def set_context(self, work_dir: Path, proxy_for: Callable[[str], str | None]) -> None:
        self._work_dir = work_dir
        self._proxy_for = proxy_for
        self._context.set()

    # --- adding --------------------------------------------------------------------------
    def add_mime(self, media: MimeMedia) -> None:
        self.add_paths(media.paths)
        for data in media.images:
            self.add_bytes(data, self._pasted_name())
        self.add_urls(media.urls)

    def add_paths(self, paths: Sequence[Path]) -> None:
        for path in paths:
            self._add(path.name or str(path), self._prepare(Path(path), None))

    def add_bytes(self, data: bytes, name: str) -> None:
        self._add(name, self._prepare(data, name))

    def add_urls(self, urls: Sequence[str]) -> None:
        for url in urls:
            name = unquote(Path(urlsplit(url).path).name) or urlsplit(url).hostname or url
            self._add(name, self._download_then_prepare(url, name))

    def screenshot_name(self) -> str:
        return f"Screenshot {datetime.now():%Y-%m-%d %H.%M.%S}.png"

    def _pasted_name(self) -> str:
        self._pasted += 1
        return f"Pasted image {self._pasted}.png"

    def _add(self, name: str, job: Callable[[int], asyncio.Future[None]]) -> None:
        key = self._next
        self._next += 1
        self._tray.add_item(key, name)
        self._jobs[key] = self._tasks.spawn(job(key), name=f"attach-{key}")
        self.changed.emit()

    # --- the work ------------------------------------------------------------------------
    def _prepare(self, source: Path | bytes, name: str | None):
        async def job(key: int) -> None:
            await self._run_intake(key, source, name)

        return job

    def _download_then_prepare(self, url: str, name: str):
        async def job(key: int) -> None:
            from app.media.intake import MediaError

            try:
                data = await self._download(url, name)
            except MediaError as exc:
                self._failed(key, str(exc))
                return
            await self._run_intake(key, data, name)

        return job

    async def _run_intake(self, key: int, source: Path | bytes, name: str | None) -> None:
        from app.media.intake import MediaError, prepare

        try:
            await self._context.wait()
            assert self._work_dir is not None
            item = await prepare(source, work_dir=self._work_dir, name=name)
        except MediaError as exc:
            self._failed(key, str(exc))
            return
        except OSError as exc:
            self._failed(key, f"{name or source} could not be read: {exc.strerror or exc}.")
            return
        finally:
            self._jobs.pop(key, None)
        tray_item = self._tray.item(key)
        if tray_item is None:  # removed while preparing
            item.path.unlink(missing_ok=True)
            return
        twin = next((other for other in self._ready.values() if other.sha256 == item.sha256),
                    None)
        if twin is not None:  # the same bytes twice are one attachment, sent once
            if item.path != twin.path:
                item.path.unlink(missing_ok=True)
            self._failed(key, f"Already attached: this is the same file as "
                              f"“{twin.original_name}”.")
            return
        self._ready[key] = item
        dims = f"{item.width}×{item.height}" if item.width and item.height else ""
        what = f"{item.kind}, {dims}" if dims else item.kind
        if item.duration_s:
            what += f", {item.duration_s:.0f} s"
        tray_item.set_ready(item.thumbnail, item.changes, what)
        self.changed.emit()

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

    def _failed(self, key: int, reason: str) -> None:
        item = self._tray.item(key)
        if item is not None:
            item.set_failed(reason)
        self.changed.emit()

    # --- state for sending ---------------------------------------------------------------
    def preparing(self) -> bool:
        return bool(self._jobs)

    def ready(self) -> list[PreparedMedia]:
        return [self._ready[k] for k in sorted(self._ready)]

    def limit_problem(self) -> str | None:
        """Too many images for one message. (Too many megabytes is fixed by the chat engine,
        which recompresses the largest images to fit.)"""
        from app import limits

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
            tray_item = self._tray.item(key)
            if tray_item is not None:
                tray_item.close_button.setEnabled(False)
                tray_item.caption.setText("Sending…")
        self._ready.clear()
        return media

    def upload_progress(self, sha256: str, sent: int, total: int) -> None:
        key = self._sending.get(sha256)
        item = None if key is None else self._tray.item(key)
        if item is not None:
            item.caption.setText(f"Uploading {100 * sent // max(total, 1)}%")
            item.set_progress(sent, total)

    def sent(self) -> None:
        """The turn has begun streaming (or ended): the sent items leave the tray."""
        for key in self._sending.values():
            self._tray.remove_item(key)
        self._sending.clear()
        self.changed.emit()

    def remove(self, key: int) -> None:
        job = self._jobs.pop(key, None)
        if job is not None:
            job.cancel()
        item = self._ready.pop(key, None)
        if item is not None:
            item.path.unlink(missing_ok=True)
        self._tray.remove_item(key)
        self.changed.emit()

    def clear_failed(self) -> None:
        for tray_item in self._tray.items():
            if tray_item.state == "failed":
                self._tray.remove_item(tray_item.key)
