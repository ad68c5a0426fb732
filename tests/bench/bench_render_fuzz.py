"""Benchmark: every hostile Markdown shape at 1 MB (and a single 5 MB line) vs plain prose
and vs an ordinary answer of the same size, plus how each scales from ½ MB to 1 MB.

Run: `python tests/bench/bench_render_fuzz.py [--size BYTES]`. Ratios are against baselines
measured in the same run; "scaling" near 2.0 is linear, 4.0 would be quadratic.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from app.ui.render.markdown import MarkdownRenderer, RenderTheme  # noqa: E402
from tests.render_shapes import SHAPES, prose, typical_answer  # noqa: E402


def seconds(text: str) -> float:
    renderer = MarkdownRenderer(RenderTheme())
    start = time.perf_counter()
    renderer.render(text, cache=False)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    size = parser.parse_args().size
    seconds(typical_answer(2000))
    plain = min(seconds(prose(size)) for _ in range(3))
    answer = min(seconds(typical_answer(size)) for _ in range(2))
    print(f"plain prose {size:,} chars : {plain:7.2f} s")
    print(f"typical answer          : {answer:7.2f} s  ({answer / plain:.1f}× prose)")
    rows = []
    for name, make in SHAPES.items():
        full, half = seconds(make(size)), seconds(make(size // 2))
        rows.append((full, name, full / max(half, 1e-9)))
    line = prose(5 * size).replace("\n", " ") + " *a*"
    rows.append((seconds(line) / 5, "single 5 MB line (per MB)", 0.0))
    for spent, name, scaling in sorted(rows, reverse=True):
        print(f"{name:28s} {spent:7.2f} s  {spent / plain:6.1f}× prose  "
              f"{spent / answer:5.1f}× answer  scaling {scaling:4.1f}")
    worst = max(rows)
    print(f"worst shape: {worst[1]} = {worst[0] / plain:.1f}× plain prose, "
          f"{worst[0] / answer:.1f}× a typical answer (test budget 12× a typical answer)")


if __name__ == "__main__":
    main()
