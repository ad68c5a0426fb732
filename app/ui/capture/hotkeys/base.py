"""What every global-shortcut backend is: the interface the platform modules implement.

The shortcut grammar ("Ctrl+Alt+S" → modifiers and a key) is the capture options' own, in
`app.options`, so Settings, the CLI and the key grabs read a shortcut the same way.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from app.options import BadSequence, format_sequence, parse_sequence

__all__ = ["NO_BACKEND", "BadSequence", "HotkeyBackend", "alternatives", "parse_sequence"]

NO_BACKEND = ("Global shortcuts are not available on this desktop; bind `stepdesk capture` "
              "in its keyboard settings instead (see the README).")


class HotkeyBackend(QObject):
    """A platform's global shortcuts (this base class: none, and it says why).

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
