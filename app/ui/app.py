"""The composition root: QApplication, single instance, qasync loop, window, services,
controllers.

Order matters for start-up time: the window is built from widgets only and painted before
asyncio and the qasync loop are imported (`first_paint`), and before that loop opens the
store, the HTTP client, Pillow or Markdown (`start`). Started in the background
(`stepdesk capture …` with none running) the graph is built in stages (`BackgroundStart`):
tray, shortcuts and picker now, the panel when it opens, the window when it is asked for.
"""

from __future__ import annotations

import gc
import logging
import os
import sys
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

os.environ.setdefault("QT_API", "pyside6")  # qasync picks the binding itself otherwise

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QApplication

from app.ui.platform import file_open
from app.ui.platform.source_scan import keep_sources_out_of_linecache

if TYPE_CHECKING:
    import asyncio

    from app.services import Services
    from app.ui.background import Background
    from app.ui.capture.hotkeys.base import HotkeyBackend
    from app.ui.controllers.attachments import AttachmentController
    from app.ui.controllers.conversations import ConversationsController
    from app.ui.controllers.library import Library
    from app.ui.controllers.sync import SyncController
    from app.ui.controllers.tasks import TaskSet
    from app.ui.controllers.templates import TemplatesController
    from app.ui.controllers.turns import TurnController
    from app.ui.main_window import MainWindow
    from app.ui.platform.single_instance import SingleInstanceServer

    PanelSide = tuple[Library, TemplatesController]
    AskSide = tuple[Library, TurnController, TemplatesController]

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


def build_window(data_dir: Path, tasks: TaskSet | None = None) -> MainWindow:
    """The window and what it needs before the services open: widgets, the task set (the
    background instance's, when it existed first) and the attachments controller (files
    given on the command line start preparing at once)."""
    from app.ui.controllers.attachments import AttachmentController
    from app.ui.controllers.tasks import TaskSet
    from app.ui.main_window import MainWindow

    tasks = TaskSet() if tasks is None else tasks
    attachments = AttachmentController(tasks)
    window = MainWindow(data_dir, tasks, attachments)
    attachments.setParent(window)
    return window


def build_background(window: MainWindow, hotkeys: HotkeyBackend | None = None,
                     clock: Callable[[], float] = time.monotonic) -> Background:
    """Tray, capture and quick ask for a window that exists already (the ordinary start)."""
    from app.ui.background import Background

    service = Background(window.tasks, window.windowIcon(), window=lambda: window,
                         hotkeys=hotkeys, clock=clock, parent=window)
    service.attach_window(window)
    return service


def run_gui(files: Sequence[Path] = (), env: Mapping[str, str] | None = None,
            command: tuple[str, dict[str, str]] | None = None) -> int:
    """`stepdesk [FILE…]` or `stepdesk capture …`: hand over to a running instance, or start
    one (for a command: in the background, the window hidden). Returns the exit code."""
    from app.paths import resolve_paths
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

    server = SingleInstanceServer(name)
    if not server.listen():
        print(f"stepdesk: could not listen for other invocations ({name})", file=sys.stderr)
    if command is not None:
        return run_background(app, server, env, paths.data_dir, command)
    window = build_window(paths.data_dir)
    server.setParent(window)
    server.files_received.connect(window.receive_files)
    if file_open.NEEDED:  # macOS "Open with" (QFileOpenEvent)
        file_open.install_file_open(app, window.receive_files)
    app.setWindowIcon(window.windowIcon())
    built: list[Background] = []

    def background() -> Background:
        """Tray, capture and quick ask: built once the first page of the conversation is
        drawn, which does not need them (their imports cost a tenth of a second), or at
        once for a command from another invocation meanwhile."""
        if not built:
            built.append(build_background(window))
        return built[0]

    def run_command(name: str, values: dict[str, str]) -> None:
        background().capture.command(name, values)

    server.command_received.connect(run_command)

    from app.ui.first_paint import paint_first

    paint_first(window)
    import asyncio  # only now: see first_paint

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
    import asyncio

    done = asyncio.Event()
    window.closed.connect(done.set)
    # Everything alive once start-up is done lives for the session: keep it out of the
    # collector's full passes, which otherwise stall streaming by 20–30 ms (bench_ui_stream).
    window.ready.connect(gc.freeze)
    window.tasks.spawn(start(window, env, files, background), "start")
    await done.wait()
    return 0


