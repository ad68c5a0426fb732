"""Global shortcuts that work while another app has the focus, one backend per platform.

Every backend is a `HotkeyBackend`: `register(name, sequence)` returns None or one sentence
saying why the shortcut cannot be had (taken by another program, refused by the desktop),
and `activated(name)` fires when it is pressed. `make_backend()` picks the one for the
running platform: X11 (python-xlib key grab), Windows (RegisterHotKey), macOS (Carbon
RegisterEventHotKey); where none works (Wayland without a GlobalShortcuts portal), the
fallback explains `stepdesk capture` for the desktop's own shortcut settings.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QGuiApplication

DEFAULT_CAPTURE = "Ctrl+Alt+S"
DEFAULT_QUICK_ASK = "Ctrl+Alt+Space"

NO_BACKEND = ("Global shortcuts are not available on this desktop; bind `stepdesk capture` "
              "in its keyboard settings instead (see the README).")


class HotkeyBackend(QObject):
    """A platform's global shortcuts.

    Signals:
        activated(str): the registered name of the shortcut that was pressed.
        refused(str, str): a name whose shortcut the desktop refused later (portals answer
            asynchronously), with the sentence saying what to do instead.
    """

    activated = Signal(str)
    refused = Signal(str, str)

    def register(self, name: str, sequence: str) -> str | None:
        """Grab `sequence` ("Ctrl+Alt+S") under `name`; None, or why it failed."""
        return NO_BACKEND

    def unregister(self, name: str) -> None:
        """Release the shortcut registered as `name` (nothing if none)."""

    def close(self) -> None:
        """Release everything."""


MODIFIERS = {"ctrl": "ctrl", "control": "ctrl", "alt": "alt", "shift": "shift",
             "meta": "super", "super": "super", "win": "super", "cmd": "super"}


class BadSequence(ValueError):
    """A shortcut text that names no key, or an unknown modifier."""


def parse_sequence(sequence: str) -> tuple[frozenset[str], str]:
    """"Ctrl+Alt+S" → ({"ctrl", "alt"}, "s"): modifiers and one key, lower case."""
    parts = [p.strip() for p in sequence.replace(" ", "").split("+")]
    if sequence.rstrip().endswith("++"):
        parts = [*parts[:-2], "+"]
    if not parts or not parts[-1] or parts[-1].lower() in MODIFIERS:
        raise BadSequence(f"{sequence!r} names no key besides the modifiers.")
    mods = set()
    for part in parts[:-1]:
        mod = MODIFIERS.get(part.lower())
        if mod is None:
            raise BadSequence(f"{part!r} in {sequence!r} is not a modifier "
                              "(Ctrl, Alt, Shift, Super).")
        mods.add(mod)
    if not mods:
        raise BadSequence(f"{sequence!r} needs a modifier (Ctrl, Alt, Shift or Super) "
                          "so it does not take a key from every other app.")
    return frozenset(mods), parts[-1].lower()


def format_sequence(mods: frozenset[str], key: str) -> str:
    """({"ctrl", "shift"}, "s") → "Ctrl+Shift+S" (Qt's portable text; Super is "Meta")."""
    names = [{"super": "Meta"}.get(m, m.title()) for m in _ORDER if m in mods]
    return "+".join([*names, key.upper() if len(key) == 1 else key.title()])


_ORDER = ("ctrl", "alt", "shift", "super")


def alternatives(sequence: str) -> list[str]:
    """Nearby shortcuts to offer when `sequence` is taken: Shift or Super toggled."""
    try:
        mods, key = parse_sequence(sequence)
    except BadSequence:
        return []
    found = []
    for change in ({"shift"}, {"super"}, {"shift", "super"}):
        candidate = mods - change if change <= mods else mods | change
        text = format_sequence(frozenset(candidate), key)
        if candidate and text not in found:
            found.append(text)
    return found


def make_backend() -> HotkeyBackend:
    """The backend for this platform (the explaining fallback where none exists)."""
    platform = QGuiApplication.platformName()
    if platform == "xcb":
        from app.ui.capture.hotkeys.x11 import X11Hotkeys

        try:
            return X11Hotkeys()
        except OSError:
            return HotkeyBackend()
    if "wayland" in platform.lower():
        from app.ui.capture.hotkeys.portal import PortalHotkeys

        return PortalHotkeys()
    if sys.platform == "win32":
        from app.ui.capture.hotkeys.windows import WindowsHotkeys

        return WindowsHotkeys()
    if sys.platform == "darwin":
        from app.ui.capture.hotkeys.macos import MacHotkeys

        return MacHotkeys()
    return HotkeyBackend()
