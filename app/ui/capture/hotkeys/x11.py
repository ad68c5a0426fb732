"""X11 global shortcuts: XGrabKey on the root window through python-xlib.

The grab lives on a private python-xlib connection whose socket Qt's event loop watches
(QSocketNotifier), so no thread is needed and key presses arrive on the UI thread. X
matches modifiers exactly, so each shortcut is grabbed four times: as is, with CapsLock,
with NumLock, with both. A grab another client holds fails with BadAccess: we undo our
partial grabs and say the shortcut is taken.
"""

from __future__ import annotations

from PySide6.QtCore import QSocketNotifier

from app.ui.capture.hotkeys.base import BadSequence, HotkeyBackend, parse_sequence

_KEY_NAMES = {"space": "space", "return": "Return", "enter": "Return", "tab": "Tab",
              "esc": "Escape", "escape": "Escape", "print": "Print", "backspace": "BackSpace",
              "delete": "Delete", "del": "Delete", "insert": "Insert", "home": "Home",
              "end": "End", "pgup": "Prior", "pageup": "Prior", "pgdown": "Next",
              "pagedown": "Next", "left": "Left", "right": "Right", "up": "Up", "down": "Down",
              "+": "plus", "-": "minus", "=": "equal", ",": "comma", ".": "period",
              "/": "slash", ";": "semicolon", "'": "apostrophe", "`": "grave",
              "[": "bracketleft", "]": "bracketright", "\\": "backslash"}

TAKEN = "{sequence} is already taken by another program; choose another shortcut in Settings."


class X11Hotkeys(HotkeyBackend):
    """See the module docstring. Raises OSError when the X display cannot be opened."""

    def __init__(self) -> None:
        super().__init__()
        from Xlib import XK, X, error
        from Xlib.display import Display

        self._X, self._XK, self._error = X, XK, error
        try:
            self._display = Display()
        except (error.DisplayError, error.ConnectionClosedError) as exc:
            raise OSError(str(exc)) from exc
        self._root = self._display.screen().root
        self._lock_masks = self._ignorable_masks()
        self._grabs: dict[str, tuple[int, int]] = {}  # name -> (keycode, modifier mask)
        self._closed = False
        self._notifier = QSocketNotifier(self._display.fileno(), QSocketNotifier.Type.Read, self)
        self._notifier.activated.connect(self._drain)

    def _ignorable_masks(self) -> list[int]:
        """CapsLock and NumLock in every combination (NumLock's modifier looked up)."""
        X = self._X
        num_lock = 0
        code = self._display.keysym_to_keycode(self._XK.string_to_keysym("Num_Lock"))
        for index, codes in enumerate(self._display.get_modifier_mapping()):
            if code and code in codes:
                num_lock = 1 << index
        return sorted({0, X.LockMask, num_lock, X.LockMask | num_lock})

    def _resolve(self, sequence: str) -> tuple[int, int]:
        X = self._X
        mods, key = parse_sequence(sequence)
        mask = 0
        for mod in mods:
            mask |= {"ctrl": X.ControlMask, "alt": X.Mod1Mask, "shift": X.ShiftMask,
                     "super": X.Mod4Mask}[mod]
        name = _KEY_NAMES.get(key, key if len(key) == 1 else key.upper() if key[:1] == "f"
                              and key[1:].isdigit() else key)
        keysym = self._XK.string_to_keysym(name)
        keycode = self._display.keysym_to_keycode(keysym) if keysym else 0
        if not keycode:
            raise BadSequence(f"{sequence!r}: this keyboard has no key {key!r}.")
        return keycode, mask

    def register(self, name: str, sequence: str) -> str | None:
        self.unregister(name)
        try:
            keycode, mask = self._resolve(sequence)
        except BadSequence as exc:
            return str(exc)
        catch = self._error.CatchError(self._error.BadAccess)
        X = self._X
        for extra in self._lock_masks:
            self._root.grab_key(keycode, mask | extra, False, X.GrabModeAsync, X.GrabModeAsync,
                                onerror=catch)
        self._display.sync()
        if catch.get_error() is not None:
            self._ungrab(keycode, mask)
            self._display.sync()
            return TAKEN.format(sequence=sequence)
        self._grabs[name] = (keycode, mask)
        self._drain()
        return None

    def unregister(self, name: str) -> None:
        grab = self._grabs.pop(name, None)
        if grab is not None:
            self._ungrab(*grab)
            self._display.sync()

    def _ungrab(self, keycode: int, mask: int) -> None:
        for extra in self._lock_masks:
            self._root.ungrab_key(keycode, mask | extra)

    def close(self) -> None:
        if self._closed:
            return
        for name in list(self._grabs):
            self.unregister(name)
        self._notifier.setEnabled(False)
        self._display.close()
        self._closed = True

    def _drain(self) -> None:
        """Read what the server sent; emit `activated` for each grabbed key press."""
        X = self._X
        ignored = 0
        for extra in self._lock_masks:
            ignored |= extra
        relevant = X.ControlMask | X.Mod1Mask | X.ShiftMask | X.Mod4Mask
        while self._display.pending_events():
            event = self._display.next_event()
            if event.type != X.KeyPress:
                continue
            state = event.state & ~ignored & relevant
            for name, (keycode, mask) in self._grabs.items():
                if event.detail == keycode and state == mask:
                    self.activated.emit(name)

