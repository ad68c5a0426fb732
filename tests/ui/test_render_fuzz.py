"""Renderer fuzz: no shape of answer renders super-linearly or far slower than a real answer.

Every hostile shape of `tests/render_shapes.py` must render within BUDGET × the time of an
ordinary Markdown answer of the same size (`typical_answer`), measured in the same run, so a
slow or busy machine moves both sides. Plain prose is not the baseline here: markdown-it
spends ~10× more per character on any punctuation than on bare words, linearly, so against
bare prose only the benchmark reports the figures (`tests/bench/bench_render_fuzz.py`, 1 MB
and a single 5 MB line). Before the fixes this test caught, "a" + spaces + "*" was quadratic
(hours for 1 MB) and runs of `[` or `![` took minutes.
"""

from __future__ import annotations

import time

import pytest

from app.ui.render.markdown import MarkdownRenderer, RenderTheme
from tests.render_shapes import SHAPES, prose, typical_answer

SIZE = 40_000
BUDGET = 12.0
"""Generous: the costliest linear shape, a long table, is 6–9× an ordinary answer per character
(markdown-it's own table rule); anything quadratic is 100× and more at this size."""


def _seconds(text: str, repeat: int = 1) -> float:
    best = float("inf")
    for _ in range(repeat):
        renderer = MarkdownRenderer(RenderTheme())
        start = time.perf_counter()
        renderer.render(text, cache=False)
        best = min(best, time.perf_counter() - start)
    return best


@pytest.fixture(scope="module")
def warmed() -> None:
    """markdown-it and Pygments imported (and their caches filled) outside the measurements."""
    _seconds(typical_answer(2000))
    _seconds(typical_answer(SIZE))


def ratio(text: str, tries: int = 3) -> float:
    """`text`'s render time over an ordinary answer's of the same size, each pair measured
    back to back; the smallest of a few pairs, so the machine being busy during one
    measurement (other processes, a loaded CI host) does not count as the renderer being slow.
    A super-linear shape is 100× and more in every pair."""
    reference = typical_answer(SIZE)
    best = float("inf")
    for _ in range(tries):
        base = _seconds(reference)
        best = min(best, _seconds(text) / base / max(1.0, len(text) / SIZE))
        if best <= BUDGET:
            break
    return best


@pytest.mark.parametrize("shape", list(SHAPES))
def test_shape_renders_within_budget(warmed: None, shape: str) -> None:
    spent = ratio(SHAPES[shape](SIZE))
    assert spent <= BUDGET, f"{shape}: {spent:.1f}× a typical answer (budget {BUDGET}×)"


def test_a_long_single_line(warmed: None) -> None:
    text = prose(10 * SIZE).replace("\n", " ") + " *a*"
    assert ratio(text) <= BUDGET


@pytest.mark.parametrize("shape", ["emphasis mix", "long table", "open links", "brackets"])
def test_a_megabyte_of_any_shape_is_proportional(warmed: None, shape: str) -> None:
    """Past MARKDOWN_LIMIT an answer is shown as plain text: every character, linear time."""
    from app.ui.render.markdown import MARKDOWN_LIMIT

    text = SHAPES[shape](1_000_000)
    assert len(text) > MARKDOWN_LIMIT
    rendered = MarkdownRenderer(RenderTheme()).render(text, cache=False)
    assert rendered.html.startswith("<p>")
    assert ratio(text) <= BUDGET
