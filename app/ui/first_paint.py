"""Run Qt's own event loop until a shown window has painted once, before asyncio exists.

Why: asyncio, its ssl/socket/subprocess imports and the qasync loop cost about a fifth of a
bare Qt window's whole start (~35 ms), and nothing on an empty window's first paint needs
them. So the composition root shows the real window, lets Qt deliver its expose and paint
here, and only then imports asyncio and starts the qasync loop that runs everything else.

Only the window system's events are handled meanwhile: user input and socket notifiers
(another `stepdesk FILE` knocking on the single-instance socket) wait for the real loop, as
Qt keeps them, not drops them. A close asked for meanwhile (the window manager's close
button) is held and asked again once the real loop runs, because the window's shutdown is a
coroutine. Timers and posted events do run: nothing the window starts before its first paint
needs asyncio (macOS "Open With" gathers its files for 150 ms first, longer than this loop
lasts unless the window is never exposed). A window that is never exposed (started
minimised, on another workspace) stops waiting after `limit_ms`.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QEventLoop, QObject, QTimer
from PySide6.QtWidgets import QWidget

LIMIT_MS = 500
"""How long to wait for an expose that may never come before starting the real loop (which
then paints the window whenever it is exposed, as before): short, because the services wait
and so does a second `stepdesk FILE` knocking meanwhile."""


class _FirstPaint(QObject):
    """Ends `loop` on `window`'s first Paint; holds a Close that arrives before it."""

    def __init__(self, window: QWidget, loop: QEventLoop) -> None:
        super().__init__()
        self._window = window
        self._loop = loop
        self.done = False
        self.close_held = False

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        # Installed until the loop has returned: a close asked for by the paint itself (a
        # zero-timer it starts) is held too, whichever pass of the loop delivers it.
        if watched is self._window:
            if event.type() == QEvent.Type.Paint:
                self._end()  # the paint itself still happens: the event goes on
            elif event.type() == QEvent.Type.Close:
                event.ignore()  # the window stays open until the close is asked again
                self.close_held = True
                self._end()
                return True
        return False

    def _end(self) -> None:
        self.done = True
        self._loop.quit()


def paint_first(window: QWidget, limit_ms: int = LIMIT_MS) -> None:
    """Show `window` and return once it has painted (or `limit_ms` passed)."""
    loop = QEventLoop()
    watcher = _FirstPaint(window, loop)
    window.installEventFilter(watcher)
    limit = QTimer(singleShot=True, interval=limit_ms)
    limit.timeout.connect(loop.quit)
    limit.start()
    window.show()
    if not watcher.done:  # a platform may paint inside show()
        loop.exec(QEventLoop.ProcessEventsFlag.ExcludeUserInputEvents
                  | QEventLoop.ProcessEventsFlag.ExcludeSocketNotifiers)
    limit.stop()
    window.removeEventFilter(watcher)
    if watcher.close_held:
        QTimer.singleShot(0, window.close)  # runs in the real loop, which starts next
