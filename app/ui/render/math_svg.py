"""LaTeX → SVG with ziamath: the part of typesetting that is pure Python (and slow).

Qt-free on purpose: it runs in a child process (see `math_images`), so a 20 ms layout never
holds the window's GIL; only the SVG text crosses back. ziamath lays the formula out (LaTeX →
MathML via latex2mathml, then its own OpenType-math layout with the STIX Two Math font it
ships); its default SVG 2 output puts glyphs in `<symbol>`/`<use>`, which QtSvg does not draw
(only the rules of fractions would show), hence `config.svg2 = False`.
"""

from __future__ import annotations

import contextlib
import os
import re
from typing import Any

MAX_SOURCE_CHARS = 4_000
"""Longer LaTeX is not typeset (the layout is pure Python; a hostile formula must not hog it)."""
_UNKNOWN_COMMAND = re.compile(r"\\[A-Za-z]+")
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")
_ziamath: list[Any] = []  # the configured module, once imported


class FormulaError(Exception):
    """The LaTeX could not be typeset; the message is one sentence for a tooltip."""


def latex_to_svg(source: str, display: bool, px: float, color: str) -> str:
    """The formula as a standalone SVG whose baseline is at y = 0; raises FormulaError."""
    if len(source) > MAX_SOURCE_CHARS:
        raise FormulaError(f"This formula is too long to typeset ({len(source):,} characters).")
    zm = _library()
    try:
        formula = zm.Latex(source, size=px, color=color, inline=not display)
    except Exception as error:  # ziamath/latex2mathml raise many kinds; each means "bad LaTeX"
        raise FormulaError(_reason(error)) from None
    for element in formula.mathml.iter():
        unknown = _UNKNOWN_COMMAND.match((element.text or "").strip())
        if unknown:  # latex2mathml passes unknown commands through as text
            raise FormulaError(f"Unknown LaTeX command {unknown.group()}.")
    try:
        return str(formula.svg())
    except Exception as error:
        raise FormulaError(_reason(error)) from None


def lower_priority() -> None:
    """Initialiser of the child process: layout is background work, the window comes first
    (on a busy machine the child must not take the CPU the UI thread needs)."""
    if hasattr(os, "nice"):
        with contextlib.suppress(OSError):
            os.nice(10)


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
    """ziamath, configured once (its config is global; one process typesets at a time)."""
    if not _ziamath:
        import ziamath

        ziamath.config.svg2 = False
        _ziamath.append(ziamath)
    return _ziamath[0]
