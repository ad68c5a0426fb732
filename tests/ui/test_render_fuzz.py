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
def baseline() -> float:
    _seconds(typical_answer(2000))  # imports markdown-it and Pygments outside the measurement
    return _seconds(typical_answer(SIZE), repeat=3)


@pytest.mark.parametrize("shape", list(SHAPES))
def test_shape_renders_within_budget(baseline: float, shape: str) -> None:
    text = SHAPES[shape](SIZE)
    allowed = BUDGET * baseline * max(1.0, len(text) / SIZE)
    spent = _seconds(text)
    if spent > allowed:  # one more try, so a pause of the machine is not a failure
        spent = min(spent, _seconds(text))
    assert spent <= allowed, f"{shape}: {spent / baseline:.1f}× a typical answer (budget {BUDGET}×)"


def test_a_long_single_line(baseline: float) -> None:
    text = prose(10 * SIZE).replace("\n", " ") + " *a*"
    assert _seconds(text) <= BUDGET * baseline * 10


@pytest.mark.parametrize("shape", ["emphasis mix", "long table", "open links", "brackets"])
def test_a_megabyte_of_any_shape_is_proportional(baseline: float, shape: str) -> None:
    """Past MARKDOWN_LIMIT an answer is shown as plain text: every character, linear time."""
    from app.ui.render.markdown import MARKDOWN_LIMIT

    text = SHAPES[shape](1_000_000)
    assert len(text) > MARKDOWN_LIMIT
    rendered = MarkdownRenderer(RenderTheme()).render(text, cache=False)
    assert rendered.html.startswith("<p>")
    assert _seconds(text) <= BUDGET * baseline * len(text) / SIZE
