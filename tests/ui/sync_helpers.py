"""Shared pieces of the window's sync tests: a fake timer, a real data folder with its
services, and the Settings dialog with its Sync page, built as the window builds them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from app.services import Services, open_core
from app.sync.runner import SyncSetup
from app.ui.controllers.sync import SyncController
from app.ui.dialogs.settings import SettingsDialog
from app.ui.dialogs.sync_settings import SyncPage
from tests.sync.davserver import DavServer


class FakeTimer(QObject):
    """A timer that fires when the test says so (qutebrowser's FakeTimer idea)."""

    timeout = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.interval: int | None = None

    def start(self, msec: int) -> None:
        self.interval = msec

    def stop(self) -> None:
        self.interval = None

    def isActive(self) -> bool:
        return self.interval is not None

    def fire(self) -> None:
        self.timeout.emit()


@dataclass
class SyncUi:
    services: Services
    setup: SyncSetup
    controller: SyncController
    timer: FakeTimer

    def open_page(self) -> tuple[SettingsDialog, SyncPage]:
        """The Settings dialog as the window opens it, with the Sync page added."""
        dialog = SettingsDialog(self.services.settings, "none", None, [])
        page = self.controller.add_settings_page(dialog)
        dialog.open()
        dialog.tabs.setCurrentWidget(page)
        return dialog, page

    async def close(self) -> None:
        await self.services.aclose()


async def open_ui(data_dir: Path, env: dict[str, str] | None = None,
                  quit_timeout_s: float = 8.0) -> SyncUi:
    env = {"STEPDESK_DATA_DIR": str(data_dir), **(env or {})}
    services = await open_core(env)
    setup = SyncSetup(services, env)
    timer = FakeTimer()
    controller = SyncController(setup.sync, setup=setup, timer=timer,
                                quit_timeout_s=quit_timeout_s)
    return SyncUi(services, setup, controller, timer)


@contextmanager
def dav_server(root: Path) -> Iterator[DavServer]:
    server = DavServer(root)
    server.start()
    try:
        yield server
    finally:
        server.stop()
