"""Step Desk in the background: tray icon, global shortcuts, capture and quick ask, wired.

Built by the composition root (`app.ui.app`) next to the main window, and given the
controllers once the services are open (`use`). The window is only shown, hidden and asked
to open a conversation; nothing here holds its internals. Closing the window hides it to the
tray when `run_in_background` is on and a tray exists; the first time, the tray says so once.
The capture preferences are options of the registry (`app.options`), read from the current
`Settings` and saved through it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject

from app import options
from app.options import SHORTCUT_OFF, OptionError
from app.ui.capture.hotkeys import HotkeyBackend, make_backend
from app.ui.controllers.capture import CAPTURE, QUICK_ASK, CaptureController
from app.ui.controllers.quick_ask import Hooks, QuickAskController
from app.ui.platform.tray import BACKGROUND_NOTE, Tray
from app.ui.weak import weakly

if TYPE_CHECKING:
    from app.config import Settings
    from app.templates.model import Template
    from app.ui.controllers.library import Library
    from app.ui.controllers.session import Controllers
    from app.ui.controllers.turns import TurnController
    from app.ui.dialogs.settings import SettingsDialog
    from app.ui.main_window import MainWindow
    from app.ui.widgets.shortcut_settings import ShortcutSettings

log = logging.getLogger(__name__)


class Background(QObject):
    """Tray + capture + quick ask for one main window (see the module docstring)."""

    def __init__(self, window: MainWindow, *, hotkeys: HotkeyBackend | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(window)
        self._window = window
        self._controllers: Controllers | None = None
        self._library: Library | None = None
        hooks = Hooks(turns=weakly(self._turns), has_key=weakly(self._has_key),
                      pinned=weakly(self._pinned), model=weakly(self._model),
                      effort=weakly(self._effort))
        self.quick_ask = QuickAskController(hooks, window.tasks, clock=clock, parent=self)
        self.capture = CaptureController(self.quick_ask, window.tasks,
                                         hotkeys=hotkeys if hotkeys is not None
                                         else make_backend(), parent=self)
        self.tray = Tray(window.windowIcon(), self)
        self.tray.capture_requested.connect(self.capture.capture)
        self.tray.quick_ask_requested.connect(self.quick_ask.open_empty)
        self.tray.open_requested.connect(self.open_window)
        self.tray.quit_requested.connect(self.quit)
        self.capture.error.connect(self._say)
        self.quick_ask.continue_in_window.connect(self.open_conversation)
        window.capture_requested.connect(self.capture.capture_for_window)
        self.capture.for_window.connect(window.add_capture)
        self.capture.window_capture_done.connect(self.open_window)
        window.markup_captures.toggled.connect(self._mark_up_toggled)
        window.close_to_tray = weakly(self._close_to_tray)
        window.settings_opened.connect(self.add_settings_section)
        self.tray.show()

    def use(self, controllers: Controllers, library: Library) -> None:
        """The services are open: quick ask can send; load the options, grab the shortcuts."""
        self._controllers, self._library = controllers, library
        self.quick_ask.set_context(library.work_dir, library.proxy_for)
        controllers.settings.applied.connect(self._settings_applied)
        self._window.markup_captures.setChecked(library.settings.mark_up_captures)
        self.apply_shortcuts()

    def _settings_applied(self, _settings: object) -> None:
        if self._library is not None:
            self.quick_ask.set_context(self._library.work_dir, self._library.proxy_for)

    def _mark_up_toggled(self, on: bool) -> None:
        """File › Mark up captures: remembered as the `mark_up_captures` option."""
        settings = self._settings()
        if self._library is not None and settings and settings.mark_up_captures != on:
            self._window.tasks.spawn(self._library.save_options(
                {options.MARK_UP_CAPTURES.key: on}), "save-mark-up")

    # --- what quick ask needs, looked up when needed ------------------------------------------
    def _turns(self) -> TurnController | None:
        return self._controllers.turns if self._controllers is not None else None

    def _has_key(self) -> bool:
        return bool(self._library is not None and self._library.has_key)

    def _pinned(self) -> list[Template]:
        return list(self._controllers.templates.pinned) if self._controllers else []

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
        self._window.tasks.spawn(self._save(changes), "save-capture-options")

    async def _save(self, changes: dict[str, object]) -> None:
        if self._library is not None:
            try:
                await self._library.save_options(changes)
            except OptionError as exc:  # a shortcut without a modifier, say: nothing saved
                self._say(str(exc))
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
                self._window.tasks.spawn(self._library.save_options(
                    {options.BACKGROUND_NOTE_SHOWN.key: True}), "note")
        return True

    def open_window(self) -> None:
        w = self._window
        w.showNormal()
        w.raise_()
        w.activateWindow()
        w.focus_composer()

    def open_conversation(self, conversation_id: int) -> None:
        self.open_window()
        if self._controllers is not None:
            self._controllers.conversations.open(conversation_id)

    def quit(self) -> None:
        self._window.close_to_tray = None
        self.quick_ask.panel.hide()
        self.tray.hide()
        self._window.close()

    def close(self) -> None:
        """Release the global shortcuts (the process is ending)."""
        self.capture.close()
        self.tray.hide()

    def _say(self, text: str) -> None:
        if self.tray.is_shown():
            self.tray.say(text)
        if self.quick_ask.panel.isVisible():
            self.quick_ask.panel.set_note(text)
        elif self._window.isVisible():
            self._window.show_error(text)
        else:
            log.warning("capture: %s", text)
            self.quick_ask.open_empty()
            self.quick_ask.panel.set_note(text)
