"""The settings, the API key and the connection, for the window.

The controller is the window's only path to saving settings and testing a connection; it
reports what the window should change (`applied`) and the key / connection state. The dialog
itself is a form (`dialogs/settings.py`) opened by the window with `settings_for_dialog()`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

if TYPE_CHECKING:
    from app.config import Settings
    from app.ui.controllers.library import Library
    from app.ui.controllers.tasks import TaskSet
    from app.ui.dialogs.settings import SettingsValues

WELCOME = ("Welcome to Step Desk! Add your StepFun API key to start asking about images and "
           "videos.")


class SettingsController(QObject):
    """Signals:
        applied(object): the `Settings` now in force (at start and after every save).
        key_missing(str): no API key; the welcome text (with the keychain's problem, if any).
        key_present(): a key is set (the welcome notice can go).
        connection(str, str): the status bar's connection word and its tooltip.
        models(list): the models the account offers.
        test_result(bool, str): the outcome of a "Test connection".
        note(str): one sentence for the status bar.
    """

    applied = Signal(object)
    key_missing = Signal(str)
    key_present = Signal()
    connection = Signal(str, str)
    models = Signal(list)
    test_result = Signal(bool, str)
    note = Signal(str)

    def __init__(self, library: Library, tasks: TaskSet, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.library = library
        self.tasks = tasks
        self.known_models: list[str] = []

    @property
    def settings(self) -> Settings:
        return self.library.settings

    def key_source(self) -> tuple[str, str | None]:
        """Where the key comes from ("keychain", "file", "env", "none") and the keychain's
        problem, for the dialog's key row."""
        key = self.library.key
        return (key.source if key else "none"), (key.keychain_problem if key else None)

    def announce(self) -> None:
        """Tell the window the settings in force (after start-up)."""
        self.applied.emit(self.settings)

    def update_key_state(self) -> None:
        lib = self.library
        if lib.connecting:
            return
        if not lib.has_key:
            key = lib.key
            problem = key.keychain_problem if key else None
            self.key_missing.emit(f"{WELCOME} ({problem})" if problem else WELCOME)
            self.connection.emit("No API key", "")
            return
        self.key_present.emit()
        self.connection.emit("Connecting…", "")
        self.tasks.spawn(self.check_connection(), "models")

    async def check_connection(self) -> None:
        from app.api.errors import ApiError, AuthError

        try:
            models = await self.library.models()
        except AuthError as exc:
            self.connection.emit("Key rejected", str(exc))
            return
        except ApiError as exc:
            self.connection.emit("Offline", str(exc))
            return
        self.known_models = models
        self.connection.emit("Connected", self.settings.base_url)
        self.models.emit(models)

    def test(self, values: SettingsValues) -> None:
        self.tasks.spawn(self._test(values), "settings-test")

    async def _test(self, values: SettingsValues) -> None:
        ok, text = await self.library.test_connection(values)
        self.test_result.emit(ok, text)

    def save(self, values: SettingsValues) -> None:
        self.tasks.spawn(self._save(values), "settings-save")

    async def _save(self, values: SettingsValues) -> None:
        note = await self.library.save_settings(values)
        self.applied.emit(self.settings)
        if note:
            self.note.emit(note)
        self.update_key_state()

    def diagnostics(self, trace_id: str | None) -> str:
        from app.ui.platform.diagnostics import diagnostics

        return diagnostics(self.library, trace_id)

    def set_model(self, model: str) -> None:
        self.tasks.spawn(self.library.set_model(model), "model")
