"""`SyncController`: the sync schedule and its one running task, as status-bar text.

A failure never stops the schedule, and its sentence stays shown (with how often and since
when it failed) until a sync succeeds, so a backup cannot stop silently. The timer is
injected (a QTimer by default), so tests drive the schedule tick by tick.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

from PySide6.QtCore import QObject, QTimer, Signal, SignalInstance

from app.sync.engine import SyncReport
from app.sync.errors import SyncError

log = logging.getLogger(__name__)


class Ticker(Protocol):
    """What the controller needs of a QTimer."""

    @property
    def timeout(self) -> SignalInstance: ...

    def start(self, msec: int) -> None: ...

    def stop(self) -> None: ...

    def isActive(self) -> bool: ...


class SyncController(QObject):
    """Runs `run_sync` every N minutes and on request.

    Signals:
        statusChanged(str, bool): the status-bar sentence, and whether it reports a failure.
    """

    statusChanged = Signal(str, bool)

    def __init__(self, run_sync: Callable[[], Awaitable[SyncReport | None]], *,
                 timer: Ticker | None = None, clock: Callable[[], float] = time.time,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._run_sync = run_sync
        self._clock = clock
        self._timer: Ticker = timer if timer is not None else QTimer(self)
        self._timer.timeout.connect(self.sync_now)
        self._task: asyncio.Task[None] | None = None
        self._failures = 0
        self._failing_since: float | None = None
        self.status_text = ""
        self.failing = False

    @property
    def scheduled(self) -> bool:
        return self._timer.isActive()

    def set_interval(self, minutes: int) -> None:
        """Sync every `minutes` (0: only on request and on quit)."""
        if minutes > 0:
            self._timer.start(minutes * 60_000)
        else:
            self._timer.stop()

    def sync_now(self) -> None:
        """Start a sync unless one is running (a tick during a slow sync is skipped)."""
        if self._task is not None and not self._task.done():
            return
        self._task = asyncio.ensure_future(self._sync())

    async def wait(self) -> None:
        """Until the running sync, if any, has finished (tests; quitting)."""
        if self._task is not None:
            await asyncio.shield(self._task)

    async def sync_on_quit(self, timeout: float) -> None:
        """One last sync at quit, bounded by `timeout` seconds."""
        self.sync_now()
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), timeout)
            except TimeoutError:
                self._task.cancel()

    async def _sync(self) -> None:
        try:
            report = await self._run_sync()
        except SyncError as exc:
            self._failed(exc.message)
            return
        except Exception as exc:  # a bug must not end the schedule unseen either
            log.exception("sync failed unexpectedly")
            self._failed(f"Sync stopped with an internal error ({type(exc).__name__}); "
                         "see the log.")
            return
        if report is None:
            self._show("", failing=False)
            return
        self._failures, self._failing_since = 0, None
        text = f"Synced at {self._hhmm(self._clock())}"
        if report.problems:
            text += f"; {len(report.problems)} file(s) skipped: {report.problems[0]}"
        self._show(text, failing=bool(report.problems))

    def _failed(self, message: str) -> None:
        self._failures += 1
        if self._failing_since is None:
            self._failing_since = self._clock()
        if self._failures == 1:
            text = f"Sync failed: {message}"
        else:
            text = (f"Sync failing since {self._hhmm(self._failing_since)} "
                    f"({self._failures} attempts): {message}")
        self._show(text, failing=True)

    def _show(self, text: str, *, failing: bool) -> None:
        self.status_text, self.failing = text, failing
        self.statusChanged.emit(text, failing)

    @staticmethod
    def _hhmm(when: float) -> str:
        return time.strftime("%H:%M", time.localtime(when))
