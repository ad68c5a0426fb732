"""Benchmark: formulas in the conversation view, against the same answer with code spans.

Offscreen, real MarkdownView / ConversationView, ratios measured in one run:
1. A 50-formula answer (inline, display, environments; all different) rendered, laid out and
   painted in a view grown from a short answer, vs the same answer with every formula
   written as a code span, through the same steps (budget ≤ 1.5×); then drawn again in the
   same view with the formula images cached, vs the code-span answer drawn again (budget
   ≤ 1.1×). Each repetition renders a text never seen before (a numbered line at the end),
   so the renderer's own memo does not help. Also: how long the child process takes per
   formula (timed in the child), until the last image is swapped in, and the largest UI
   heartbeat gap while it does (typesetting is off the UI thread).
2. The 20,000-delta flood of bench_ui_stream with formulas in every section of the answer
   and in every tenth sentence of the reasoning (each one new, so the child typesets
   throughout), vs the same flood without formulas: the largest UI heartbeat gap (budget
   ≤ 50 ms).
Times are wall clock with the UI thread's CPU time beside them: on a machine shared with
other jobs the wall clock also counts waits for a core, the CPU time only the thread's work.
Like the app once its window is ready, the benchmark calls gc.freeze() after start-up.
Run: `python tests/bench/bench_math.py`.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import statistics
import sys
import time
from concurrent.futures import Executor, ProcessPoolExecutor
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["QT_API"] = "pyside6"
ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from PySide6.QtWidgets import QApplication  # noqa: E402

from app.ui.render.markdown import MarkdownRenderer  # noqa: E402
from app.ui.render.markdown_view import MarkdownView, theme_from_palette  # noqa: E402
from app.ui.render.math_images import FormulaImages  # noqa: E402
from app.ui.render.math_svg import latex_to_svg, lower_priority  # noqa: E402
from tests.bench.bench_ui_stream import (  # noqa: E402
    GAP_BUDGET_MS,
    Delta,
    feed_sliced,
    message,
    new_view,
    run_until,
)
from tests.bench.heartbeat import Heartbeat  # noqa: E402

REPEATS = 15
FORMULAS = [
    "x^{{2}} + y^{{2}} = r_{{{n}}}^{{2}}",
    "\\frac{{-b \\pm \\sqrt{{b^2 - 4ac}}}}{{2a_{{{n}}}}}",
    "\\sum_{{i=1}}^{{{n}}} i = \\frac{{n(n+1)}}{{2}}",
    "\\int_0^{{{n}}} e^{{-x^2}}\\,dx",
    "\\begin{{pmatrix}} 1 & {n} \\\\ 0 & 1 \\end{{pmatrix}}",
    "\\alpha_{{{n}}} + \\beta",
    "\\lim_{{x \\to {n}}} \\frac{{\\sin x}}{{x}}",
    "\\begin{{aligned}} a &= b + {n} \\\\ c &= d \\end{{aligned}}",
    "\\hat{{\\theta}}_{{{n}}} = \\arg\\max_\\theta L(\\theta)",
    "E = m c^{{{n}}}",
]


def answer(formulas: int, as_code: bool, salt: int) -> str:
    """Paragraphs of prose with inline formulas, every fifth one displayed on its own."""
    parts = ["## Working\n"]
    for n in range(formulas):
        source = FORMULAS[n % len(FORMULAS)].format(n=n + 1)
        if n % 5 == 4:
            parts.append(f"\n`{source}`\n" if as_code else f"\n$$\n{source}\n$$\n")
        else:
            shown = f"`{source}`" if as_code else f"${source}$"
            parts.append(f"Step {n}: we use {shown} and carry on with the argument here.")
    parts.append(f"\nRun {salt}.\n")
    return "\n".join(parts)


class Timing:
    """Wall-clock and UI-thread CPU seconds of one step. On a loaded machine (other jobs on
    the same cores) the wall clock also counts time the thread waited for a core; the CPU
    time is what the UI thread itself spent."""

    def __init__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.thread_time()

    def stop(self) -> tuple[float, float]:
        return time.perf_counter() - self.wall, time.thread_time() - self.cpu


def timed_render(app: QApplication, view: MarkdownView, text: str) -> tuple[float, float]:
    """Render, lay out and paint once (what a user waits for before seeing the answer):
    (wall, CPU) seconds."""
    timing = Timing()
    view.show_markdown(text)
    view.document().size()  # the whole layout
    view.grab()  # and one paint
    return timing.stop()


def idle_gap(app: QApplication, seconds: float) -> float:
    """The largest heartbeat gap while the loop does nothing: this machine's own noise."""
    beat = Heartbeat()
    beat.start()
    until = time.perf_counter() + seconds
    run_until(app, lambda: time.perf_counter() > until)
    return beat.stop()


