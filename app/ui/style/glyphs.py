"""Whether this machine can draw a template's icon, so a missing emoji font shows no empty box.

Templates carry an emoji as their icon. On a machine without an emoji font (a minimal Linux
install), Qt draws each missing character as the font's empty box ("tofu"), and a row of
boxes in front of every template name looks broken. `shown_icon` keeps an icon only when
every character of it draws as something other than that box, with Qt's font fallbacks
included. That is why it draws the characters rather than asking one font's metrics.
"""

from __future__ import annotations

import functools

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter

# Joiners, variation selectors and skin-tone modifiers draw nothing of their own.
_INVISIBLE = {0x200D, 0xFE0E, 0xFE0F, *range(0x1F3FB, 0x1F400)}
_NEVER_A_GLYPH = "\U0010FFFD"  # a private-use character no font draws: the box itself


def shown_icon(icon: str) -> str:
    """`icon`, or "" when this machine's fonts would draw part of it as an empty box."""
    return icon if icon and all(_drawable(c) for c in icon if ord(c) not in _INVISIBLE) else ""


def labelled(icon: str, name: str) -> str:
    """"icon name", or just the name when the icon cannot be drawn here."""
    return f"{shown_icon(icon)} {name}".strip()


@functools.cache
def _drawable(char: str) -> bool:
    return _pixels(char) != _box()


@functools.cache
def _box() -> bytes:
    """The empty box, drawn once."""
    return _pixels(_NEVER_A_GLYPH)


def _pixels(text: str) -> bytes:
    """`text` drawn in the application font."""
    image = QImage(48, 48, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    try:
        painter.setFont(QGuiApplication.font())
        painter.setPen(Qt.GlobalColor.black)
        painter.drawText(image.rect(), Qt.AlignmentFlag.AlignCenter, text)
    finally:
        painter.end()
    return bytes(image.constBits())