async def start(window: MainWindow, env: Mapping[str, str], files: list[Path],
                background: Callable[[], Background] | None = None,
                core: Core | None = None) -> None:
    """The composition root: after the first paint, open the services, build the controllers,
    hand them to the window, show the last conversation, then find the key and connect.

    With a `core` (the background instance's window, built late) the store, key, turns and
    templates are the ones it opened already, and so is sync."""
    import asyncio

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
    if core is None:
        services = await open_services(env, window.show_startup_error)
        if services is None:
            return
        library = Library(services)
        turns = TurnController(library.engine, window)
        templates = TemplatesController(library, window)
    else:
        side = await core.ask()
        if side is None:
            window.show_startup_error(core.error)
            return
        library, turns, templates = side
        services = library.services
    conversations = ConversationsController(library, turns, attachments, tasks, window)
    settings = SettingsController(library, tasks, window)
    image_edits = SentImageEdits(library, turns, tasks, window)
    compare = CompareController(library.comparer, partial(_template_effort, templates), window,
                                comparisons=library.comparisons)
    controllers = Controllers(tasks=tasks, attachments=attachments, turns=turns,
                              conversations=conversations, settings=settings,
                              templates=templates, image_edits=image_edits, compare=compare)
    settings.applied.connect(partial(_attachment_context, attachments, library))
    window.on_shutdown = partial(shut_down, controllers, library, SHUTDOWN_BUDGET_S)
    window.use(controllers)
    settings.announce()
    await conversations.load_list()
    await templates.refresh()
    await conversations.show_last()
    await window.view.wait_idle(1.0)  # the first page is drawn before httpx/keyring load,
    if background is not None:  # and before the tray and shortcuts are built
        background().use(controllers, library)
    if core is None:
        await library.connect(env)
    else:
        core.conversations = conversations
    settings.update_key_state()
    sync = core.sync if core is not None and core.sync is not None else _make_sync(
        services, env, conversations.show_last, conversations.load_list, window)
    _wire_sync(sync, window)
    window.on_shutdown = partial(sync.then, window.on_shutdown)  # sync on quit, then close
    window.ready.emit()


def _make_sync(services: Services, env: Mapping[str, str],
               after_restore: Callable[[], Awaitable[None]],
               after_merge: Callable[[], Awaitable[None]], parent: QObject) -> SyncController:
    """Sync's controller; on its schedule (and syncing now) when a target is set."""
    from app.sync.runner import SyncSetup
    from app.ui.controllers.sync import SyncController

    setup = SyncSetup(services, env)
    controller = SyncController(setup.sync, setup=setup, after_restore=after_restore,
                                after_merge=after_merge, parent=parent)
    if setup.target:
        controller.set_interval(setup.interval_minutes)
        controller.sync_now()
    return controller


def _wire_sync(controller: SyncController, window: MainWindow) -> None:
    """Settings → Sync, "Restore from…" and the status bar's sync state."""
    from app.ui.controllers.sync import QUIT_SYNC_TIMEOUT_S

    controller.statusChanged.connect(window.show_sync_status)
    window.settings_opened.connect(controller.add_settings_page)
    window.restore_requested.connect(partial(controller.open_restore, window))
    window.quit_work_s = QUIT_SYNC_TIMEOUT_S + 1  # what sync on quit may add to the shutdown


async def _template_effort(templates: TemplatesController, slug: str, effort: str) -> None:
    """"Use <effort> for this template", then the picker and drop targets show it."""
    await templates.catalogue().set_effort(slug, effort)
    await templates.refresh()


def _attachment_context(attachments: AttachmentController, library: Library,
                        _settings: object) -> None:
    attachments.set_context(library.work_dir, library.proxy_for)


async def open_services(env: Mapping[str, str],
                        say: Callable[[str], None]) -> Services | None:
    """Open the store and resolve the settings; None (said: the window's banner) when that
    fails."""
    from app.config import ConfigError
    from app.services import open_core
    from app.store import StoreError

    try:
        return await open_core(env)
    except (StoreError, ConfigError, OSError) as exc:
        say(f"Step Desk could not open its data: {exc}")
        return None