def new_answer_view(renderer: MarkdownRenderer, warm_up: str, app: QApplication
                    ) -> MarkdownView:
    """A view as an answer gets one: shown, with a short answer drawn first (parser built,
    widget painted), so each timed render grows a view from a small answer to a long one."""
    view = MarkdownView(renderer)
    view.resize(900, 600)
    view.show()
    timed_render(app, view, warm_up)
    app.processEvents()  # its posted layout and paint events, as the event loop would
    return view


def layout_seconds(sources: list[str]) -> float:
    """Seconds per formula laid out by ziamath, timed in the child process (the window's
    process never imports ziamath; here it would also burden the floods' collector)."""
    start = time.perf_counter()
    for n, source in enumerate(sources):
        latex_to_svg(source, n % 5 == 4, 17.0, "#000000")
    return (time.perf_counter() - start) / len(sources)


def bench_render(app: QApplication, layout: Executor) -> None:
    theme = theme_from_palette(app.palette())
    code_renderer = MarkdownRenderer(theme)
    times: dict[str, list[tuple[float, float]]] = {
        "code": [], "first": [], "code again": [], "cached": []}
    ready_times, gaps = [], []
    # The app's one child process, started and warmed (ziamath imported) before timing.
    warm = FormulaImages(layout=layout)
    warmup = MarkdownView(MarkdownRenderer(theme, formulas=warm))
    warmup.show_markdown("$x$")
    run_until(app, lambda: not warmup.pending_formula_urls())
    beat = Heartbeat()
    for salt in range(REPEATS):
        # The baseline takes the same steps as the formulas: a fresh view grown from a short
        # answer, then the same view drawn again at its size.
        plain = new_answer_view(code_renderer, answer(3, True, 1000 + salt), app)
        times["code"].append(timed_render(app, plain, answer(50, True, salt)))
        app.processEvents()  # as the formulas' view runs the loop until its images are in
        times["code again"].append(timed_render(app, plain, answer(50, True, 100 + salt)))
        plain.deleteLater()
        formulas = FormulaImages(layout=layout)
        view = new_answer_view(MarkdownRenderer(theme, formulas=formulas),
                               answer(3, False, 1000 + salt), app)
        run_until(app, lambda v=view: not v.pending_formula_urls())
        formulas.timings.clear()
        beat.start()
        start = time.perf_counter()
        times["first"].append(timed_render(app, view, answer(50, False, salt)))
        run_until(app, lambda v=view: not v.pending_formula_urls())
        ready_times.append(time.perf_counter() - start)
        gaps.append(beat.stop())
        assert len(view.formula_urls()) == 50, len(view.formula_urls())
        times["cached"].append(timed_render(app, view, answer(50, False, 100 + salt)))
        view.deleteLater()
        formulas.close()
    wall = {name: statistics.median(t[0] for t in rows) for name, rows in times.items()}
    cpu = {name: statistics.median(t[1] for t in rows) for name, rows in times.items()}
    sources = [FORMULAS[n % len(FORMULAS)].format(n=n + 1) for n in range(50)]
    each = layout.submit(layout_seconds, sources).result()
    print(f"render: a 50-formula answer vs the same with code spans (median of {REPEATS};"
          " wall clock, UI-thread CPU in brackets)")
    for name, label, base, budget in (
            ("code", "formulas as code spans, new view", None, None),
            ("first", "formulas, first paint (source shown)", "code", 1.5),
            ("code again", "code spans, drawn again", None, None),
            ("cached", "formulas, images cached, again", "code again", 1.1)):
        line = (f"  {label:38s} {wall[name] * 1000:7.1f} ms [{cpu[name] * 1000:5.1f}]")
        if base is not None:
            line += (f"   ratio {wall[name] / wall[base]:4.2f}x [{cpu[name] / cpu[base]:4.2f}]"
                     f"  (budget {budget})")
        print(line)
    ready = statistics.median(ready_times)
    print(f"  until every image is in (child)        {ready * 1000:7.1f} ms")
    print(f"  layout per formula, in the child       {each * 1000:7.1f} ms  (ziamath)")
    print(f"  largest UI heartbeat gap meanwhile     {max(gaps):7.1f} ms  (budget {GAP_BUDGET_MS};"
          f" idle loop on this machine: {idle_gap(app, ready):.1f} ms)")


