"""Typeset formulas for the conversation view: cached, laid out off the UI thread.

Typesetting one formula costs about 2-25 ms of pure Python (ziamath's layout; QtSvg's drawing
is well under 1 ms), so a 50-formula answer would stall the window for half a second if done
inline — and even on a worker thread it would hold the GIL the window needs (measured: UI gaps
of 60-170 ms). So `lookup()` answers at once with the formula's image URL and queues the work:
one child process (spawned on the first formula) lays the LaTeX out and sends the SVG back;
the GUI thread polls for finished ones and draws them into QImages (QtSvg: well under 1 ms
each, a few milliseconds at most per poll). Until the image is ready the document
shows the LaTeX source as code, and `ready` tells the views to swap the image in. The URL is
a digest of everything the image depends on — source, display or inline, size, colour, x-height
and device pixel ratio — so a theme switch or another screen asks for new images and the
cache never hands out a stale one. Both the images (by count and bytes) and the failures are
bounded least-recently-used caches.

Nothing is imported for math until the first formula is looked up: `math_typeset` (and with it
QtSvg) loads with the first finished formula, ziamath only in the child process.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication, QObject, QTimer, Signal
from PySide6.QtGui import (
    QGuiApplication,
    QImage,
)

from app.ui.render.markdown import FormulaRef, RenderTheme

if TYPE_CHECKING:
    from concurrent.futures import Executor, Future

    from app.ui.render.math_typeset import FormulaStyle

MATH_SCHEME = "stepdesk-math"
"""`stepdesk-math:<digest>` names a formula image in a document."""
_POLL_MS = 20  # while formulas are being typeset, results are collected this often
_DRAW_BUDGET_S = 0.008  # SVGs drawn into images per poll, at most (about 0.5 ms each)
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


class FormulaImages(QObject):
    """Formula images by URL, laid out in a child process.

    Args:
        max_images / max_bytes: bounds of the image cache.
        layout: where LaTeX becomes SVG (default: one child process of its own, started on
            the first formula; `math_svg.latex_to_svg` is submitted to it).
        ratio: the device pixel ratio to draw at (default: the highest of all screens).

    Signals:
        ready(list): URLs whose image (or failure) became known since the last emission.
    """

    ready = Signal(list)

    def __init__(self, parent: QObject | None = None, *, max_images: int = 400,
                 max_bytes: int = 64 << 20, layout: Executor | None = None,
                 ratio: Callable[[], float] | None = None) -> None:
        super().__init__(parent)
        self._max_images = max_images
        self._max_bytes = max_bytes
        self._layout = _Layout(layout)
        self._finished: deque[tuple[str, _Request, str | None, str | None, float]] = deque()
        self._ratio = ratio or _highest_ratio
        self._images: OrderedDict[str, QImage] = OrderedDict()
        self._bytes = 0
        self._errors: OrderedDict[str, str] = OrderedDict()
        self._requests: OrderedDict[str, _Request] = OrderedDict()  # every URL handed out
        self._styles: dict[tuple[RenderTheme, float], FormulaStyle] = {}
        self._urls: dict[tuple[str, bool, FormulaStyle], str] = {}
        self._queued: set[str] = set()
        self.timings: list[float] = []  # seconds per formula typeset (for the benchmark)
        self.destroyed.connect(self._layout.close)  # a plain object's method: no cycle
        self._poll = QTimer(self)
        self._poll.setInterval(_POLL_MS)
        self._poll.timeout.connect(self._collect)
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.close)

    # -- the renderer's side (markdown.Formulas) -----------------------------------------

    def lookup(self, source: str, display: bool, theme: RenderTheme) -> FormulaRef:
        """The image URL for `source`; queues typesetting when it is not drawn yet."""
        ratio = float(self._ratio())
        style = self._styles.get((theme, ratio))
        if style is None:
            from app.ui.render.math_typeset import FormulaStyle

            style = FormulaStyle(theme.font_px * MATH_SCALE, theme.text, ratio, theme.x_height)
            self._styles[(theme, ratio)] = style
        key = (source, display, style)
        url = self._urls.get(key)
        if url is None:
            url = f"{MATH_SCHEME}:" + hashlib.sha1(
                f"{display}|{style.px}|{style.color}|{ratio}|{style.x_height}|{source}"
                .encode()).hexdigest()
            self._urls[key] = url
            while len(self._urls) > 8 * self._max_images:
                self._urls.pop(next(iter(self._urls)))
        request = self._requests.get(url)
        if request is None:
            request = _Request(FormulaInfo(source, display), style)
            self._remember(url, request)
        else:
            self._requests.move_to_end(url)
        if url in self._errors:
            self._errors.move_to_end(url)
            return FormulaRef(url, error=self._errors[url])
        image = self._images.get(url)
        if image is not None:
            self._images.move_to_end(url)
            logical = image.deviceIndependentSize()  # cut to whole pixels as Qt does
            return FormulaRef(url, size=(int(logical.width()), int(logical.height())))
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

    def is_pending(self, url: str) -> bool:
        return url in self._queued

    def close(self) -> None:
        """Drop queued work and never deliver again (on quit, and when this object dies)."""
        self._layout.close()
        self._poll.stop()

    # -- internals -----------------------------------------------------------------------

    def _remember(self, url: str, request: _Request) -> None:
        self._requests[url] = request
        self._requests.move_to_end(url)
        while len(self._requests) > 8 * self._max_images:
            self._requests.popitem(last=False)

    def _queue(self, url: str, request: _Request) -> None:
        if url in self._queued or self._layout.closed:
            return
        self._queued.add(url)
        self._layout.submit(url, request)  # sent at the next poll, after this paint
        if not self._poll.isActive():
            self._poll.start()

    def _collect(self) -> None:
        """Send what was asked for, draw what came back (for at most `_DRAW_BUDGET_S`;
        the rest next time) and announce it in one batch."""
        from app.ui.render.math_svg import FormulaError
        from app.ui.render.math_typeset import draw_svg

        self._layout.send()
        self._finished.extend(self._layout.take())
        batch: list[str] = []
        deadline = time.perf_counter() + _DRAW_BUDGET_S
        while self._finished and time.perf_counter() < deadline:
            url, request, svg, error, seconds = self._finished.popleft()
            image: QImage | None = None
            if svg is not None:
                try:
                    image = draw_svg(svg, request.info.display, request.style)
                except FormulaError as failure:
                    error = str(failure)
            self._store(url, image, error, seconds)
            batch.append(url)
        if not self._layout.busy and not self._finished:
            self._poll.stop()
        if batch:
            self.ready.emit(batch)

    def _store(self, url: str, image: QImage | None, error: str | None,
               seconds: float) -> None:
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


def _highest_ratio() -> float:
    """The highest device pixel ratio of all screens: sharp on every one of them."""
    app = QCoreApplication.instance()
    return float(app.devicePixelRatio()) if isinstance(app, QGuiApplication) else 1.0


class _Layout:
    """Sends LaTeX to the child process and hands back finished SVGs; shares nothing Qt.

    Requests wait for the next poll before they are sent, so the render that asked for them
    finishes (and paints) first. A child that died (killed, out of memory) is replaced once;
    when no child can be used at all, layout falls back to one thread of this process —
    slower for the window (the GIL), but no formula is left undone.
    """

    def __init__(self, layout: Executor | None) -> None:
        self._executor = layout
        self._owns = layout is None
        self._waiting: list[tuple[str, _Request]] = []
        self._jobs: dict[Future[str], tuple[str, _Request, float, int]] = {}
        self.closed = False

    @property
    def busy(self) -> bool:
        return bool(self._waiting or self._jobs)

    def submit(self, url: str, request: _Request) -> None:
        self._waiting.append((url, request))

    def send(self) -> None:
        waiting, self._waiting = self._waiting, []
        for url, request in waiting:
            self._send(url, request, time.perf_counter(), 1)

    def take(self) -> list[tuple[str, _Request, str | None, str | None, float]]:
        """Finished jobs: (url, request, svg, error, seconds since sent)."""
        from concurrent.futures.process import BrokenProcessPool

        from app.ui.render.math_svg import FormulaError

        finished = []
        for future in [f for f in self._jobs if f.done()]:
            url, request, started, attempt = self._jobs.pop(future)
            svg: str | None = None
            error: str | None = None
            try:
                svg = future.result()
            except FormulaError as failure:
                error = str(failure)
            except BrokenProcessPool:
                self._replace_child(attempt)
                self._send(url, request, started, attempt + 1)
                continue
            except Exception as failure:  # a bug in the layout costs one formula, no more
                error = f"This formula could not be typeset ({type(failure).__name__})."
            finished.append((url, request, svg, error, time.perf_counter() - started))
        return finished

    def close(self) -> None:
        """Drop queued work and stop the child."""
        self.closed = True
        self._waiting = []
        if self._owns and self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)

    def _send(self, url: str, request: _Request, started: float, attempt: int) -> None:
        # concurrent.futures and multiprocessing load with the first formula, not before the
        # window's first paint (bench_startup --empty)
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor
        from concurrent.futures.process import BrokenProcessPool

        from app.ui.render.math_svg import latex_to_svg, lower_priority

        if self.closed:
            return
        if self._executor is None:
            self._executor = ProcessPoolExecutor(
                1, mp_context=multiprocessing.get_context("spawn"), initializer=lower_priority)
        info, style = request.info, request.style
        try:
            future = self._executor.submit(latex_to_svg, info.source, info.display, style.px,
                                           style.color)
        except BrokenProcessPool:
            self._replace_child(attempt)
            self._send(url, request, started, attempt + 1)
            return
        self._jobs[future] = (url, request, started, attempt)

    def _replace_child(self, attempt: int) -> None:
        from concurrent.futures import ThreadPoolExecutor

        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
        if attempt >= 2 or not self._owns:
            self._executor = ThreadPoolExecutor(1, thread_name_prefix="formulas")
            self._owns = True
        else:
            self._executor = None
