"""Icons from the Lucide set (ISC licence), drawn as vectors and tinted by the palette.

Why shipped SVGs rather than an icon-font library: the ~50 icons the window uses weigh 25 KB,
need nothing but QtSvg (already in PySide6-Essentials) and no font registration at start-up;
each one is drawn from its vector at the device pixel ratio it is painted at, so it is sharp
on every screen, and its `currentColor` strokes take the palette colour of the widget *at paint
time*, so a theme switch re-tints every icon without rebuilding it.

QtSvg is imported on the first paint of an icon, not at import.
"""

from __future__ import annotations

from functools import cache, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QPoint, QRect, QRectF, QSize, Qt
from PySide6.QtGui import QGuiApplication, QIcon, QIconEngine, QImage, QPainter, QPalette, QPixmap

if TYPE_CHECKING:
    from PySide6.QtSvg import QSvgRenderer

ICON_DIR = Path(__file__).resolve().parents[2] / "resources" / "icons" / "ui"
"""A plain folder beside the package (also in the frozen bundle, which keeps app/resources):
read directly, because importlib.resources costs ~40 ms of imports before the first paint."""


@cache
def svg_source(name: str) -> str:
    """The SVG text of icon `name` (a file stem in `app/resources/icons/ui`)."""
    return (ICON_DIR / f"{name}.svg").read_text(encoding="utf-8")


@lru_cache(maxsize=256)
def _renderer(name: str, colour: str) -> QSvgRenderer:
    """One parsed SVG per (icon, colour): painting is then only the vector drawing."""
    from PySide6.QtSvg import QSvgRenderer

    svg = svg_source(name).replace("currentColor", colour)
    return QSvgRenderer(QByteArray(svg.encode("utf-8")))


def icon_names() -> list[str]:
    return sorted(entry.stem for entry in ICON_DIR.glob("*.svg"))


class TintedSvgEngine(QIconEngine):
    """Paints one Lucide SVG in the colour of a palette role, at the painter's pixel ratio."""

    def __init__(self, name: str, role: QPalette.ColorRole = QPalette.ColorRole.ButtonText,
                 colour: str | None = None) -> None:
        super().__init__()
        self._name = name
        self._role = role
        self._colour = colour

    def clone(self) -> QIconEngine:
        return TintedSvgEngine(self._name, self._role, self._colour)

    def _colour_for(self, mode: QIcon.Mode) -> str:
        if self._colour is not None and mode != QIcon.Mode.Disabled:
            return self._colour
        palette = QGuiApplication.palette()
        group = QPalette.ColorGroup.Disabled if mode == QIcon.Mode.Disabled else \
            QPalette.ColorGroup.Active
        return palette.color(group, self._role).name()

    def paint(self, painter: QPainter, rect: QRect, mode: QIcon.Mode,
              state: QIcon.State) -> None:
        renderer = _renderer(self._name, self._colour_for(mode))
        side = min(rect.width(), rect.height())
        target = QRectF(rect.x() + (rect.width() - side) / 2,
                        rect.y() + (rect.height() - side) / 2, side, side)
        renderer.render(painter, target)

    def pixmap(self, size: QSize, mode: QIcon.Mode, state: QIcon.State) -> QPixmap:
        return self.scaledPixmap(size, mode, state, 1.0)

    def scaledPixmap(self, size: QSize, mode: QIcon.Mode, state: QIcon.State,
                     scale: float) -> QPixmap:
        image = QImage(size * scale, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        self.paint(painter, QRect(QPoint(0, 0), size * scale), mode, state)
        painter.end()
        image.setDevicePixelRatio(scale)
        return QPixmap.fromImage(image)

    def iconName(self) -> str:
        return self._name


def icon(name: str, role: QPalette.ColorRole = QPalette.ColorRole.ButtonText,
         colour: str | None = None) -> QIcon:
    """Icon `name`, tinted with palette `role` (or a fixed `colour`, e.g. on the accent)."""
    svg_source(name)  # a misspelt name fails here, at the call site, not at first paint
    return QIcon(TintedSvgEngine(name, role, colour))
