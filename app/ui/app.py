"""The composition root: QApplication, single instance, qasync loop, window, services,
controllers.

Order matters for start-up time: the window is built from widgets only and shown before the
event loop opens the store, the HTTP client, Pillow or Markdown (`start`).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import sys
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

os.environ.setdefault("QT_API", "pyside6")  # qasync picks the binding itself otherwise

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from app.ui.platform.file_open import install_file_open
from app.ui.platform.source_scan import keep_sources_out_of_linecache

if TYPE_CHECKING:
    from app.services import Services
    from app.ui.background import Background
    from app.ui.controllers.attachments import AttachmentController
    from app.ui.controllers.conversations import ConversationsController
    from app.ui.controllers.library import Library
    from app.ui.controllers.sync import SyncController
    from app.ui.controllers.templates import TemplatesController
    from app.ui.main_window import MainWindow

keep_sources_out_of_linecache()  # before the rest of the app is imported: see the module


def make_application() -> QApplication:
    """The one QApplication (re-used when a test or benchmark made it already)."""
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        app = existing
    else:
        QApplication.setHighDpiScaleFactorRoundingPolicy(
            Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
        app = QApplication(sys.argv[:1])
    app.setApplicationName("Step Desk")
    app.setApplicationDisplayName("Step Desk")
    app.setOrganizationName("stepdesk")
    app.setDesktopFileName("stepdesk")
    app.setQuitOnLastWindowClosed(False)  # the window's own shutdown ends the loop
    return app


def make_loop(app: QApplication) -> asyncio.AbstractEventLoop:
    """A qasync loop that also finalizes abandoned async generators, as asyncio's own does.

    qasync's `run_forever` replaces asyncio's and skips `sys.set_asyncgen_hooks`, so an async
    generator left un-closed (an HTTP stream after `break`) would be closed by the garbage
    collector without a loop, and its `await` in `finally` would fail. These hooks are the
    public `sys` ones: a generator's first step is remembered (weakly), a collected one is
    closed on the loop, and `shutdown_asyncgens` (called by `asyncio.Runner` at exit) closes
    the rest. The turn's own generators are closed explicitly (`contextlib.aclosing`).
    """
    import weakref

    import qasync

    class StepDeskLoop(qasync.QEventLoop):
        def __init__(self, application: QApplication) -> None:
            super().__init__(application)
            self._open_generators: weakref.WeakSet[AsyncGenerator[object, None]] = (
                weakref.WeakSet())

        def run_forever(self) -> None:
            old = sys.get_asyncgen_hooks()
            sys.set_asyncgen_hooks(firstiter=self._open_generators.add,
                                   finalizer=self._finalize)
            try:
                return super().run_forever()
            finally:
                sys.set_asyncgen_hooks(*old)

        def _finalize(self, generator: AsyncGenerator[object, None]) -> None:
            if not self.is_closed():
                self.call_soon_threadsafe(self.create_task, generator.aclose())

        async def shutdown_asyncgens(self) -> None:
            generators = list(self._open_generators)
            self._open_generators.clear()
            for generator in generators:
                try:
                    await generator.aclose()
                except Exception:  # as asyncio's own: said, and the others still closed
                    logging.getLogger(__name__).exception("an async generator failed to close")

    return StepDeskLoop(app)


def build_window(data_dir: Path) -> MainWindow:
    """The window and what it needs before the services open: widgets, the task set and the
    attachments controller (files given on the command line start preparing at once)."""
    from app.ui.controllers.attachments import AttachmentController
    from app.ui.controllers.tasks import TaskSet
    from app.ui.main_window import MainWindow

    tasks = TaskSet()
    attachments = AttachmentController(tasks)
    window = MainWindow(data_dir, tasks, attachments)
    attachments.setParent(window)
    return window


def run_gui(files: Sequence[Path] = (), env: Mapping[str, str] | None = None,
            command: tuple[str, dict[str, str]] | None = None) -> int:
    """`stepdesk [FILE…]` or `stepdesk capture …`: hand over to a running instance, or start
    one (for a command: in the background, the window hidden). Returns the exit code."""
    from app.config import resolve_paths
    from app.ui.platform.single_instance import (
        SingleInstanceServer,
        send_message,
        send_to_running,
        server_name,
    )

    env = dict(os.environ) if env is None else env
    paths = resolve_paths(env)
    paths.data_dir.mkdir(parents=True, exist_ok=True)
    app = make_application()
    name = server_name(paths.data_dir)
    if command is not None and send_message(name, {command[0]: command[1]}):
        print("stepdesk: sent to the running Step Desk", file=sys.stderr)
        return 0
    if command is None and send_to_running(name, list(files)):
        print("stepdesk: sent to the open Step Desk window", file=sys.stderr)
        return 0

    window = build_window(paths.data_dir)
    server = SingleInstanceServer(name, window)
    if not server.listen():
        print(f"stepdesk: could not listen for other invocations ({name})", file=sys.stderr)
    server.files_received.connect(window.receive_files)
    install_file_open(app, window.receive_files)  # macOS "Open with" (QFileOpenEvent)
    app.setWindowIcon(window.windowIcon())
    built: list[Background] = []

    def background() -> Background:
        """Tray, capture and quick ask: built after the first paint, which does not need
        them (their imports cost a tenth of a second), or at once for a command."""
        from app.ui.background import Background

        if not built:
            built.append(Background(window))
            server.command_received.connect(built[0].capture.command)
        return built[0]

    if command is None:
        window.show()
    else:
        window.ready.connect(partial(background().capture.command, *command))
    try:
        with asyncio.Runner(loop_factory=partial(make_loop, app)) as runner:
            return runner.run(run_window(window, env, list(files), background))
    finally:
        for service in built:
            service.close()
        server.close()


async def run_window(window: MainWindow, env: Mapping[str, str], files: list[Path],
                     background: Callable[[], Background] | None = None) -> int:
    """Drive a window until its shutdown has finished (it emits `closed`)."""
    done = asyncio.Event()
    window.closed.connect(done.set)
    # Everything alive once start-up is done lives for the session: keep it out of the
    # collector's full passes, which otherwise stall streaming by 20–30 ms (bench_ui_stream).
    window.ready.connect(gc.freeze)
    window.tasks.spawn(start(window, env, files, background), "start")
    await done.wait()
    return 0


async def start(window: MainWindow, env: Mapping[str, str], files: list[Path],
                background: Callable[[], Background] | None = None) -> None:
    """The composition root: after the first paint, open the services, build the controllers,
    hand them to the window, show the last conversation, then find the key and connect."""
    from app.ui.controllers.compare import CompareController
    from app.ui.controllers.conversations import ConversationsController
    from app.ui.controllers.image_edits import SentImageEdits
    from app.ui.controllers.library import Library
    from app.ui.controllers.session import Controllers, shut_down
    from app.ui.controllers.settings import SettingsController
    from app.ui.controllers.templates import TemplatesController
    from app.ui.controllers.turns import TurnController
    from app.ui.main_window import SHUTDOWN_BUDGET_S

    tasks, attachments = window.tasks, window.attachments
    if files:
        attachments.add_paths(files)
    await asyncio.sleep(0)  # one loop turn: the first paint happens before the store opens
    service = background() if background is not None else None
    services = await open_services(env, window)
    if services is None:
        return
    library = Library(services)
    turns = TurnController(library.engine, window)
    conversations = ConversationsController(library, turns, attachments, tasks, window)
    settings = SettingsController(library, tasks, window)
    templates = TemplatesController(library, window)
    image_edits = SentImageEdits(library, turns, tasks, window)
    compare = CompareController(library.comparer, partial(_template_effort, templates), window,
                                comparisons=library.comparisons)
    controllers = Controllers(tasks=tasks, attachments=attachments, turns=turns,
                              conversations=conversations, settings=settings,
                              templates=templates, image_edits=image_edits, compare=compare)
    settings.applied.connect(partial(_attachment_context, attachments, library))
    window.on_shutdown = partial(shut_down, controllers, library, SHUTDOWN_BUDGET_S)
    window.use(controllers)
    if service is not None:
        service.use(controllers, library)
    settings.announce()
    await conversations.load_list()
    await templates.refresh()
    await conversations.show_last()
    await window.view.wait_idle(1.0)  # the first page is drawn before httpx/keyring load
    await library.connect(env)
    settings.update_key_state()
    sync = await _start_sync(services, env, window, conversations)
    window.on_shutdown = partial(sync.then, window.on_shutdown)  # sync on quit, then close
    window.ready.emit()


async def _start_sync(services: Services, env: Mapping[str, str], window: MainWindow,
                      conversations: ConversationsController) -> SyncController:
    """Settings → Sync and "Restore from…"; the schedule when a target is set."""
    from app.sync.runner import SyncSetup
    from app.ui.controllers.sync import QUIT_SYNC_TIMEOUT_S, SyncController

    setup = SyncSetup(services, env)
    controller = SyncController(setup.sync, setup=setup, after_restore=conversations.show_last,
                                after_merge=conversations.load_list, parent=window)
    controller.statusChanged.connect(window.show_sync_status)
    window.settings_opened.connect(controller.add_settings_page)
    window.restore_requested.connect(partial(controller.open_restore, window))
    window.quit_work_s = QUIT_SYNC_TIMEOUT_S + 1  # what sync on quit may add to the shutdown
    if setup.target:
        controller.set_interval(setup.interval_minutes)
        controller.sync_now()
    return controller


async def _template_effort(templates: TemplatesController, slug: str, effort: str) -> None:
    """"Use <effort> for this template", then the picker and drop targets show it."""
    await templates.catalogue().set_effort(slug, effort)
    await templates.refresh()


def _attachment_context(attachments: AttachmentController, library: Library,
                        _settings: object) -> None:
    attachments.set_context(library.work_dir, library.proxy_for)


async def open_services(env: Mapping[str, str], window: MainWindow) -> Services | None:
    """Open the store and resolve the settings; None (with a banner) when that fails."""
    from app.config import ConfigError
    from app.services import open_core
    from app.store import StoreError

    try:
        return await open_core(env)
    except (StoreError, ConfigError, OSError) as exc:
        window.show_startup_error(f"Step Desk could not open its data: {exc}")
        return None
