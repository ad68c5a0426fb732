"""A plain paragraph at the end of a QTextDocument that grows while a reply streams.

Why not just insert into one block: Qt lays out a whole block again on every change, so a
60 KB paragraph growing at 30 Hz costs O(n) per tick (about 12 ms at 60 KB) and O(n²) over
the stream. Instead the growing paragraph is kept as a run of blocks, each cut at the start
of a wrapped line with the margins between them zeroed: Qt breaks lines greedily, so the
lines above a cut are exactly those of the whole paragraph and the run looks the same, while
a tick only lays out the short last block. The run's blocks keep their shaped glyphs
(Qt drops them after layout by default), so the paint of every tick does not shape the
visible lines again. `join()` turns the run back into the one block a
full render would give (text, format and selection behaviour), once, when the text is final.
"""

from __future__ import annotations

from PySide6.QtGui import QTextBlock, QTextBlockFormat, QTextCursor, QTextDocument

BLOCK_CHARS = 2_000
"""The last block is cut once it is longer than this (layout cost per tick ~0.2 µs/char)."""


class GrowingParagraph:
    """Appends text to the document's last block, cutting it into line-aligned blocks."""

    def __init__(self, document: QTextDocument) -> None:
        self._document = document
        self._seams: list[int] = []  # positions where a continuation block starts
        self._format: QTextBlockFormat | None = None  # the paragraph's own format

    def append(self, text: str) -> None:
        """Add `text` at the end of the document (the paragraph's last block)."""
        cursor = QTextCursor(self._document)
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.insertText(text)
        block = self._document.lastBlock()
        block.layout().setCacheEnabled(True)  # painted at every tick: keep its shaped glyphs
        if block.length() > BLOCK_CHARS:
            self._cut(block)

    def join(self) -> None:
        """Merge the run back into one block with the paragraph's format (one layout)."""
        if not self._seams or self._format is None:
            self.forget()
            return
        cursor = QTextCursor(self._document)
        cursor.setPosition(self._seams[0] - 1)
        cursor.block().layout().setCacheEnabled(False)  # final: no need to keep the glyphs
        cursor.beginEditBlock()
        for seam in reversed(self._seams):  # from the end, so earlier positions stay valid
            cursor.setPosition(seam - 1)
            cursor.deleteChar()  # the block separator before the continuation block
        cursor.setBlockFormat(self._format)
        cursor.endEditBlock()
        self.forget()

    def forget(self) -> None:
        """The run was removed or is final: drop the bookkeeping."""
        self._seams.clear()
        self._format = None

    def _cut(self, block: QTextBlock) -> None:
        """Start a new block where the last wrapped line of `block` starts."""
        self._document.documentLayout().blockBoundingRect(block)  # make sure it is laid out
        layout = block.layout()
        if layout is None or layout.lineCount() < 2:
            return
        start = block.position() + layout.lineAt(layout.lineCount() - 1).textStart()
        if self._format is None:
            self._format = block.blockFormat()
        above, below = QTextBlockFormat(block.blockFormat()), QTextBlockFormat(self._format)
        above.setBottomMargin(0)
        below.setTopMargin(0)
        cursor = QTextCursor(block)
        cursor.beginEditBlock()
        cursor.setBlockFormat(above)
        cursor.setPosition(start)
        cursor.insertBlock(below)
        cursor.endEditBlock()
        self._seams.append(start + 1)
