"""Capture from anywhere: shortcut, tray or `stepdesk capture` → picker → quick-ask panel.

Owns the `CaptureSession` (one capture at a time), the global-shortcut backend and the
hand-off to `QuickAskController`. An image editor can be put between the capture and the
panel (`set_editor`): it gets the capture and returns the edited one, or None to drop it.

Signals:
    error(str): a capture failed; one sentence for the tray balloon or status bar.
    captured(object): a `Captured` on its way to the panel (tests, the benchmark).
    for_window(bytes): a capture asked for from inside the main window (Ctrl+Shift+S), as
        PNG bytes for its composer; the same session as the global shortcut's.
    window_capture_done(): a capture for the window ended, taken, cancelled or failed.
    shortcut_problems(dict): {name: sentence} for shortcuts that could not be grabbed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from app.ui.capture.grab import CaptureError
from app.ui.capture.hotkeys.base import HotkeyBackend, alternatives
from app.ui.capture.session import MODES, Captured, CaptureSession

if TYPE_CHECKING:
    from app.ui.controllers.quick_ask import QuickAskController
    from app.ui.controllers.tasks import TaskSet

Editor = Callable[[Captured], Awaitable[Captured | None]]
"""Opens the capture in an editor straight after it is taken; None means "discard"."""

CAPTURE, QUICK_ASK = "capture", "quick_ask"


class CaptureController(QObject):
    """See the module docstring."""

    error = Signal(str)
    captured = Signal(object)
    for_window = Signal(bytes)
    window_capture_done = Signal()
    shortcut_problems = Signal(dict)

    def __init__(self, quick_ask: QuickAskController, tasks: TaskSet, *,
                 session: CaptureSession | None = None,
                 hotkeys: HotkeyBackend | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._quick_ask = quick_ask
        self._tasks = tasks
        self.session = session or CaptureSession()
        self._hotkeys = hotkeys
        self._editor: Editor | None = None
        self.shortcuts: dict[str, str] = {}
        self.problems: dict[str, str] = {}  # from the last apply_shortcuts
        if hotkeys is not None:
            hotkeys.activated.connect(self._on_hotkey)
            hotkeys.refused.connect(self._on_refused)

    def set_editor(self, editor: Editor | None) -> None:
        """The image editor's hook (issue "edit"): called with every capture before the panel."""
        self._editor = editor

    # --- shortcuts --------------------------------------------------------------------------
    def apply_shortcuts(self, capture: str, quick_ask: str) -> dict[str, str]:
        """Grab the two global shortcuts ("" turns one off); returns {name: problem}."""
        problems: dict[str, str] = {}
        if self._hotkeys is None:
            return problems
        for name, sequence in ((CAPTURE, capture), (QUICK_ASK, quick_ask)):
            self._hotkeys.unregister(name)
            self.shortcuts.pop(name, None)
            if not sequence:
                continue
            problem = self._hotkeys.register(name, sequence)
            if problem:
                problems[name] = problem
            else:
                self.shortcuts[name] = sequence
        self.problems = problems
        self.shortcut_problems.emit(problems)
        return problems

    def try_shortcut(self, name: str, sequence: str) -> tuple[str | None, str]:
        """Grab `sequence` for `name` now; (None, "") or (why not, a free alternative)."""
        if self._hotkeys is None:
            return None, ""
        self._hotkeys.unregister(name)
        self.shortcuts.pop(name, None)
        if not sequence:
            return None, ""
        problem = self._hotkeys.register(name, sequence)
        if problem is None:
            self.shortcuts[name] = sequence
            return None, ""
        for candidate in alternatives(sequence):
            if self._hotkeys.register("probe", candidate) is None:
                self._hotkeys.unregister("probe")
                return problem, candidate
        return problem, ""

    def close(self) -> None:
        if self._hotkeys is not None:
            self._hotkeys.close()

    def _on_refused(self, name: str, problem: str) -> None:
        """The desktop said no later (a portal): forget the grab; Settings says what to do."""
        self.shortcuts.pop(name, None)
        self.problems[name] = problem
        self.shortcut_problems.emit(dict(self.problems))  # Settings shows it

    def _on_hotkey(self, name: str) -> None:
        if name == CAPTURE:
            self.capture("region")
        elif name == QUICK_ASK:
            self._quick_ask.open_empty()

    # --- commands (tray, single-instance messages) -------------------------------------------
    def command(self, name: str, options: dict[str, str]) -> None:
        """A command from another `stepdesk` process: capture (mode, template, prompt)."""
        if name == QUICK_ASK:
            self._quick_ask.open_empty()
        elif name == CAPTURE:
            self.capture(options.get("mode") or "region", options.get("template", ""),
                         options.get("prompt", ""))

    def capture(self, mode: str = "region", template: str = "", prompt: str = "") -> None:
        if mode not in MODES:
            self.error.emit(f"Unknown capture mode {mode!r}.")
            return
        if self.session.active:
            return
        self._tasks.spawn(self._capture(mode, template, prompt), "capture")

    def capture_for_window(self, mode: str = "region") -> None:
        """The main window's own capture: the picker as for the shortcut, the pixels to the
        window's composer (`for_window`) instead of the quick-ask panel."""
        if not self.session.active:
            self._tasks.spawn(self._capture_for_window(mode), "capture")

    async def _capture_for_window(self, mode: str) -> None:
        from app.ui.widgets.drop_overlay import image_to_png

        try:
            result = await self._run(mode)
            if result is not None:
                self.for_window.emit(await asyncio.to_thread(image_to_png, result.image))
        finally:
            self.window_capture_done.emit()

    async def _run(self, mode: str) -> Captured | None:
        """One session; None when cancelled (nothing attached, nothing said) or failed (said)."""
        try:
            return await self.session.run(mode)
        except CaptureError as exc:
            self.error.emit(str(exc))
            return None

    async def _capture(self, mode: str, template: str, prompt: str) -> None:
        result = await self._run(mode)
        if result is None:
            return
        if self._editor is not None:
            result = await self._editor(result)
            if result is None:
                return
        self.captured.emit(result)
        self._quick_ask.open_capture(result)
        if prompt:
            self._quick_ask.panel.prompt.setPlainText(prompt)
        if template:
            self._quick_ask.send(prompt, self._quick_ask.panel.effort.currentData(), template)
