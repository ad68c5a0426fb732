"""Read-only rich-text views that size to their content and load nothing from outside.

`SafeTextBrowser` is the base: QTextBrowser would happily load `file:` (and, through a
subclass hook, remote) resources and follow links itself, so it refuses every resource except
our own thumbnail scheme and routes links through `anchorClicked`.

`MarkdownView` adds streaming: while a reply grows, only its unfinished last top-level block is
re-rendered. Finished blocks are appended to the QTextDocument once, so a tick costs the size of
the tail, not of the whole answer; a backlog (a flood, a long message opened from history) is
worked off in steps of about `STEP_CHARS`, so no single step blocks the UI for long.

Formulas are images named `stepdesk-math:…` (see `math_images`), served from the shared
`FormulaImages`. A formula still being typeset is its LaTeX as code text (so the first paint
costs what code spans cost, and the source can be read and selected meanwhile), marked by an
anchor named after its URL; when `ready` says its image is there, the text is replaced by the
image (the stream's record of where its finished part ends is moved along). A right-click on
a formula offers "Copy LaTeX", hovering shows its source (or why it did not typeset), and
copying a selection puts the LaTeX in its place.
"""

from __future__ import annotations

import contextlib
import functools
import math
import time
from collections.abc import Callable
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QMimeData, QPoint, QPointF, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import (
    QContextMenuEvent,
    QDesktopServices,
    QFont,
    QFontInfo,
    QFontMetricsF,
    QGuiApplication,
    QHelpEvent,
    QImage,
    QPalette,
    QPixmap,
    QTextCharFormat,
    QTextCursor,
    QTextDocument,
    QTextDocumentFragment,
    QTextImageFormat,
    QTextOption,
)
from PySide6.QtWidgets import QFrame, QMenu, QSizePolicy, QTextBrowser, QToolTip, QWidget

from app.ui.render.growing_paragraph import GrowingParagraph
from app.ui.render.markdown import (
    COPY_CODE_PREFIX,
    COPY_TABLE_PREFIX,
    MATH_MARKERS,
    SAVE_CODE_PREFIX,
    SAVE_TABLE_PREFIX,
    SEEK_PREFIX,
    CodeBlock,
    MarkdownRenderer,
    Rendered,
    RenderTheme,
)
from app.ui.render.math_images import MATH_SCHEME, FormulaImages, FormulaInfo

if TYPE_CHECKING:
    from app.results.tables import Table

THUMB_SCHEME = "stepdesk-thumb"
"""`stepdesk-thumb:<sha256>` is the only resource URL a document may load."""

_EXTERNAL_SCHEMES = frozenset({"http", "https", "mailto"})
_SENTINEL = "\u2063"  # invisible separator; see MarkdownView._append_html
_OBJECT = "\ufffc"  # how an image stands in the document's plain text
STEP_CHARS = 1_200
"""Markdown source parsed per render step (markdown-it-py runs at roughly 7 µs a character)."""
SWAP_EVERY_S = 0.5
"""While a reply streams, typeset formulas replace their finished sources at most this often."""
SWAP_BUDGET_S = 0.008
"""Formula swaps per event-loop turn, at most (the rest follow on the next turns)."""
SWAP_SPAN_CHARS = 2_000
"""Swaps are grouped in edit blocks spanning at most this much text: Qt lays out again all
of an edit block's changed range (about 4 ms a thousand characters of an answer), so ten
formulas spread over a long answer in one block would cost a layout of the whole of it."""
GIANT_CHARS = 4_000
"""An unfinished last block longer than this is shown as plain text while it grows."""


def _head(text: str, size: int) -> str:
    """`text` up to the first line end at or after `size` characters (all of it if shorter)."""
    if len(text) <= size:
        return text
    end = text.rfind("\n", 0, size)
    if end < 0:
        end = text.find("\n", size)
    return text if end < 0 else text[:end + 1]


