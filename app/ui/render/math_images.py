"""Typeset formulas for the conversation view: cached, drawn off the UI thread.

Typesetting one formula costs about 2-20 ms of pure Python (ziamath's layout; QtSvg's drawing
is well under 1 ms), so a 50-formula answer would stall the window for half a second if done
inline. Instead `lookup()` answers at once with the formula's image URL and queues the work on
one worker thread; until the image is ready the document shows the LaTeX source, drawn as code,
in its place (`placeholder`), and `ready` tells the views to swap the real image in. The URL is
a digest of everything the image depends on — source, display or inline, size, colour, x-height
and device pixel ratio — so a theme switch or another screen asks for new images and the
cache never hands out a stale one. Both the images (by count and bytes) and the failures are
bounded least-recently-used caches.

Nothing is imported for math until the first formula is looked up: `math_typeset` (and with it
ziamath and QtSvg) loads on the worker thread.
"""

from __future__ import annotations

import hashlib
import queue
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication, QObject, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontDatabase,
    QFontMetricsF,
    QGuiApplication,
    QImage,
    QPainter,
)

from app.ui.render.markdown import FormulaRef, RenderTheme

if TYPE_CHECKING:
    from app.ui.render.math_typeset import FormulaStyle

MATH_SCHEME = "stepdesk-math"
"""`stepdesk-math:<digest>` names a formula image in a document."""
_POLL_MS = 20  # while formulas are being typeset, results are collected this often
MATH_SCALE = 1.21
"""Formulas are set this much larger than the text around them, as KaTeX does: math fonts
have small x-heights, and at the same size a formula looks a size smaller than its text."""


@dataclass(frozen=True, slots=True)
class FormulaInfo:
    """What a formula image shows: its LaTeX and whether it is display math."""

    source: str
    display: bool

    @property
    def latex(self) -> str:
        """The source with delimiters, as it would be written in Markdown."""
        return f"$${self.source}$$" if self.display else f"${self.source}$"


@dataclass(frozen=True, slots=True)
class _Request:
    info: FormulaInfo
    style: FormulaStyle
    code_bg: str  # the placeholder is drawn like inline code, at the text's size
    text_px: float


class FormulaImages(QObject):
    """Formula images by URL, typeset on a worker thread.

    Args:
        max_images / max_bytes: bounds of the image cache.
        executor: where typesetting runs (default: one worker thread of its own).
        ratio: the device pixel ratio to draw at (default: the highest of all screens).

    Signals:
        ready(list): URLs whose image (or failure) became known since the last emission.
    """

    ready = Signal(list)

    def __init__(self, parent: QObject | None = None, *, max_images: int = 400,
                 max_bytes: int = 64 << 20, executor: Executor | None = None,
                 ratio: Callable[[], float] | None = None) -> None:
        super().__init__(parent)
        self._max_images = max_images
        self._max_bytes = max_bytes
        self._worker = _Worker(executor)
        self._ratio = ratio or _highest_ratio
        self._images: OrderedDict[str, QImage] = OrderedDict()
        self._bytes = 0
        self._errors: OrderedDict[str, str] = OrderedDict()
        self._requests: OrderedDict[str, _Request] = OrderedDict()  # every URL handed out
        self._queued: set[str] = set()
        self._placeholders: OrderedDict[str, QImage] = OrderedDict()
        self.timings: list[float] = []  # seconds per formula typeset (for the benchmark)
        self.destroyed.connect(self._worker.close)  # a plain object's method: no cycle
        self._poll = QTimer(self)
        self._poll.setInterval(_POLL_MS)
        self._poll.timeout.connect(self._collect)
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.close)

    # -- the renderer's side (markdown.Formulas) -----------------------------------------

    def lookup(self, source: str, display: bool, theme: RenderTheme) -> FormulaRef:
        """The image URL for `source`; queues typesetting when it is not drawn yet."""
        from app.ui.render.math_typeset import FormulaStyle

        style = FormulaStyle(theme.font_px * MATH_SCALE, theme.text, float(self._ratio()),
                             theme.x_height)
        url = f"{MATH_SCHEME}:" + hashlib.sha1(
            repr((source, display, style)).encode("utf-8")).hexdigest()
        request = _Request(FormulaInfo(source, display), style, theme.inline_code_bg,
                           theme.font_px)
        self._remember(url, request)
        if url in self._errors:
            self._errors.move_to_end(url)
            return FormulaRef(url, error=self._errors[url])
        if url in self._images:
            self._images.move_to_end(url)
            return FormulaRef(url)
        self._queue(url, request)
        return FormulaRef(url, pending=True)

    # -- the views' side -----------------------------------------------------------------

    def image(self, url: str) -> QImage | None:
        """The typeset image, or None while it is pending (or when it failed)."""
        image = self._images.get(url)
        if image is None:
            request = self._requests.get(url)
            if request is not None and url not in self._errors:
                self._queue(url, request)  # evicted since: draw it again
        return image

    def info(self, url: str) -> FormulaInfo | None:
        """The LaTeX behind an image URL (None for a URL never handed out or long forgotten)."""
        request = self._requests.get(url)
        return request.info if request is not None else None

    def error(self, url: str) -> str | None:
        """Why the formula did not typeset, or None."""
        return self._errors.get(url)

    def code_background(self, url: str) -> str:
        """The inline-code background a formula's source is shown on (when it fails)."""
        request = self._requests.get(url)
        return request.code_bg if request is not None else "transparent"

    def is_pending(self, url: str) -> bool:
        return url in self._queued

    def placeholder(self, url: str) -> QImage | None:
        """The source as code, drawn as an image of the same kind (shown until `ready`)."""
        cached = self._placeholders.get(url)
        if cached is not None:
            return cached
        request = self._requests.get(url)
        if request is None:
            return None
        image = _code_image(request.info.latex, request.style, request.code_bg, request.text_px)
        self._placeholders[url] = image
        while len(self._placeholders) > 256:
            self._placeholders.popitem(last=False)
        return image

    def close(self) -> None:
        """Drop queued work and never deliver again (on quit, and when this object dies)."""
        self._worker.close()
        self._poll.stop()

    # -- internals -----------------------------------------------------------------------

    def _remember(self, url: str, request: _Request) -> None:
        self._requests[url] = request
        self._requests.move_to_end(url)
        while len(self._requests) > 8 * self._max_images:
            self._requests.popitem(last=False)

    def _queue(self, url: str, request: _Request) -> None:
        if url in self._queued or self._worker.closed:
            return
        self._queued.add(url)
        self._worker.submit(url, request)
        if not self._poll.isActive():
            self._poll.start()

    def _collect(self) -> None:
        """Take the finished formulas from the worker and announce them in one batch."""
        batch = [self._store(*result) for result in self._worker.take()]
        if not self._queued:
            self._poll.stop()
        if batch:
            self.ready.emit(batch)

    def _store(self, url: str, image: QImage | None, error: str | None,
               seconds: float) -> str:
        self._queued.discard(url)
        self.timings.append(seconds)
        if image is not None:
            self._images[url] = image
            self._bytes += image.sizeInBytes()
            while self._images and (len(self._images) > self._max_images
                                    or self._bytes > self._max_bytes):
                _, old = self._images.popitem(last=False)
                self._bytes -= old.sizeInBytes()
        else:
            self._errors[url] = error or "This LaTeX does not parse."
            while len(self._errors) > self._max_images:
                self._errors.popitem(last=False)
        self._placeholders.pop(url, None)
        return url


