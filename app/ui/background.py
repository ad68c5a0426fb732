"""Step Desk in the background: tray icon, global shortcuts, capture and quick ask, wired.

Built by the composition root (`app.ui.app`) in stages, so the background instance stays
small (issue 13's memory budget): the tray, shortcuts and picker at once; the options once
the store is open (`use_library`); the quick-ask panel when first shown, with its templates
and the key lookup (`use_templates`), and what it sends with at the first send
(`use_turns`), each through the root's builders (`prepare_panel`, `prepare_send`); the main
window only when it is asked for (tray › Open, "Continue in Step Desk"), through the root's
`window` builder, which hands it over with `attach_window`. The window is only shown, hidden
and asked to open a conversation; nothing here holds its internals. Closing the window
hides it to the tray when `run_in_background` is on and a tray exists; the first time, the
tray says so once. The capture preferences are options of the registry (`app.options`),
read from the current `Settings` and saved through it.

Signals:
    quit_requested(): Quit from the tray while no window exists: the root shuts down.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from functools import partial
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QIcon

from app import options
from app.options import SHORTCUT_OFF, OptionError
from app.ui.capture.hotkeys import HotkeyBackend, make_backend
from app.ui.controllers.capture import CAPTURE, QUICK_ASK, CaptureController
from app.ui.controllers.quick_ask import Hooks, QuickAskController
from app.ui.platform.tray import BACKGROUND_NOTE, Tray
from app.ui.weak import weakly

if TYPE_CHECKING:
    import asyncio

    from app.config import Settings
    from app.templates.model import Template
    from app.ui.controllers.conversations import ConversationsController
    from app.ui.controllers.library import Library
    from app.ui.controllers.session import Controllers
    from app.ui.controllers.tasks import TaskSet
    from app.ui.controllers.templates import TemplatesController
    from app.ui.controllers.turns import TurnController
    from app.ui.dialogs.settings import SettingsDialog
    from app.ui.main_window import MainWindow
    from app.ui.widgets.shortcut_settings import ShortcutSettings

log = logging.getLogger(__name__)


class Background(QObject):
    """Tray + capture + quick ask, with or without a main window (see the module docstring).

    `window` returns the main window, building it (and calling `attach_window`) the first
    time; `prepare_panel` and `prepare_send` build what the panel shows and what it sends
    with, ending with `use_templates` and `use_turns` (None: the root gives them through
    `use` instead).
    """

    quit_requested = Signal()

    def __init__(self, tasks: TaskSet, icon: QIcon, *, window: Callable[[], MainWindow],
                 prepare_panel: Callable[[], Awaitable[None]] | None = None,
                 prepare_send: Callable[[], Awaitable[None]] | None = None,
                 hotkeys: HotkeyBackend | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._tasks = tasks
        self._build_window = window
        self._builders = {"panel": prepare_panel, "send": prepare_send}
        self._building: dict[str, asyncio.Task[None]] = {}
        self._window: MainWindow | None = None
        self._library: Library | None = None
        self._turns: TurnController | None = None
        self._templates: TemplatesController | None = None
        self._conversations: ConversationsController | None = None
        self._open_when_ready: int | None = None  # "Continue in Step Desk" before it was ready
        hooks = Hooks(turns=weakly(self._turn_controller), has_key=weakly(self._has_key),
                      pinned=weakly(self._pinned), model=weakly(self._model),
                      effort=weakly(self._effort), prepare_panel=weakly(self._panel_pending),
                      prepare_send=weakly(self._send_pending))
        self.quick_ask = QuickAskController(hooks, tasks, clock=clock, parent=self)
        self.capture = CaptureController(self.quick_ask, tasks,
                                         hotkeys=hotkeys if hotkeys is not None
                                         else make_backend(), parent=self)
        self.tray = Tray(icon, self)
        self.tray.capture_requested.connect(self.capture.capture)
        self.tray.quick_ask_requested.connect(self.quick_ask.open_empty)
        self.tray.open_requested.connect(self.open_window)
        self.tray.quit_requested.connect(self.quit)
        self.capture.error.connect(self.say)
        self.quick_ask.continue_in_window.connect(self.open_conversation)
        self.capture.for_window.connect(self._add_capture)
        self.capture.window_capture_done.connect(self.open_window)
        self.tray.show()

    @property
    def window(self) -> MainWindow | None:
        """The main window once built (None: the background instance has not needed it)."""
        return self._window

    def attach_window(self, window: MainWindow) -> None:
        """The main window exists: its capture, close-to-tray and Settings come here."""
        self._window = window
        window.capture_requested.connect(self.capture.capture_for_window)
        if self._library is not None:
            window.markup_captures.setChecked(self._library.settings.mark_up_captures)
        window.markup_captures.toggled.connect(self._mark_up_toggled)
        window.close_to_tray = weakly(self._close_to_tray)
        window.settings_opened.connect(self.add_settings_section)
        window.ready.connect(self._window_ready)

    def _window_ready(self) -> None:
        if self._open_when_ready is not None and self._conversations is not None:
            self._conversations.open(self._open_when_ready)
        self._open_when_ready = None

    def use_library(self, library: Library) -> None:
        """The store is open: load the options, grab the shortcuts."""
        if self._library is library:
            return
        self._library = library
        self.quick_ask.set_context(library.work_dir, library.proxy_for)
        if self._window is not None:
            self._window.markup_captures.setChecked(library.settings.mark_up_captures)
        self.apply_shortcuts()

    def use_templates(self, templates: TemplatesController) -> None:
        """The templates for the panel's tiles (the key is known by now as well)."""
        self._templates = templates

    def use_turns(self, turns: TurnController) -> None:
        """What quick ask sends through: the turn controller (shared with the window)."""
        self._turns = turns

    def use(self, controllers: Controllers, library: Library) -> None:
        """The window's controllers exist: quick ask sends through them."""
        self.use_library(library)
        self.use_templates(controllers.templates)
        self.use_turns(controllers.turns)
        self._conversations = controllers.conversations
        controllers.settings.applied.connect(self._settings_applied)

    def _settings_applied(self, _settings: object) -> None:
        if self._library is not None:
            self.quick_ask.set_context(self._library.work_dir, self._library.proxy_for)

    def _mark_up_toggled(self, on: bool) -> None:
        """File › Mark up captures: remembered as the `mark_up_captures` option."""
        settings = self._settings()
        if self._library is not None and settings and settings.mark_up_captures != on:
            self._tasks.spawn(self._library.save_options(
                {options.MARK_UP_CAPTURES.key: on}), "save-mark-up")

    # --- what quick ask needs, looked up when needed ------------------------------------------
    def _panel_pending(self) -> Awaitable[None] | None:
        return None if self._templates is not None else self._build("panel")

    def _send_pending(self) -> Awaitable[None] | None:
        return None if self._turns is not None else self._build("send")

    def _build(self, stage: str) -> Awaitable[None] | None:
        """The root's build of a quick-ask stage, one task for all who wait (None: nothing
        to build; a failed one is tried again)."""
        build = self._builders[stage]
        if build is None:
            return None
        task = self._building.get(stage)
        if task is None or task.done():
            task = self._building[stage] = self._tasks.spawn(build(), f"quick-ask-{stage}")
        return task

    def _turn_controller(self) -> TurnController | None:
        return self._turns

    def _has_key(self) -> bool:
        return bool(self._library is not None and self._library.has_key)

    def _pinned(self) -> list[Template]:
        return list(self._templates.pinned) if self._templates is not None else []

    def _model(self) -> str:
        return self._library.settings.model if self._library is not None else "step-3.7-flash"

    def _effort(self) -> str:
        return self._library.settings.effort if self._library is not None else "medium"

    # --- shortcuts and settings ---------------------------------------------------------------
    def _settings(self) -> Settings | None:
        return self._library.settings if self._library is not None else None

    def _run_in_background(self) -> bool:
        settings = self._settings()
        return settings.run_in_background if settings else options.RUN_IN_BACKGROUND.default

    def _shortcuts(self) -> dict[str, str]:
        """{name: sequence} of the two global shortcuts ("" = off), as the user chose them."""
        settings = self._settings()
        chosen = {CAPTURE: settings.capture_shortcut if settings
                  else options.CAPTURE_SHORTCUT.default,
                  QUICK_ASK: settings.quick_ask_shortcut if settings
                  else options.QUICK_ASK_SHORTCUT.default}
        return {name: "" if value == SHORTCUT_OFF else value for name, value in chosen.items()}

    def apply_shortcuts(self) -> dict[str, str]:
        chosen = self._shortcuts()
        problems = self.capture.apply_shortcuts(chosen[CAPTURE], chosen[QUICK_ASK])
        self.tray.set_shortcuts(self.capture.shortcuts.get(CAPTURE, ""),
                                self.capture.shortcuts.get(QUICK_ASK, ""))
        for problem in dict.fromkeys(problems.values()):
            log.warning("global shortcut: %s", problem)
        return problems

    def add_settings_section(self, dialog: SettingsDialog) -> ShortcutSettings:
        """Put the capture section in an opening Settings dialog and act on its edits."""
        from app.ui.platform.tray import tray_available
        from app.ui.widgets.shortcut_settings import ShortcutSettings

        section = ShortcutSettings(self._run_in_background(), self._shortcuts(),
                                   tray_exists=tray_available())
        for name, problem in self.capture.problems.items():
            section.set_problem(name, problem)
        section.shortcut_edited.connect(partial(self._try_shortcut, section))
        dialog.add_section(section)
        dialog.accepted.connect(partial(self._save_section, section))
        dialog.rejected.connect(self.apply_shortcuts)
        return section

    def _try_shortcut(self, section: ShortcutSettings, name: str, sequence: str) -> None:
        problem, alternative = self.capture.try_shortcut(name, sequence)
        section.set_problem(name, problem, alternative)

    def _save_section(self, section: ShortcutSettings) -> None:
        changes: dict[str, object] = {
            options.RUN_IN_BACKGROUND.key: section.background.isChecked(),
            options.CAPTURE_SHORTCUT.key: section.sequence(CAPTURE) or SHORTCUT_OFF,
            options.QUICK_ASK_SHORTCUT.key: section.sequence(QUICK_ASK) or SHORTCUT_OFF}
        self._tasks.spawn(self._save(changes), "save-capture-options")

    async def _save(self, changes: dict[str, object]) -> None:
        if self._library is not None:
            try:
                await self._library.save_options(changes)
            except OptionError as exc:  # a shortcut without a modifier, say: nothing saved
                self.say(str(exc))
        self.apply_shortcuts()

    # --- window ----------------------------------------------------------------------------------
    def _close_to_tray(self) -> bool:
        """Asked by the window's close: True = hide to the tray instead of quitting."""
        if not (self._run_in_background() and self.tray.is_shown()):
            return False
        settings = self._settings()
        if not (settings and settings.background_note_shown):
            self.tray.say(BACKGROUND_NOTE)
            if self._library is not None:
                self._tasks.spawn(self._library.save_options(
                    {options.BACKGROUND_NOTE_SHOWN.key: True}), "note")
        return True

    def open_window(self) -> None:
        """Show the main window (built now if this is its first time)."""
        w = self._window if self._window is not None else self._build_window()
        w.showNormal()
        w.raise_()
        w.activateWindow()
        w.focus_composer()

    def _add_capture(self, data: bytes) -> None:
        if self._window is not None:  # a capture for the window: it asked, so it exists
            self._window.add_capture(data)

    def open_conversation(self, conversation_id: int) -> None:
        self.open_window()
        if self._conversations is not None:
            self._conversations.open(conversation_id)
        else:  # the window's controllers are still being built: open it once they are
            self._open_when_ready = conversation_id

    def quit(self) -> None:
        self.quick_ask.hide()
        self.tray.hide()
        if self._window is None:
            self.quit_requested.emit()
            return
        self._window.close_to_tray = None
        self._window.close()

    def close(self) -> None:
        """Release the global shortcuts (the process is ending)."""
        self.capture.close()
        self.tray.hide()

    def say(self, text: str) -> None:
        """One sentence where the user is: the tray balloon, and the panel or the window."""
        if self.tray.is_shown():
            self.tray.say(text)
        if self.quick_ask.visible:
            self.quick_ask.panel.set_note(text)
        elif self._window is not None and self._window.isVisible():
            self._window.show_error(text)
        else:
            log.warning("capture: %s", text)
            self.quick_ask.open_empty()
            self.quick_ask.panel.set_note(text)