class SafeTextBrowser(QTextBrowser):
    """A QTextBrowser that grows to fit its document and never fetches resources.

    Signals:
        code_copy_requested(str): a code block's Copy link (payload: the code), or "Copy
            LaTeX" on a formula (payload: its LaTeX with delimiters).
        code_save_requested(str, str): a code block's Save link (code, language).
        table_copy_requested(str): a table's "Copy as CSV" link (payload: the CSV text).
        table_save_requested(str, int): a table's "Save as CSV…" link (CSV, table number).
        seek_requested(float): a timestamp in an answer about a video (seconds).
    """

    code_copy_requested = Signal(str)
    code_save_requested = Signal(str, str)
    table_copy_requested = Signal(str)
    table_save_requested = Signal(str, int)
    seek_requested = Signal(float)

    def __init__(self, parent: QWidget | None = None, *, max_height: int | None = None,
                 thumbnail_for: Callable[[str], Path | None] | None = None) -> None:
        super().__init__(parent)
        self._max_height = max_height
        self._thumbnail_for = thumbnail_for
        self.setOpenLinks(False)
        self.setOpenExternalLinks(False)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded if max_height
                                        else Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setWordWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        self.viewport().setAutoFillBackground(False)
        self.document().setUndoRedoEnabled(False)
        self.document().documentLayout().documentSizeChanged.connect(self._fit_height)
        self.anchorClicked.connect(self._on_anchor)
        self._watching = False  # connected to the formulas' `ready`
        # Sources shown while typeset: a cursor at the start of each, its length, its URL.
        self._trackers: list[tuple[QTextCursor, int, str]] = []
        # Sources from this position on are not tracked yet (an int, not a cursor: text is
        # appended there. Nothing moves it: swaps first track every source.)
        self._untracked: int | None = None
        self._swap_more = QTimer(self)  # a swap cut short by its budget goes on from here
        self._swap_more.setSingleShot(True)
        self._swap_more.setInterval(0)
        self._swap_more.timeout.connect(self._continue_swap)
        self._swap_due = False  # formulas became ready while positions could not move
        self._fit_height()

    def code_blocks(self) -> list[CodeBlock]:
        """The code blocks Copy/Save links refer to, by number (none for plain text)."""
        return []

    def tables(self) -> list[Table]:
        """The tables Copy/Save-as-CSV links refer to, by number (none for plain text)."""
        return []

    def formula_images(self) -> FormulaImages | None:
        """Where this view's formula images come from (none: it shows no formulas)."""
        return None

    def loadResource(self, kind: int, name: QUrl | str, /) -> object:
        """Refuse every resource except our own thumbnails and formulas, so nothing is
        fetched or read."""
        url = QUrl(name) if isinstance(name, str) else name
        if url.scheme() == MATH_SCHEME:
            formulas = self.formula_images()
            image = formulas.image(url.toString()) if formulas is not None else None
            if image is None:
                return None
            # Added to the document for good: what this method returns is forgotten by the
            # next setHtml (a view drawn again would come back here for every formula), and
            # a QImage is converted to a pixmap at every layout and paint. A URL names one
            # image forever (see math_images), so the copy never goes stale.
            pixmap = QPixmap.fromImage(image)
            self.document().addResource(kind, url, pixmap)
            return pixmap
        if url.scheme() == THUMB_SCHEME and self._thumbnail_for is not None:
            path = self._thumbnail_for(url.path())
            if path is not None:
                image = QImage(str(path))
                if not image.isNull():
                    return image
        return None

    def formula_urls(self) -> list[str]:
        """The formula images in the document, in order (URLs; a formula shown as text
        because it did not typeset is not among them)."""
        urls: list[str] = []
        block = self.document().begin()
        while block.isValid():
            iterator = block.begin()
            while not iterator.atEnd():
                char_format = iterator.fragment().charFormat()
                if char_format.isImageFormat():
                    name = char_format.toImageFormat().name()
                    if name.startswith(f"{MATH_SCHEME}:"):
                        urls.append(name)
                iterator += 1
            block = block.next()
        return urls

    def formula_at(self, pos: QPoint) -> tuple[str, FormulaInfo | None] | None:
        """The formula image under viewport position `pos`: (URL, what it shows), or None."""
        point = QPointF(pos) + QPointF(self.horizontalScrollBar().value(),
                                       self.verticalScrollBar().value())
        hit = self.document().documentLayout().hitTest(point, Qt.HitTestAccuracy.ExactHit)
        if hit < 0:
            return None
        for position in (hit, hit - 1):  # the hit is before or after the image character
            char_format = self._format_at(position)
            if char_format is not None and char_format.isImageFormat():
                name = char_format.toImageFormat().name()
                if name.startswith(f"{MATH_SCHEME}:"):
                    formulas = self.formula_images()
                    info = formulas.info(name) if formulas is not None else None
                    if info is None and char_format.toolTip():
                        info = FormulaInfo(char_format.toolTip(), False)
                    return name, info
        return None

    def _format_at(self, position: int) -> QTextCharFormat | None:
        """The format of the character at `position` (None outside the text)."""
        block = self.document().findBlock(position)
        iterator = block.begin() if block.isValid() else None
        while iterator is not None and not iterator.atEnd():
            fragment = iterator.fragment()
            if fragment.position() <= position < fragment.position() + fragment.length():
                return fragment.charFormat()
            iterator += 1
        return None

    def context_menu_at(self, pos: QPoint) -> QMenu:
        """The right-click menu for viewport position `pos` (with "Copy LaTeX" on a formula)."""
        menu = self.createStandardContextMenu(pos)
        found = self.formula_at(pos)
        if found is not None and found[1] is not None:
            action = menu.addAction("Copy LaTeX")
            action.triggered.connect(functools.partial(self._copy_latex, found[1].latex))
            first = menu.actions()[0]
            if first is not action:
                menu.insertAction(first, action)
                menu.insertSeparator(first)
        return menu

    def _copy_latex(self, latex: str, _checked: bool = False) -> None:
        self.code_copy_requested.emit(latex)

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        menu = self.context_menu_at(event.pos())
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        menu.popup(event.globalPos())  # not exec(): no nested loop inside the app's tasks

    def event(self, event: QEvent) -> bool:
        """A formula's tooltip: its LaTeX, or why it could not be typeset."""
        if event.type() == QEvent.Type.ToolTip and isinstance(event, QHelpEvent):
            found = self.formula_at(self.viewport().mapFromGlobal(event.globalPos()))
            if found is not None:
                formulas = self.formula_images()
                error = formulas.error(found[0]) if formulas is not None else None
                text = error or (found[1].latex if found[1] is not None else "")
                if text:
                    QToolTip.showText(event.globalPos(), text, self)
                    return True
        return super().event(event)

    def createMimeDataFromSelection(self) -> QMimeData:
        """Copying a selection puts each formula's LaTeX where its image was."""
        cursor = self.textCursor()
        objects = self._objects_between(cursor.selectionStart(), cursor.selectionEnd())
        if not any(objects):
            return super().createMimeDataFromSelection()
        pieces = cursor.selection().toPlainText().split(_OBJECT)
        text = pieces[0]
        for n, piece in enumerate(pieces[1:]):
            text += (objects[n] if n < len(objects) else "") + piece
        mime = QMimeData()
        mime.setText(text)
        return mime

    def _objects_between(self, start: int, end: int) -> list[str]:
        """For each image character in [start, end): its formula's LaTeX, or "" if none."""
        found: list[str] = []
        if start >= end:
            return found
        formulas = self.formula_images()
        document = self.document()
        block = document.findBlock(start)
        while block.isValid() and block.position() < end:
            iterator = block.begin()
            while not iterator.atEnd():
                fragment = iterator.fragment()
                char_format = fragment.charFormat()
                if char_format.isImageFormat():
                    name = char_format.toImageFormat().name()
                    info = formulas.info(name) if formulas is not None else None
                    latex = info.latex if info is not None else ""
                    if not latex and name.startswith(f"{MATH_SCHEME}:") and char_format.toolTip():
                        latex = f"${char_format.toolTip()}$"
                    for position in range(fragment.position(),
                                          fragment.position() + fragment.length()):
                        if start <= position < end:
                            found.append(latex)
                iterator += 1
            block = block.next()
        return found

    def pending_formula_urls(self) -> list[str]:
        """Formulas still shown as their source while being typeset (URLs, in order)."""
        return [url for _cursor, _length, url in self._tracked()]

    def _watch_formulas(self, start: int = 0) -> None:
        """The document shows formulas being typeset from position `start` on (text added
        there since the last call): swap their images in when `ready`. Their sources are
        found when first needed (not in the first paint's time)."""
        self._untracked = start if self._untracked is None else min(self._untracked, start)
        formulas = self.formula_images()
        if formulas is not None and not self._watching:
            formulas.ready.connect(self._on_formulas_ready)
            self._watching = True

    def _tracked(self) -> list[tuple[QTextCursor, int, str]]:
        """Every formula source shown while typeset: (cursor at its start, length, URL)."""
        if self._untracked is not None:
            start, self._untracked = self._untracked, None
            self._track_sources(start)
        return self._trackers

    def _track_sources(self, start: int) -> None:
        """A cursor at the start of each formula source from `start` on, and its length (the
        renderer marks a source with an anchor named after the formula's URL and the
        source's length, since Qt names only an anchor's first character). Qt moves the
        cursors along with every edit before them, so a swap never walks the document
        again. (Only the start: text is appended at the end, where a source may end.)"""
        prefix = f"{MATH_SCHEME}:"
        document = self.document()
        block = document.findBlock(start)
        while block.isValid():
            text = block.text()  # one call, against a walk of its fragments (~1 µs each)
            if not any(marker in text for marker in MATH_MARKERS):  # no source can be here
                block = block.next()
                continue
            iterator = block.begin()
            while not iterator.atEnd():
                fragment = iterator.fragment()
                if fragment.position() >= start:
                    for name in fragment.charFormat().anchorNames():
                        url, _, length = name.rpartition("/")  # "stepdesk-math:<digest>/<n>"
                        if url.startswith(prefix) and length.isdigit():
                            cursor = QTextCursor(document)
                            cursor.setPosition(fragment.position())
                            self._trackers.append((cursor, int(length), url))
                iterator += 1
            block = block.next()

    def _forget_sources(self, start: int = 0) -> None:
        """The document from `start` on is about to be removed: stop tracking its sources."""
        self._trackers = [t for t in self._trackers if t[0].position() < start]
        if self._untracked is not None and self._untracked >= start:
            self._untracked = None

    def _on_formulas_ready(self, _urls: list[str]) -> None:
        if self._positions_may_move():
            self._swap_formulas()
        else:
            self._swap_due = True  # after the stream (see MarkdownView.render_step)

    def _continue_swap(self) -> None:
        if self._positions_may_move():
            self._swap_formulas()
        else:
            self._swap_due = True

    def _swap_formulas(self) -> None:
        """Replace each typeset formula's source with its image (the text shifts, so this
        runs only while nothing tracks document positions, or adjusts what does); a formula
        that did not typeset keeps its source, now with the reason as tooltip.

        Nearby formulas share one edit block (one layout of the text between them); after
        `SWAP_BUDGET_S` the rest waits for the next event-loop turn (or, while streaming,
        the next render step)."""
        self._swap_due = False
        formulas = self.formula_images()
        if formulas is None:
            return
        trackers, waiting = self._tracked(), []
        deadline = time.perf_counter() + SWAP_BUDGET_S
        edit = QTextCursor(self.document())
        n = 0
        while n < len(trackers):
            first = trackers[n][0].position()
            edit.beginEditBlock()
            while n < len(trackers) and trackers[n][0].position() - first <= SWAP_SPAN_CHARS:
                if not self._swap_one(formulas, *trackers[n]):
                    waiting.append(trackers[n])
                n += 1
            edit.endEditBlock()
            if n < len(trackers) and time.perf_counter() > deadline:  # one block at least
                waiting += trackers[n:]
                self._swap_due = True
                break
        self._trackers = waiting
        if not waiting and self._watching:
            formulas.ready.disconnect(self._on_formulas_ready)
            self._watching = False
        self._fit_height()
        if self._swap_due and not self._streaming_now():
            self._swap_more.start()

    def _swap_one(self, formulas: FormulaImages, cursor: QTextCursor, length: int,
                  url: str) -> bool:
        """Swap one formula source for its image (or settle it as source when it failed);
        False while it is still being typeset."""
        position = cursor.position()
        if not self._still_source(position, url):
            return True  # gone (its text was replaced): nothing to swap
        image, error, info = formulas.image(url), formulas.error(url), formulas.info(url)
        if image is None and error is None and formulas.is_pending(url):
            return False
        cursor.setPosition(position + length, QTextCursor.MoveMode.KeepAnchor)
        if image is not None and info is not None:
            picture = QTextImageFormat()
            picture.setName(url)
            picture.setVerticalAlignment(QTextCharFormat.VerticalAlignment.AlignMiddle)
            picture.setToolTip(info.source)
            cursor.removeSelectedText()
            cursor.insertImage(picture)
            self._positions_shifted(position, length - 1)
        else:
            settled = QTextCharFormat()
            settled.setAnchor(False)
            settled.setAnchorNames([])
            settled.setToolTip(error or "This formula could not be typeset.")
            cursor.mergeCharFormat(settled)
        cursor.setPosition(position)
        return True

    def _streaming_now(self) -> bool:
        """True while a stream's render steps take care of swaps (see MarkdownView)."""
        return False

    def _still_source(self, position: int, url: str) -> bool:
        """True when the text at `position` is still the source of formula `url`."""
        if position + 1 >= self.document().characterCount():
            return False
        probe = QTextCursor(self.document())
        probe.setPosition(position + 1)
        return any(name.startswith(url) for name in probe.charFormat().anchorNames())

    def _pending_sources(self) -> list[tuple[int, int, str]]:
        """(position, length, URL) of each formula source shown while it is typeset."""
        return [(cursor.position(), length, url) for cursor, length, url in self._tracked()]

    def _positions_may_move(self) -> bool:
        """False while something keeps positions in the document that a swap would shift."""
        return True

    def _positions_shifted(self, position: int, removed: int) -> None:
        """`removed` characters went away at `position` (a source became one image)."""

    def _on_anchor(self, url: QUrl) -> None:
        text = url.toString()
        if text.startswith((COPY_CODE_PREFIX, SAVE_CODE_PREFIX)):
            number = text.rpartition("/")[2]
            blocks = self.code_blocks()
            if number.isdigit() and int(number) < len(blocks):
                block = blocks[int(number)]
                if text.startswith(COPY_CODE_PREFIX):
                    self.code_copy_requested.emit(block.code)
                else:
                    self.code_save_requested.emit(block.code, block.language)
        elif text.startswith((COPY_TABLE_PREFIX, SAVE_TABLE_PREFIX)):
            number = text.rpartition("/")[2]
            tables = self.tables() if number.isdigit() else []
            if number.isdigit() and int(number) < len(tables):
                csv_text = tables[int(number)].to_csv()
                if text.startswith(COPY_TABLE_PREFIX):
                    self.table_copy_requested.emit(csv_text)
                else:
                    self.table_save_requested.emit(csv_text, int(number) + 1)
        elif text.startswith(SEEK_PREFIX):
            with contextlib.suppress(ValueError):
                self.seek_requested.emit(float(text.removeprefix(SEEK_PREFIX)))
        elif url.scheme().lower() in _EXTERNAL_SCHEMES:
            QDesktopServices.openUrl(url)

    def set_fold_height(self, height: int | None) -> None:
        """Show at most `height` pixels, clipped without a scroll bar (a folded message), or
        everything (None)."""
        self._max_height = height
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.verticalScrollBar().setValue(0)
        self._fit_height()

    def _fit_height(self, *_: object) -> None:
        height = math.ceil(self.document().size().height()) + 2 * self.frameWidth()
        if self.horizontalScrollBar().isVisible():
            height += self.horizontalScrollBar().sizeHint().height()
        if self._max_height is not None:
            height = min(height, self._max_height)
        if height != self.height() or self.minimumHeight() != height:
            self.setFixedHeight(height)