def _highest_ratio() -> float:
    """The highest device pixel ratio of all screens: sharp on every one of them."""
    app = QCoreApplication.instance()
    return float(app.devicePixelRatio()) if isinstance(app, QGuiApplication) else 1.0


class _Worker:
    """The typesetting thread and its results, shared with nothing Qt.

    The worker thread touches no QObject (a QObject whose last reference dropped on the
    worker would be destroyed there, timers and all): it only fills a queue the GUI thread
    polls while work is outstanding.
    """

    def __init__(self, executor: Executor | None) -> None:
        self._executor = executor
        self._results: queue.SimpleQueue[tuple[str, QImage | None, str | None, float]] = \
            queue.SimpleQueue()
        self.closed = False

    def submit(self, url: str, request: _Request) -> None:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(1, thread_name_prefix="formulas")
        self._executor.submit(_typeset_job, self._results, url, request)

    def take(self) -> list[tuple[str, QImage | None, str | None, float]]:
        taken = []
        while True:
            try:
                taken.append(self._results.get_nowait())
            except queue.Empty:
                return taken

    def close(self) -> None:
        """Drop queued work (the one formula being typeset finishes on its own)."""
        self.closed = True
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)


def _typeset_job(results: queue.SimpleQueue[tuple[str, QImage | None, str | None, float]],
                 url: str, request: _Request) -> None:
    """Runs on the worker thread: typeset, then hand the QImage (or the reason) back."""
    from app.ui.render.math_typeset import FormulaError, typeset

    started = time.perf_counter()
    image: QImage | None = None
    error: str | None = None
    try:
        image = typeset(request.info.source, request.info.display, request.style)
    except FormulaError as failure:
        error = str(failure)
    except Exception as failure:  # a bug in the layout must cost one formula, not the window
        error = f"This formula could not be typeset ({type(failure).__name__})."
    results.put((url, image, error, time.perf_counter() - started))


def _code_image(text: str, style: FormulaStyle, background: str, px: float) -> QImage:
    """`text` in the fixed-pitch font on the inline-code background, padded like a typeset
    inline formula so it sits on the baseline the same way (see math_typeset)."""
    font = QFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
    font.setPixelSize(max(1, round(px)))
    metrics = QFontMetricsF(font)
    shown = text if len(text) <= 200 else text[:199] + "…"
    width = metrics.horizontalAdvance(shown) + 2
    ascent, depth = metrics.ascent(), metrics.descent()
    half_x = style.x_height / 2
    total = max(2 * ascent - half_x, 2 * depth + half_x, ascent + depth)
    top = (total + half_x) / 2 - ascent
    image = QImage(max(1, round(width * style.ratio)), max(1, round(total * style.ratio)),
                   QImage.Format.Format_ARGB32_Premultiplied)
    image.setDevicePixelRatio(style.ratio)
    image.fill(0)
    painter = QPainter(image)
    painter.fillRect(QRectF(0, top, width, ascent + depth), QColor(background))
    painter.setFont(font)
    painter.setPen(QColor(style.color))
    painter.drawText(QRectF(1, top, width, ascent + depth),
                     int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), shown)
    painter.end()
    return image
