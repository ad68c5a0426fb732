"""macOS global shortcuts: Carbon `RegisterEventHotKey` through ctypes.

Untested here (no macOS in CI): kept small and behind the same interface as X11. Carbon's
hot keys need no Accessibility permission (unlike an event tap) and still work on current
macOS. The handler runs on the main run loop, which is Qt's, so `activated` is emitted on
the GUI thread. `eventHotKeyExistsErr` (-9878) means another program holds the shortcut.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from typing import Any

from app.ui.capture.hotkeys.base import BadSequence, HotkeyBackend, parse_sequence

_CMD, _SHIFT, _OPTION, _CONTROL = 0x100, 0x200, 0x800, 0x1000
_MODS = {"super": _CMD, "shift": _SHIFT, "alt": _OPTION, "ctrl": _CONTROL}
# kVK_ANSI_* virtual key codes (Events.h): US layout positions.
_KEYS = dict(zip("asdfhgzxcv", (0, 1, 2, 3, 4, 5, 6, 7, 8, 9), strict=True)) | {
    "b": 11, "q": 12, "w": 13, "e": 14, "r": 15, "y": 16, "t": 17, "1": 18, "2": 19, "3": 20,
    "4": 21, "6": 22, "5": 23, "9": 25, "7": 26, "8": 28, "0": 29, "o": 31, "u": 32, "i": 34,
    "p": 35, "l": 37, "j": 38, "k": 40, "n": 45, "m": 46, "space": 49, "return": 36,
    "tab": 48, "esc": 53, "escape": 53}
_SIGNATURE = int.from_bytes(b"StDk", "big")
_KEYBOARD_CLASS, _HOTKEY_PRESSED = int.from_bytes(b"keyb", "big"), 5
_DIRECT_OBJECT, _HOTKEY_ID_TYPE = int.from_bytes(b"----", "big"), int.from_bytes(b"hkid", "big")
TAKEN = "{sequence} is already taken by another program; choose another shortcut in Settings."


class _HotKeyID(ctypes.Structure):
    _fields_ = [("signature", ctypes.c_uint32), ("id", ctypes.c_uint32)]


class _EventTypeSpec(ctypes.Structure):
    _fields_ = [("eventClass", ctypes.c_uint32), ("eventKind", ctypes.c_uint32)]


_Handler = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p)


class MacHotkeys(HotkeyBackend):
    """See the module docstring."""

    def __init__(self) -> None:
        super().__init__()
        self._carbon: Any = ctypes.CDLL(ctypes.util.find_library("Carbon"))
        self._carbon.GetApplicationEventTarget.restype = ctypes.c_void_p
        self._target = self._carbon.GetApplicationEventTarget()
        self._refs: dict[str, tuple[int, ctypes.c_void_p]] = {}
        self._next = 1
        self._callback = _Handler(self._on_event)  # kept: Carbon holds only the pointer
        spec = _EventTypeSpec(_KEYBOARD_CLASS, _HOTKEY_PRESSED)
        self._carbon.InstallEventHandler(ctypes.c_void_p(self._target), self._callback, 1,
                                         ctypes.byref(spec), None, None)

    def register(self, name: str, sequence: str) -> str | None:
        self.unregister(name)
        try:
            mods, key = parse_sequence(sequence)
            if key not in _KEYS:
                raise BadSequence(f"No macOS key code for {key!r}.")
        except BadSequence as exc:
            return str(exc)
        mask = 0
        for mod in mods:
            mask |= _MODS[mod]
        hotkey_id, self._next = self._next, self._next + 1
        ref = ctypes.c_void_p()
        status = self._carbon.RegisterEventHotKey(
            _KEYS[key], mask, _HotKeyID(_SIGNATURE, hotkey_id), ctypes.c_void_p(self._target),
            0, ctypes.byref(ref))
        if status == -9878:
            return TAKEN.format(sequence=sequence)
        if status != 0:
            return f"macOS refused the shortcut {sequence} (error {status})."
        self._refs[name] = (hotkey_id, ref)
        return None

    def unregister(self, name: str) -> None:
        entry = self._refs.pop(name, None)
        if entry is not None:
            self._carbon.UnregisterEventHotKey(entry[1])

    def _on_event(self, _call: Any, event: Any, _data: Any) -> int:
        found = _HotKeyID()
        self._carbon.GetEventParameter(ctypes.c_void_p(event), _DIRECT_OBJECT, _HOTKEY_ID_TYPE,
                                       None, ctypes.sizeof(found), None, ctypes.byref(found))
        name = next((n for n, (i, _r) in self._refs.items() if i == found.id), None)
        if name is not None:
            self.activated.emit(name)
        return 0

    def close(self) -> None:
        for name in list(self._refs):
            self.unregister(name)