def flood_text(with_math: bool, chars: int) -> str:
    section = ("## Section {n}\n\nSome *prose* with `inline code` and a [link](https://"
               "example.com). The rate is {inline} per step, more words follow.\n\n"
               "{display}"
               "| name | value | note |\n|:--|--:|:-:|\n| alpha | 1 | a |\n| beta | 22 | b |\n\n"
               "```python\ndef f{n}(x):\n    return x * {n}\n```\n\n- item one costs $5\n"
               "- item two\n\n")
    text, n = "", 0
    while len(text) < chars:
        inline = f"$\\frac{{{n}}}{{k+1}}$" if with_math else f"`{n}/(k+1)`"
        display = (f"$$\n\\sum_{{i=1}}^{{{n}}} a_i^2\n$$\n\n" if with_math
                   else f"`sum a_i^2 up to {n}`\n\n")
        text += section.format(n=n, inline=inline, display=display)
        n += 1
    return text


def flood(with_math: bool) -> list[Delta]:
    text = flood_text(with_math, 15_000 * 4)
    thoughts = "".join(  # the reasoning, a formula in every tenth sentence
        f"I should consider ${n} q_{{{n}}}$ carefully. " if with_math and n % 10 == 0
        else "I should consider the question carefully. " for n in range(700))
    out: list[Delta] = [(True, thoughts[i * 5:i * 5 + 5]) for i in range(5_000)]
    out += [(False, text[i * 4:i * 4 + 4]) for i in range(15_000)]
    return out


def bench_flood(app: QApplication, with_math: bool) -> tuple[float, float, float, int]:
    """(seconds until every image is in, largest heartbeat gap in ms, longest UI-thread CPU
    stretch in ms, formulas typeset in the answer and the reasoning)."""
    deltas = flood(with_math)
    view = new_view(app)
    view.show_conversation([message(1, "user", "hi"), message(2, "assistant", "hello")],
                           None, lambda _sha: None)
    run_until(app, view.is_idle)
    view.begin_reply(message(3, "user", "flood"), message(4, "assistant", status="streaming"))

    def consume(delta: Delta) -> None:
        if delta[0]:
            view.append_reasoning(4, delta[1])
        else:
            view.append_content(4, delta[1])

    beat = Heartbeat()
    beat.start()
    start = time.perf_counter()
    feed_sliced(app, deltas, consume, 200)
    view.finish_reply(4, "complete", None)
    run_until(app, view.is_idle)
    widget = view.message_widget(4)
    assert widget is not None
    thinking = widget.thinking
    assert thinking is not None
    thinking.header.click()  # open the reasoning again: its last paragraph is drawn now
    bodies = [widget.body, *([thinking.body] if thinking.body is not None else [])]

    def done() -> bool:
        return not any(body.pending_formula_urls() for body in bodies)

    run_until(app, done)
    elapsed = time.perf_counter() - start
    gap = beat.stop()
    count = sum(len(body.formula_urls()) for body in bodies)
    view.deleteLater()
    return elapsed, gap, beat.longest_cpu(), count


def main() -> None:
    app = QApplication.instance() or QApplication(sys.argv)
    # As the app does once its window is ready (app/ui/app.py): what start-up made is kept
    # out of the collector's full passes. Without it every full pass here scans the whole
    # Qt and app heap (20–30 ms inside a render step), which no running window does.
    gc.collect()
    gc.freeze()
    layout = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"),
                                 initializer=lower_priority)
    bench_render(app, layout)
    plain_s, plain_gap, plain_cpu, _ = bench_flood(app, False)
    math_s, math_gap, math_cpu, count = bench_flood(app, True)
    print("flood: 20,000 deltas (5,000 reasoning, 15,000 content), with and without formulas"
          " (largest heartbeat gap; longest UI-thread CPU stretch in brackets)")
    print(f"  without formulas                       {plain_s * 1000:8.1f} ms, largest gap "
          f"{plain_gap:5.1f} ms [{plain_cpu:5.1f}]")
    print(f"  with {count} formulas (all typeset)     {math_s * 1000:8.1f} ms, largest gap "
          f"{math_gap:5.1f} ms [{math_cpu:5.1f}]  (budget {GAP_BUDGET_MS})")
    print(f"  ratio                                  {math_s / plain_s:8.2f} x")
    layout.shutdown()
    gc.collect()


if __name__ == "__main__":
    main()