# --- the background instance ---------------------------------------------------------------
def run_background(app: QApplication, server: SingleInstanceServer, env: Mapping[str, str],
                   data_dir: Path, command: tuple[str, dict[str, str]]) -> int:
    """`stepdesk capture …` with no Step Desk running: start one in the background, run the
    command, and live in the tray until Quit (or the window, once built, quits)."""
    import asyncio  # this path runs on asyncio from the start (the window first paints)

    from app.ui.platform.app_icon import app_icon

    root = BackgroundStart(env, data_dir)
    root.listen(server)
    if file_open.NEEDED:
        file_open.install_file_open(app, root.receive_files)
    app.setWindowIcon(app_icon())
    try:
        with asyncio.Runner(loop_factory=partial(make_loop, app)) as runner:
            return runner.run(root.run(command))
    finally:
        root.background.close()
        server.close()


class BackgroundStart:
    """The background instance's object graph, in two stages (issue 13's memory budget).

    Now: tray, global shortcuts and the capture picker (`Background`), and the store for the
    options (`Core`; sync too when a target is set). When the quick-ask panel first opens:
    the panel, its templates and the key lookup (`Core.panel`); at its first send: the HTTP
    client and the turn controller (`Core.ask`). Only when asked for (tray › Open, "Continue
    in Step Desk", a capture for the window, a second `stepdesk`): the main window and its
    controllers (`start`, sharing the core). Until then neither the window, nor Markdown,
    httpx/ssl or Pillow is imported (tests/bench/bench_tray_memory.py measures it,
    tests/ui/test_background_start.py keeps it).
    """

    def __init__(self, env: Mapping[str, str], data_dir: Path,
                 hotkeys: HotkeyBackend | None = None) -> None:
        import asyncio

        from app.ui.background import Background
        from app.ui.controllers.tasks import TaskSet
        from app.ui.platform.app_icon import app_icon
        from app.ui.weak import weakly

        self._env, self._data_dir = env, data_dir
        self.tasks = TaskSet()
        self.background = Background(self.tasks, app_icon(), window=weakly(self.window),
                                     prepare_panel=weakly(self._prepare_panel),
                                     prepare_send=weakly(self._prepare_send), hotkeys=hotkeys)
        self.core = Core(env, self.background)
        self.tasks.set_error_handler(weakly(self.background.say))
        self.background.quit_requested.connect(self._quit)
        self._window: MainWindow | None = None
        self._quitting: asyncio.Future[None] | None = None
        self._done = asyncio.Event()

    async def run(self, command: tuple[str, dict[str, str]]) -> int:
        """Open the store, run the command, then wait until Quit has finished."""
        self.tasks.spawn(self._open(), "open-services")
        self.background.capture.command(*command)  # the picker needs no store
        await self._done.wait()
        return 0

    async def _open(self) -> None:
        library = await self.core.library()
        if library is None:
            self.background.say(self.core.error)
            return
        self.background.use_library(library)
        self.core.start_sync()

    async def _prepare_panel(self) -> None:
        side = await self.core.panel()
        if side is None:
            raise RuntimeError(self.core.error)
        self.background.use_templates(side[1])

    async def _prepare_send(self) -> None:
        side = await self.core.ask()
        if side is None:
            raise RuntimeError(self.core.error)
        self.background.use_turns(side[1])

    def window(self) -> MainWindow:
        """The main window, built (hidden) and given its controllers the first time."""
        if self._window is None:
            window = self._window = build_window(self._data_dir, self.tasks)
            window.closed.connect(self._done.set)
            window.ready.connect(gc.freeze)  # as `run_window`: the session's objects stay
            self.background.attach_window(window)
            self.tasks.spawn(start(window, self._env, [], lambda: self.background, self.core),
                             "start")
        return self._window

    def listen(self, server: SingleInstanceServer) -> None:
        """Later invocations: `stepdesk capture …` captures, `stepdesk [FILE…]` opens the
        window (with the files)."""
        server.command_received.connect(self.background.capture.command)
        server.files_received.connect(self.receive_files)

    def receive_files(self, files: list[str]) -> None:
        """A second `stepdesk [FILE…]` (or "Open with"): the window, with the files."""
        self.window().receive_files(files)

    def _quit(self) -> None:
        """Quit from the tray before any window was built (outside the task set, which the
        shutdown cancels, as the window's own shutdown)."""
        import asyncio
        if self._quitting is None:
            self._quitting = asyncio.ensure_future(self._shut_down())

    async def _shut_down(self) -> None:
        import asyncio

        from app.ui.controllers.session import SHUTDOWN_BUDGET_S
        from app.ui.controllers.sync import QUIT_SYNC_TIMEOUT_S

        budget = SHUTDOWN_BUDGET_S + (QUIT_SYNC_TIMEOUT_S + 1 if self.core.sync else 0)
        try:
            await asyncio.wait_for(self.core.close(self.tasks, SHUTDOWN_BUDGET_S), budget)
        except TimeoutError:
            logging.getLogger(__name__).warning("quit took longer than %.1f s", budget)
        finally:
            self._done.set()


