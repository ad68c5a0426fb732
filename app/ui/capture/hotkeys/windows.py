"""Windows global shortcuts: `RegisterHotKey` through ctypes, WM_HOTKEY via a native filter.

Untested here (no Windows in CI): kept small and behind the same interface as X11. A hot key
registered with no window posts WM_HOTKEY to the registering thread's queue, which is Qt's
GUI thread; a `QAbstractNativeEventFilter` picks it out. ERROR_HOTKEY_ALREADY_REGISTERED
(1409) means another program holds it.
"""

from __future__ import annotations

import ctypes
from ctypes import wintypes
from typing import Any

from PySide6.QtCore import QAbstractNativeEventFilter, QCoreApplication

from app.ui.capture.hotkeys.base import BadSequence, HotkeyBackend, parse_sequence

WM_HOTKEY = 0x0312
MOD_ALT, MOD_CONTROL, MOD_SHIFT, MOD_WIN, MOD_NOREPEAT = 0x1, 0x2, 0x4, 0x8, 0x4000
_MODS = {"alt": MOD_ALT, "ctrl": MOD_CONTROL, "shift": MOD_SHIFT, "super": MOD_WIN}
_KEYS = {"space": 0x20, "return": 0x0D, "enter": 0x0D, "tab": 0x09, "esc": 0x1B,
         "escape": 0x1B, "print": 0x2C, "delete": 0x2E, "insert": 0x2D, "home": 0x24,
         "end": 0x23, "left": 0x25, "up": 0x26, "right": 0x27, "down": 0x28}
TAKEN = "{sequence} is already taken by another program; choose another shortcut in Settings."


def _virtual_key(key: str) -> int:
    if len(key) == 1 and key.isalnum():
        return ord(key.upper())
    if key[:1] == "f" and key[1:].isdigit() and 1 <= int(key[1:]) <= 24:
        return 0x70 + int(key[1:]) - 1
    if key in _KEYS:
        return _KEYS[key]
    raise BadSequence(f"No Windows key code for {key!r}.")


class _Filter(QAbstractNativeEventFilter):
    def __init__(self, backend: WindowsHotkeys) -> None:
        super().__init__()
        self._backend = backend

    def nativeEventFilter(self, event_type: Any, message: Any) -> tuple[bool, int]:
        if bytes(event_type) == b"windows_generic_MSG":
            msg = wintypes.MSG.from_address(int(message))
            if msg.message == WM_HOTKEY:
                self._backend.pressed(int(msg.wParam))
        return False, 0


class WindowsHotkeys(HotkeyBackend):
    """See the module docstring."""

    def __init__(self) -> None:
        super().__init__()
        self._user32 = ctypes.WinDLL("user32", use_last_error=True)  # type: ignore[attr-defined]
        self._ids: dict[str, int] = {}
        self._next = 1
        self._filter = _Filter(self)
        app = QCoreApplication.instance()
        assert app is not None, "a QApplication exists before any hotkey backend"
        app.installNativeEventFilter(self._filter)

    def register(self, name: str, sequence: str) -> str | None:
        self.unregister(name)
        try:
            mods, key = parse_sequence(sequence)
            vk = _virtual_key(key)
        except BadSequence as exc:
            return str(exc)
        mask = MOD_NOREPEAT
        for mod in mods:
            mask |= _MODS[mod]
        hotkey_id, self._next = self._next, self._next + 1
        if not self._user32.RegisterHotKey(None, hotkey_id, mask, vk):
            error = ctypes.get_last_error()  # type: ignore[attr-defined]
            if error == 1409:
                return TAKEN.format(sequence=sequence)
            return f"Windows refused the shortcut {sequence} (error {error})."
        self._ids[name] = hotkey_id
        return None

    def unregister(self, name: str) -> None:
        hotkey_id = self._ids.pop(name, None)
        if hotkey_id is not None:
            self._user32.UnregisterHotKey(None, hotkey_id)

    def pressed(self, hotkey_id: int) -> None:
        name = next((n for n, i in self._ids.items() if i == hotkey_id), None)
        if name is not None:
            self.activated.emit(name)

    def close(self) -> None:
        for name in list(self._ids):
            self.unregister(name)
        app = QCoreApplication.instance()
        if app is not None:
            app.removeNativeEventFilter(self._filter)
