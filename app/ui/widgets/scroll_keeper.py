"""Keeps a scroll area's view still while content above it changes size.

Widgets above the viewport grow when their Markdown replaces the plain first paint, pages of
older messages are inserted on top, and far pages are dropped: without help the visible text
would jump. The keeper remembers the first visible widget and its offset whenever the user
scrolls, and puts it back after every relayout; when the user is at the bottom it keeps the
view pinned there instead, so a streaming reply is followed.
"""

from __future__ import annotations

from PySide6.QtWidgets import QBoxLayout, QScrollArea, QWidget


class ScrollKeeper:
    """Anchor bookkeeping for one scroll area whose content is a box layout of widgets."""

    def __init__(self, scroll: QScrollArea, layout: QBoxLayout) -> None:
        self._scroll = scroll
        self._layout = layout
        self._anchor: tuple[QWidget, int] | None = None
        self._adjusting = False
        self.stick_to_bottom = True

    @property
    def adjusting(self) -> bool:
        """True while the keeper itself moves the scroll bar (ignore those value changes)."""
        return self._adjusting

    def user_scrolled(self, at_true_end: bool) -> None:
        """The user moved the view: pin to the bottom if there, else remember the anchor.

        `at_true_end` says whether the last widget shown is the conversation's last one.
        """
        bar = self._scroll.verticalScrollBar()
        self.stick_to_bottom = at_true_end and bar.value() >= bar.maximum() - 4
        value = bar.value()
        self._anchor = None
        for i in range(self._layout.count()):
            item = self._layout.itemAt(i)
            widget = item.widget() if item is not None else None
            if widget is not None and widget.y() + widget.height() > value:
                self._anchor = (widget, widget.y() - value)
                return

    def forget(self, widget: QWidget | None = None) -> None:
        """Drop the anchor (all of it, or only if it is `widget`, which is going away)."""
        if widget is None or (self._anchor is not None and self._anchor[0] is widget):
            self._anchor = None

    def restore(self) -> None:
        """After a relayout: back to the bottom, or the anchor back where it was."""
        if self._adjusting:  # activate() below can resize, which lands here again
            return
        bar = self._scroll.verticalScrollBar()
        self._adjusting = True
        try:
            self._layout.activate()
            if self.stick_to_bottom:
                bar.setValue(bar.maximum())
            elif self._anchor is not None:
                widget, offset = self._anchor
                bar.setValue(widget.y() - offset)
        finally:
            self._adjusting = False
