"""`SyncController`: the sync schedule, Settings → Sync, "Restore from…" and sync on quit.

One task slot runs a sync or a restore, never both. A failure never stops the schedule, and
its sentence stays shown (with how often and since when it failed) until a sync succeeds, so a
backup cannot stop silently. The timer is injected (a QTimer by default), so tests drive the
schedule tick by tick. The page and the dialog are forms; every save, sync, listing and
restore runs here, through the Qt-free `app.sync.runner.SyncSetup`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol

from PySide6.QtCore import QObject, QTimer, Signal, SignalInstance
from shiboken6 import isValid

from app.options import OptionError
from app.store import StoreError
from app.sync.engine import SyncReport
from app.sync.errors import SyncError

if TYPE_CHECKING:
    from app.sync.layout import SnapshotEntry
    from app.sync.runner import SyncChoice, SyncSetup
    from app.ui.dialogs.restore import RestoreDialog
    from app.ui.dialogs.settings import SettingsDialog
    from app.ui.dialogs.sync_settings import SyncPage

log = logging.getLogger(__name__)
QUIT_SYNC_TIMEOUT_S = 8.0
"""The longest a sync on quit may hold the window open; cut short, it leaves the previous
state whole on the target (every write is a temp name and a move) and the next sync resumes."""


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
                 setup: SyncSetup | None = None,
                 after_restore: Callable[[], Awaitable[None]] | None = None,
                 after_merge: Callable[[], Awaitable[None]] | None = None,
                 timer: Ticker | None = None,
                 clock: Callable[[], float] = time.time,
                 quit_timeout_s: float = QUIT_SYNC_TIMEOUT_S,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._run_sync = run_sync
        self.setup = setup
        self._after_restore = after_restore  # show the restored history
        self._after_merge = after_merge  # list what other devices added (merges report none)
        self._quit_timeout_s = quit_timeout_s
        self._jobs: set[asyncio.Task[object]] = set()
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
        self._hold(asyncio.ensure_future(self._sync()))

    def _hold(self, task: asyncio.Task[None]) -> None:
        """The one task slot; emptied when the task ends, so a finished task (its exception's
        traceback holds this controller's frames) never ties the two into a cycle."""
        self._task = task
        task.add_done_callback(self._release)

    def _release(self, task: asyncio.Task[None]) -> None:
        if self._task is task:
            self._task = None

    async def wait(self) -> None:
        """Until the running sync, if any, has finished (tests; quitting)."""
        if self._task is not None:
            await asyncio.shield(self._task)

    async def sync_on_quit(self, timeout: float) -> None:
        """One last sync at quit, bounded by `timeout` seconds (said in the log)."""
        self.sync_now()
        if self._task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout)
        except TimeoutError:
            log.warning("sync on quit cut short after %.1f s; the next sync resumes", timeout)
            await self._cancel()
            return
        (log.warning if self.failing else log.info)(
            "sync on quit: %s", self.status_text or "no target")

    async def then(self, shutdown: Callable[[], Awaitable[None]] | None) -> None:
        """At quit: one bounded sync when "sync on quit" is on and a target is set (else the
        running sync, if any, is cancelled), then the window's `shutdown`."""
        self._timer.stop()
        setup = self.setup
        if setup is not None and setup.on_quit and setup.target:
            await self.sync_on_quit(self._quit_timeout_s)
        else:
            await self._cancel()
        for job in list(self._jobs):
            job.cancel()
        if shutdown is not None:
            await shutdown()

    async def _cancel(self) -> None:
        task = self._task
        if task is not None and not task.done():
            task.cancel()
            await asyncio.wait([task], timeout=1.0)

    # --- Settings → Sync -------------------------------------------------------------------
    def add_settings_page(self, dialog: SettingsDialog) -> SyncPage:
        """Put the Sync page in an opening Settings dialog and act on it."""
        from app.ui.dialogs.sync_settings import SyncPage

        setup = self._need_setup()
        page = SyncPage(setup.target, setup.interval_minutes, setup.on_quit)
        if self.status_text:
            page.show_result(self.status_text, self.failing)
        dialog.add_page(page, "S&ync")
        dialog.add_check(page.problem)
        self.statusChanged.connect(page.show_result)
        page.sync_requested.connect(partial(self._spawn_from, page, self._save_and_sync))
        page.restore_requested.connect(partial(self._spawn_from, page, self._save_and_restore))
        dialog.accepted.connect(partial(self._save_page, page))
        self._spawn(self._show_secrets(page))
        return page

    def _need_setup(self) -> SyncSetup:
        if self.setup is None:
            raise RuntimeError("the Sync page needs a SyncSetup")
        return self.setup

    def _spawn(self, coro: Coroutine[Any, Any, object]) -> asyncio.Task[object]:
        task = asyncio.ensure_future(coro)
        self._jobs.add(task)
        task.add_done_callback(self._jobs.discard)
        return task

    def _spawn_from(self, page: SyncPage,
                    work: Callable[[SyncPage, SyncChoice], Coroutine[Any, Any, None]],
                    choice: SyncChoice) -> None:
        self._spawn(work(page, choice))

    async def _show_secrets(self, page: SyncPage) -> None:
        known, problem, in_file = await self._need_setup().secrets()
        if isValid(page):  # the dialog may have closed while the keychain was asked
            page.set_secrets(known, problem, in_file=in_file)

    def _save_page(self, page: SyncPage) -> None:
        """OK: the dialog is closing, so a refusal goes to the status bar."""
        self._spawn(self._save(None, page.choice()))

    async def _save(self, page: SyncPage | None, choice: SyncChoice) -> bool:
        """Keep the page's values; a refused one is one sentence on the page (and in the
        status bar when the page is gone with its dialog)."""
        try:
            await self._need_setup().save(choice)
        except (SyncError, OptionError, StoreError) as exc:
            page = page if page is not None and isValid(page) else None
            text = exc.message if isinstance(exc, (SyncError, StoreError)) else str(exc)
            if page is not None:
                page.show_problem(text)
            else:
                self._show(f"Sync settings not saved: {text}", failing=True)
            return False
        if page is not None and isValid(page):
            page.saved()
            page.show_problem(None)
            if choice.passphrase or choice.webdav_user or choice.webdav_password:
                self._spawn(self._show_secrets(page))
        setup = self._need_setup()
        self.set_interval(setup.interval_minutes if setup.target else 0)
        if not setup.target:
            self._show("", failing=False)
        return True

    async def _save_and_sync(self, page: SyncPage, choice: SyncChoice) -> None:
        if await self._save(page, choice):
            self.sync_now()
            await self.wait()

    # --- Restore from… ---------------------------------------------------------------------
    async def _save_and_restore(self, page: SyncPage, choice: SyncChoice) -> None:
        if await self._save(page, choice) and isValid(page):
            self.open_restore(page)

    def open_restore(self, parent: QObject | None = None) -> RestoreDialog:
        """Open "Restore from…" over `parent` and list the target's snapshots."""
        from PySide6.QtWidgets import QWidget

        from app.ui.dialogs.restore import RestoreDialog

        setup = self._need_setup()
        dialog = RestoreDialog(setup.target or "", parent if isinstance(parent, QWidget)
                               else None)
        dialog.restore_requested.connect(partial(self._restore_from, dialog))
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()
        self._spawn(self._list(dialog))
        return dialog

    async def _list(self, dialog: RestoreDialog) -> None:
        try:
            listing = await self._need_setup().snapshots()
        except (SyncError, StoreError) as exc:
            if isValid(dialog):
                dialog.show_status(exc.message, failing=True)
            return
        if isValid(dialog):
            dialog.set_listing(listing)

    def _restore_from(self, dialog: RestoreDialog, entry: SnapshotEntry) -> None:
        if self._task is not None and not self._task.done():
            dialog.show_status("A sync is running; restore when it has finished.",
                               failing=True)
            return
        self._hold(asyncio.ensure_future(self._restore(dialog, entry)))

    async def _restore(self, dialog: RestoreDialog, entry: SnapshotEntry) -> None:
        from app.ui.dialogs.restore import when

        try:
            done = await self._need_setup().restore(entry)
        except (SyncError, StoreError) as exc:
            said = "nothing was changed" in exc.message.lower()
            if isValid(dialog):
                dialog.show_status(exc.message if said else
                                   f"{exc.message} The history here is unchanged.",
                                   failing=True)
            return
        text = (f"Restored the snapshot of {entry.device_name} from "
                f"{when(entry.written_at)} ({done.blobs_down} media files fetched); the "
                f"previous history was saved to {done.saved.name}.")
        if done.older:
            text += " It was older than the history that was here."
        log.info("%s", text)
        if isValid(dialog):
            dialog.show_status(text)
        self._show(text, failing=False)  # also in the status bar: the dialog may be closed
        if self._after_restore is not None:
            await self._after_restore()

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
        if report.changes and self._after_merge is not None:
            await self._after_merge()
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