class MarkdownView(SafeTextBrowser):
    """Shows Markdown; `append`/`render_stream` re-render only the tail while streaming."""

    def __init__(self, renderer: MarkdownRenderer, parent: QWidget | None = None, *,
                 timestamps: float | None = None, max_height: int | None = None,
                 load_code_ahead: bool = False) -> None:
        """`timestamps`: for an answer about a video, its duration (times up to it link);
        `max_height`: scroll beyond this height (default: grow to fit); `load_code_ahead`:
        a render step whose code blocks need a part of Pygments not loaded yet draws nothing
        while it loads off the UI thread (see `code_loading`), so it never blocks for that."""
        super().__init__(parent, max_height=max_height)
        self._renderer = renderer
        self._load_code_ahead = load_code_ahead
        self._timestamps = timestamps
        self._source = ""
        self._stable_len = 0  # characters of source already in the document for good
        self._stable_end = -1  # document position where the stable part ends; -1: none
        self._stable_codes: list[CodeBlock] = []
        self._tail_codes: tuple[CodeBlock, ...] = ()
        self._is_markdown = False
        self._paragraph = GrowingParagraph(self.document())
        self._swapped_at = 0.0
        self._stable_tables = 0  # tables numbered in the stable part (for the tail's numbers)
        self._streaming = self._dirty = False
        self._giant_since: int | None = None  # source offset since which the tail is "giant"
        self._giant_checked = 0.0
        self._plain_tail: str | None = None  # the tail shown, when it is one plain paragraph
        self._reset_stream()

    @property
    def markdown_source(self) -> str:
        """The Markdown text shown (or queued to be shown)."""
        return self._source

    @property
    def is_markdown(self) -> bool:
        """False while the text is still shown plain (fast first paint)."""
        return self._is_markdown

    def code_blocks(self) -> list[CodeBlock]:
        return [*self._stable_codes, *self._tail_codes]

    def formula_images(self) -> FormulaImages | None:
        formulas = self._renderer.formulas
        return formulas if isinstance(formulas, FormulaImages) else None

    def _on_formulas_ready(self, urls: list[str]) -> None:
        if self._streaming:  # each swap lays text out again: at most every SWAP_EVERY_S
            self._swap_due = True  # (render_step); the growing tail gets images anyway
        else:
            super()._on_formulas_ready(urls)

    def _streaming_now(self) -> bool:
        return self._streaming

    def _positions_may_move(self) -> bool:
        # While streaming, a swap in the finished part is fine (its end is adjusted below)
        # unless the tail is a growing plain paragraph, which remembers its own positions.
        return not self._streaming or self._plain_tail is None

    def _positions_shifted(self, position: int, removed: int) -> None:
        if 0 <= position < self._stable_end:
            self._stable_end -= removed

    def tables(self) -> list[Table]:
        """Parsed from the source on demand (same parser and preset as the rendering)."""
        from app.results.tables import extract_tables

        return extract_tables(self._source) if self._is_markdown else []

    def show_plain(self, text: str) -> None:
        """Show `text` unformatted; `show_markdown()` upgrades it later."""
        self._source = text
        self._is_markdown = False
        self._reset_stream()
        self._forget_sources()
        self.setPlainText(text)

    def show_markdown(self, text: str | None = None, renderer: MarkdownRenderer | None = None
                      ) -> None:
        """Render the whole text at once (short finished messages, palette changes)."""
        if text is not None:
            self._source = text
        if renderer is not None:
            self._renderer = renderer
        rendered = self._renderer.render(self._source, timestamps=self._timestamps)
        self._reset_stream()
        self._stable_codes = list(rendered.code_blocks)
        self._is_markdown = True
        self._forget_sources()
        self.setHtml(rendered.html)
        if rendered.formulas_pending:
            self._watch_formulas()

    def begin_progressive(self, renderer: MarkdownRenderer | None = None) -> None:
        """Render the current text in bounded `render_step(final=True)` slices (long texts)."""
        if renderer is not None:
            self._renderer = renderer
        self._reset_stream()
        self._streaming = self._dirty = True

    @property
    def has_pending(self) -> bool:
        """True while `render_step()` has something to draw."""
        return self._dirty

    def append(self, text: str) -> None:
        """Add streamed text; nothing is drawn until `render_step()`."""
        if not self._streaming:  # the whole document is redrawn by the first render_step()
            self._reset_stream()
            self._streaming = True
            self._dirty = not self.document().isEmpty()
        if text:  # an empty start draws nothing (and must not build the parser for "")
            self._dirty = True
            self._source += text

    def finish_stream(self) -> None:
        """The text is complete: the next `render_step(final=True)` draws the last block for
        good (highlighted)."""
        if self._streaming:
            self._dirty = True

    def render_step(self, *, final: bool = False) -> bool:
        """Draw up to about `STEP_CHARS` more of the text; returns True while more remains.

        The height is fitted right away: Qt reports a small size change from a zero-ms timer,
        and the view would paint twice per tick (new text, then the scroll that follows it).
        """
        more = self._draw_step(final)
        if self._swap_due and self._positions_may_move() and (
                not self._streaming or time.monotonic() - self._swapped_at >= SWAP_EVERY_S):
            self._swapped_at = time.monotonic()
            self._swap_formulas()
        self._fit_height()
        return more

    def _draw_step(self, final: bool) -> bool:
        """One step of `render_step()`.

        Finished blocks are rendered once (highlighted) and appended to the document; the
        unfinished last block is re-rendered each step (unhighlighted). A last block too long
        to re-parse every step (over `GIANT_CHARS`) is shown as plain text until a blank line
        may have ended it (checked at most once a second) or the text is final.
        """
        tail = self._source[self._stable_len:]
        if self._grow_plain_tail(tail):
            if final:  # a plain paragraph is already drawn exactly as Markdown would draw it
                self._paragraph.join()
                self._stable_len = len(self._source)
                self._stable_end = self.document().characterCount() - 1
                self._plain_tail = None
                self._streaming = False
            self._dirty = False
            return False
        if not final and self._giant_since is not None:
            fresh = self._source[self._giant_since:]
            if "\n\n" not in fresh or time.monotonic() - self._giant_checked < 1.0:
                self._remove_tail()
                self._append_plain(tail)
                self._dirty = False
                return False
        size, giant = STEP_CHARS, False
        while True:
            window = _head(tail, size)
            partial = len(window) < len(tail)
            if self._load_code_ahead and self._renderer.needs_code_loading(window):
                self._dirty = True  # drawn on a later step, once loaded
                return True
            last: Rendered | None
            if final and not partial:
                finished = self._renderer.render(window, code_start=len(self._stable_codes),
                                                 table_start=self._stable_tables, cache=False,
                                                 timestamps=self._timestamps)
                cut, last = len(window), None
                break
            if (not final and self._giant_since is None and len(window) > GIANT_CHARS
                    and not self._renderer.is_plain_paragraph(window)):
                cut, giant = 0, True
                break
            cut, finished, last = self._renderer.render_split(
                window, code_start=len(self._stable_codes), table_start=self._stable_tables,
                timestamps=self._timestamps)
            if cut or not partial:
                break
            size *= 4  # one block longer than the window: widen until it is whole
        self._remove_tail()
        self._is_markdown = True
        self._giant_since = None
        self._plain_tail = None
        if cut:
            start = self.document().characterCount() - 1  # where the new text begins
            self._append_html(finished.html)
            if finished.formulas_pending:  # found now, a step's text at a time (left for the
                self._watch_formulas(start)  # first swap, a long answer's took 30 ms at once)
                self._tracked()
            self._stable_codes.extend(finished.code_blocks)
            self._stable_tables += finished.tables
            self._stable_len += cut
            self._stable_end = self.document().characterCount() - 1
        self._tail_codes = ()
        rest = tail[cut:]
        if giant:
            self._append_plain(rest)
            self._giant_since = max(self._stable_len, len(self._source) - 1)
            self._giant_checked = time.monotonic()
            partial = False
        elif rest and last is not None and not partial:
            start = self.document().characterCount() - 1  # where the new text begins
            self._append_html(last.html)
            self._tail_codes = last.code_blocks
            if last.formulas_pending:
                self._watch_formulas(start)
            if self._renderer.is_plain(rest, self._timestamps):  # times need their links
                self._plain_tail = rest.strip()
        self._dirty = partial
        if final and not partial:
            self._streaming = False
        return partial

    def _grow_plain_tail(self, tail: str) -> bool:
        """A long run of plain text (no Markdown at all) only ever grows at its end: append
        the new characters instead of redrawing the paragraph (see `GrowingParagraph`). False
        when not applicable."""
        shown = self._plain_tail
        if shown is None or len(tail) < GIANT_CHARS or not self._renderer.is_plain(
                tail, self._timestamps):
            return False
        wanted = tail.strip()
        if not wanted.startswith(shown):
            return False
        self._paragraph.append(wanted[len(shown):])
        self._plain_tail = wanted
        return True

    def _append_plain(self, text: str) -> None:
        if text:
            self._append_html(f'<p style="white-space:pre-wrap">{escape(text)}</p>')

    def _remove_tail(self) -> None:
        cursor = QTextCursor(self.document())
        self._forget_sources(max(0, self._stable_end))
        if self._stable_end < 0:
            cursor.select(QTextCursor.SelectionType.Document)
        else:
            cursor.setPosition(self._stable_end)
            cursor.movePosition(QTextCursor.MoveOperation.End, QTextCursor.MoveMode.KeepAnchor)
        cursor.removeSelectedText()
        self._paragraph.forget()

    def _reset_stream(self) -> None:
        self._stable_len = 0
        self._stable_end = -1
        self._stable_codes = []
        self._stable_tables = 0
        self._tail_codes = ()
        self._streaming = self._dirty = False
        self._giant_since = None
        self._giant_checked = 0.0
        self._plain_tail = None
        self._paragraph.forget()

    def _append_html(self, html: str) -> None:
        """Append HTML blocks at the end of the document, keeping their block formats.

        Qt merges a fragment's first block into the block at the cursor, losing its format
        (a heading or code line would become a plain paragraph). So a throwaway first block
        holding one invisible character takes that merge, and is then deleted.
        """
        if not html:
            return
        document: QTextDocument = self.document()
        cursor = QTextCursor(document)
        cursor.movePosition(QTextCursor.MoveOperation.End)
        if document.isEmpty():
            cursor.insertFragment(QTextDocumentFragment.fromHtml(html))
            return
        start = cursor.position()
        cursor.insertFragment(QTextDocumentFragment.fromHtml(f"<p>{_SENTINEL}</p>{html}"))
        cursor.setPosition(start)
        cursor.setPosition(start + 1, QTextCursor.MoveMode.KeepAnchor)
        if cursor.selectedText() == _SENTINEL:
            cursor.removeSelectedText()


def theme_from_palette(palette: QPalette, font: QFont | None = None) -> RenderTheme:
    """Colours for rendered Markdown, from the system palette (light or dark), and the text
    size formulas match (from `font`, by default the application's)."""
    role = QPalette.ColorRole
    font = font if font is not None else QGuiApplication.font()
    return RenderTheme(
        dark=palette.color(role.Base).lightnessF() < 0.5,
        border=palette.color(role.Mid).name(),
        muted=palette.color(role.PlaceholderText).name(),
        inline_code_bg=palette.color(role.AlternateBase).name(),
        link=palette.color(role.Link).name(),
        text=palette.color(role.Text).name(),
        font_px=float(QFontInfo(font).pixelSize()),
        x_height=QFontMetricsF(font).xHeight(),
    )