class Core:
    """The services of the background instance, opened before (and without) the window and
    shared with it once built. Each stage is one task, awaited by whoever needs it first."""

    def __init__(self, env: Mapping[str, str], parent: QObject) -> None:
        self._env = env
        self._parent = parent
        self._library: asyncio.Task[Library | None] | None = None
        self._panel: asyncio.Task[PanelSide | None] | None = None
        self._ask: asyncio.Task[AskSide | None] | None = None
        self.error = ""  # why the store could not be opened
        self.sync: SyncController | None = None
        self.conversations: ConversationsController | None = None  # once the window has them

    def library(self) -> asyncio.Task[Library | None]:
        """The store open and the settings resolved (None: `error` says why)."""
        import asyncio
        if self._library is None:
            self._library = asyncio.ensure_future(self._open_library())
        return self._library

    async def _open_library(self) -> Library | None:
        from app.ui.controllers.library import Library

        services = await open_services(self._env, self._failed)
        return Library(services) if services is not None else None

    def _failed(self, text: str) -> None:
        self.error = text

    def panel(self) -> asyncio.Task[PanelSide | None]:
        """What the quick-ask panel shows: the templates (its tiles), the key looked up."""
        import asyncio
        if self._panel is None or _failed(self._panel):
            self._panel = asyncio.ensure_future(self._open_panel())
        return self._panel

    async def _open_panel(self) -> PanelSide | None:
        from app.ui.controllers.templates import TemplatesController

        library = await self.library()
        if library is None:
            return None
        templates = TemplatesController(library, self._parent)
        await templates.refresh()
        await library.find_key(self._env)
        return library, templates

    def ask(self) -> asyncio.Task[AskSide | None]:
        """What a quick ask sends with, besides: the HTTP client and the turn controller."""
        import asyncio
        if self._ask is None or _failed(self._ask):
            self._ask = asyncio.ensure_future(self._open_ask())
        return self._ask

    async def _open_ask(self) -> AskSide | None:
        from app.ui.controllers.turns import TurnController

        side = await self.panel()
        if side is None:
            return None
        library, templates = side
        library.rebuild_client()
        return library, TurnController(library.engine, self._parent), templates

    def start_sync(self) -> None:
        """Sync on its schedule (and on quit) even while no window exists, when it is set."""
        library = self.library().result()
        if library is not None and library.settings.sync_target:
            from app.ui.weak import weakly

            self.sync = _make_sync(library.services, self._env, weakly(self._restored),
                                   weakly(self._merged), self._parent)

    async def _restored(self) -> None:
        if self.conversations is not None:
            await self.conversations.show_last()

    async def _merged(self) -> None:
        if self.conversations is not None:
            await self.conversations.load_list()

    async def close(self, tasks: TaskSet, budget_s: float) -> None:
        """Quit with no window: replies saved, sync on quit, background work, then HTTP and
        SQLite (the window's `shut_down`, less what only the window has)."""
        async def rest() -> None:
            for stage in (self._panel, self._ask):
                if stage is not None and not stage.done():
                    stage.cancel()  # still reading or looking up: nothing was sent yet
            ask = self._ask
            if ask is not None and ask.done() and not _failed(ask) and not ask.cancelled() \
                    and (side := ask.result()) is not None:
                await side[1].shutdown(budget_s * 0.4)  # replies saved as stopped
            await tasks.shutdown(budget_s * 0.2)
            library = await self.library()
            if library is not None:
                await library.aclose()

        if self.sync is not None:
            await self.sync.then(rest)
        else:
            await rest()


def _failed(task: asyncio.Task[Any]) -> bool:
    """A stage that raised: the next one who needs it tries again."""
    return task.done() and not task.cancelled() and task.exception() is not None
