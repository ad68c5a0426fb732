"""A formula's SVG (from `math_svg`) → a transparent QImage, safe on a worker thread.

The image is drawn at `ratio` device pixels per logical pixel and says so
(`setDevicePixelRatio`), so QTextDocument lays it out at its logical size and paints it sharp.
An inline formula's image is padded so that `vertical-align: middle` (the only vertical
alignment Qt's rich text offers an image besides its bottom on the baseline) puts the formula's
baseline on the text's: Qt centres such an image at a quarter of the x-height above the
baseline (ascent = (h + x/2) / 2; checked in tests/ui/test_math.py).

Nothing here touches QPixmap or a widget: only QImage, which worker threads may paint.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from PySide6.QtCore import QByteArray, QRectF
from PySide6.QtGui import QImage, QPainter

from app.ui.render.math_svg import FormulaError, latex_to_svg

MAX_SIDE_PX = 4_000
"""A formula image larger than this (logical pixels) is refused rather than drawn."""


@dataclass(frozen=True, slots=True)
class FormulaStyle:
    """How a formula is drawn: text size (px), colour, device pixel ratio, x-height (px)."""

    px: float
    color: str
    ratio: float
    x_height: float


def typeset(source: str, display: bool, style: FormulaStyle) -> QImage:
    """Lay out and draw `source` (LaTeX without delimiters) in this thread; raises
    FormulaError when it does not parse. (The app lays out in a child process and calls
    `draw_svg`; this is the same in one step, for tests and tools.)"""
    return draw_svg(latex_to_svg(source, display, style.px, style.color), display, style)


def draw_svg(svg: str, display: bool, style: FormulaStyle) -> QImage:
    """Draw a formula's SVG. `display`: display math, drawn without the inline baseline
    padding."""
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(QByteArray(svg.encode("utf-8")))
    if not renderer.isValid():
        raise FormulaError("The typeset formula could not be drawn.")
    box = renderer.viewBoxF()
    width, height = box.width(), box.height()
    ascent = -box.y()  # ziamath puts the baseline at y = 0
    depth = height - ascent
    if display:
        total, top = height, 0.0
    else:
        half_x = style.x_height / 2
        total = max(2 * ascent - half_x, 2 * depth + half_x, height)
        top = (total + half_x) / 2 - ascent
    if width <= 0 or total <= 0:
        raise FormulaError("This formula is empty.")
    if max(width, total) > MAX_SIDE_PX:
        raise FormulaError("This formula is too large to show.")
    image = QImage(math.ceil(width * style.ratio), math.ceil(total * style.ratio),
                   QImage.Format.Format_ARGB32_Premultiplied)
    image.setDevicePixelRatio(style.ratio)
    image.fill(0)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter, QRectF(0, top, width, height))
    painter.end()
    return image
