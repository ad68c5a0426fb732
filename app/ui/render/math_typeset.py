"""LaTeX → a transparent QImage of the formula, safe to call on a worker thread.

ziamath lays the formula out (LaTeX → MathML via latex2mathml, then its own OpenType-math
layout with the STIX Two Math font it ships) and writes SVG paths; QtSvg draws them. ziamath's
default SVG 2 output puts glyphs in `<symbol>`/`<use>`, which QtSvg does not draw (only the
rules of fractions would show), hence `config.svg2 = False`.

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
import re
import threading
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QByteArray, QRectF
from PySide6.QtGui import QImage, QPainter

MAX_SOURCE_CHARS = 4_000
"""Longer LaTeX is not typeset (the layout is pure Python; a hostile formula must not hog it)."""
MAX_SIDE_PX = 4_000
"""A formula image larger than this (logical pixels) is refused rather than drawn."""
_UNKNOWN_COMMAND = re.compile(r"\\[A-Za-z]+")
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")
_setup = threading.Lock()
_ziamath: Any = None


class FormulaError(Exception):
    """The LaTeX could not be typeset; the message is one sentence for a tooltip."""


@dataclass(frozen=True, slots=True)
class FormulaStyle:
    """How a formula is drawn: text size (px), colour, device pixel ratio, x-height (px)."""

    px: float
    color: str
    ratio: float
    x_height: float


def typeset(source: str, display: bool, style: FormulaStyle) -> QImage:
    """Draw `source` (LaTeX without delimiters); raises FormulaError when it does not parse.

    `display`: display style (big operators, fractions at full size), drawn without the inline
    baseline padding.
    """
    if len(source) > MAX_SOURCE_CHARS:
        raise FormulaError(f"This formula is too long to typeset ({len(source):,} characters).")
    svg = _svg(source, display, style)
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


def _svg(source: str, display: bool, style: FormulaStyle) -> str:
    zm = _library()
    try:
        formula = zm.Latex(source, size=style.px, color=style.color, inline=not display)
    except Exception as error:  # ziamath/latex2mathml raise many kinds; each means "bad LaTeX"
        raise FormulaError(_reason(error)) from None
    for element in formula.mathml.iter():
        text = element.text or ""
        unknown = _UNKNOWN_COMMAND.match(text.strip())
        if unknown:
            raise FormulaError(f"Unknown LaTeX command {unknown.group()}.")
    try:
        return str(formula.svg())
    except Exception as error:
        raise FormulaError(_reason(error)) from None


def _reason(error: Exception) -> str:
    """latex2mathml names its errors (`MissingSuperScriptOrSubscriptError`): make that a
    sentence; anything else (ziamath asserts) is a generic one."""
    name = type(error).__name__
    if name.endswith("Error") and name not in ("AssertionError", "Error") \
            and type(error).__module__.startswith("latex2mathml"):
        words = _CAMEL.sub(" ", name.removesuffix("Error")).lower()
        return f"This LaTeX does not parse: {words}."
    return "This LaTeX does not parse."


def _library() -> Any:
    """ziamath, configured once (its config is global; set before any thread renders)."""
    global _ziamath
    with _setup:
        if _ziamath is None:
            import ziamath

            ziamath.config.svg2 = False
            _ziamath = ziamath
    return _ziamath
