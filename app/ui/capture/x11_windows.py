"""The X11 window stack through python-xlib: where other apps' windows are, and unmap events.

Qt can tell where *its own* windows are, not other clients'. The window picker needs the
stack (topmost first) with each client's inner rectangle (without the window manager's
frame), in native X pixels; the hide-before-grab step needs to know when the server has
really unmapped our windows. Both use a private python-xlib connection, never Qt's.
"""

from __future__ import annotations

import os
import select
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QRect
from PySide6.QtGui import QGuiApplication


def available() -> bool:
    """True on an X11 session where python-xlib can be used."""
    if QGuiApplication.platformName() != "xcb" or not os.environ.get("DISPLAY"):
        return False
    try:
        import Xlib.display  # noqa: F401
    except ImportError:
        return False
    return True


@dataclass(frozen=True)
class StackedWindow:
    """A mapped top-level window of another client: its id and inner rect (native pixels)."""

    xid: int
    rect: QRect


def _client_of(display: Any, frame: Any) -> Any:  # python-xlib has no types
    """The client window inside a window manager's frame (the one with WM_STATE)."""
    wm_state = display.intern_atom("WM_STATE")
    todo = [frame]
    while todo:
        win = todo.pop(0)
        if win.get_full_property(wm_state, 0) is not None:
            return win
        todo.extend(win.query_tree().children)
    return frame


def window_stack(exclude: Sequence[int] = ()) -> list[StackedWindow]:
    """Mapped top-level windows, topmost first, with their client area in native pixels."""
    from Xlib import X, error
    from Xlib.display import Display

    display = Display()
    try:
        root = display.screen().root
        found = []
        for frame in reversed(root.query_tree().children):  # the server lists bottom-to-top
            try:
                if frame.get_attributes().map_state != X.IsViewable or frame.id in exclude:
                    continue
                client = _client_of(display, frame)
                if client.id in exclude:
                    continue
                geo = client.get_geometry()
                at = client.translate_coords(root, 0, 0)
                found.append(StackedWindow(client.id, QRect(-at.x, -at.y, geo.width, geo.height)))
            except error.XError:  # the window went away while we looked
                continue
        return found
    finally:
        display.close()


def _top_level(display: Any, xid: int) -> Any:
    """The root's child containing window `xid` (its frame under a reparenting WM)."""
    win = display.create_resource_object("window", xid)
    root = display.screen().root
    while True:
        parent = win.query_tree().parent
        if parent is None or parent.id == root.id or parent.id == 0:
            return win
        win = parent


class UnmapWatcher:
    """Waits for the X server to unmap (or destroy) the frames around given windows.

    Built *before* the windows are hidden, so no event can be missed; `wait` runs in a
    worker thread (it only reads its own connection).
    """

    def __init__(self, xids: Sequence[int]) -> None:
        from Xlib import X
        from Xlib.display import Display

        self._display = Display()
        self._pending: set[int] = set()
        from Xlib import error

        for xid in xids:
            try:
                top = _top_level(self._display, xid)
                if top.get_attributes().map_state != X.IsViewable:
                    continue
                top.change_attributes(event_mask=X.StructureNotifyMask)
            except error.XError:  # gone already, or not ours to watch: nothing to wait for
                continue
            self._pending.add(top.id)
        self._display.sync()

    def wait(self, timeout: float) -> bool:
        """Block until every watched frame is unmapped; False on timeout."""
        from Xlib import X

        deadline = time.monotonic() + timeout
        while self._pending:
            while self._display.pending_events():
                event = self._display.next_event()
                if event.type in (X.UnmapNotify, X.DestroyNotify):
                    self._pending.discard(event.window.id)
            if not self._pending:
                break
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            select.select([self._display.fileno()], [], [], left)
        return True

    def close(self) -> None:
        self._display.close()
