"""Benchmark: the image editor on a 3840×2160 screenshot, with baselines from the same run.

1. Opening: decode + the editor shown and painted, vs a bare QGraphicsView showing the same
   PNG as a QPixmap (targets: ≤ 150 ms; the ratio is printed). The UI-thread part alone is
   printed too: in the app the decode runs in a worker thread.
2. A stroke: from the finished gesture to the changed area repainted (target ≤ 16 ms), at
   "fit" zoom and at 100 %; and each mouse move of a gesture under way (real mouse events
   to the widget) until its outline is repainted.
3. Flattening + PNG encoding with 20 edits vs Pillow drawing the same shapes and encoding
   alone (target ≤ 1.3×).

Run: python tests/bench/bench_editor.py   (uses $DISPLAY if set, else offscreen)
"""

from __future__ import annotations

import io
import math
import os
import statistics
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "xcb" if os.environ.get("DISPLAY") else "offscreen")

from PIL import Image, ImageDraw  # noqa: E402
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt  # noqa: E402
from PySide6.QtGui import QMouseEvent, QPixmap  # noqa: E402
from PySide6.QtWidgets import QApplication, QGraphicsScene, QGraphicsView  # noqa: E402

from app.media import annotate  # noqa: E402
from app.media.edit_steps import (  # noqa: E402
    NO_EDITS,
    Arrow,
    Box,
    Callout,
    Crop,
    EditSteps,
    Highlight,
    Redact,
    Shape,
    Text,
)
from app.ui.dialogs.image_editor import ImageEditor  # noqa: E402
from app.ui.widgets.edit_canvas import open_for_editing  # noqa: E402
from tests.test_media_annotate import screenshot  # noqa: E402

RUNS = 7
SIZE = (3840, 2160)


def median_ms(values: list[float]) -> float:
    return statistics.median(values) * 1000


def bare_open(app: QApplication, path: Path) -> float:
    start = time.perf_counter()
    pixmap = QPixmap(str(path))
    scene = QGraphicsScene()
    scene.addPixmap(pixmap)
    view = QGraphicsView(scene)
    view.resize(1100, 700)
    view.show()
    view.fitInView(scene.sceneRect())
    view.viewport().repaint()
    app.processEvents()
    elapsed = time.perf_counter() - start
    view.close()
    view.deleteLater()
    app.processEvents()
    return elapsed


def our_open(app: QApplication, data: bytes) -> tuple[float, float, float, ImageEditor]:
    """Wall time of decode + show, of its UI-thread part, and the CPU time of it all."""
    start, cpu = time.perf_counter(), time.process_time()
    opened = open_for_editing(data, "shot.png", NO_EDITS)  # the app runs this in a worker
    ui_start = time.perf_counter()
    editor = ImageEditor(opened, "shot.png")
    editor.show()
    editor.canvas.viewport().repaint()
    app.processEvents()
    end = time.perf_counter()
    return end - start, end - ui_start, time.process_time() - cpu, editor


def strokes(app: QApplication, editor: ImageEditor) -> list[float]:
    times = []
    for i in range(20):
        x, y = 200 + 150 * (i % 10), 300 + 500 * (i // 10)
        step = Shape("rect", Box(x, y, 120, 80), "#e53935", 4) if i % 2 else \
            Highlight(((x, y), (x + 60, y + 10), (x + 130, y)), "#fdd835", 24)
        start = time.perf_counter()
        editor.add_step(step)  # renders the changed area, patches it, schedules its repaint
        app.processEvents()  # the repaint of that area
        times.append(time.perf_counter() - start)
    return times


LARGE = {
    "rectangle round most of it": Shape("rect", Box(100, 100, 3600, 1900), "#e53935", 8),
    "ellipse round most of it": Shape("ellipse", Box(100, 100, 3600, 1900), "#1e88e5", 8),
    "arrow corner to corner": Arrow(100, 100, 3700, 2000, "#43a047", 8),
    "highlighter across it": Highlight(tuple((100 + 30 * i, 1000 + (i % 5) * 12)
                                             for i in range(120)), "#fdd835", 48),
    "redaction of most of it": Redact(Box(200, 200, 3000, 1500)),
    "text label, large": Text(300, 1500, "Look here: this value is wrong", "#e53935", 120),
    "numbered marker + label": Callout(2500, 700, "the failing field", size=40),
    "crop to most of it": Crop(Box(100, 100, 3600, 1900)),
}


def large_strokes(app: QApplication, editor: ImageEditor
                  ) -> dict[str, list[tuple[float, float]]]:
    """Each large step added, undone and redone (median of 5): the worst case for "only the
    dirty area", since a bounding box would be most of the image. Each add is a new step
    (moved by a pixel), so no pixels kept from an earlier undo serve it. Each figure is the
    wall time and the CPU time (this process), which a busy machine inflates less."""
    out = {}
    for name, step in LARGE.items():
        runs: list[list[tuple[float, float]]] = [[], [], []]
        for shift in range(5):
            [moved] = EditSteps((step,)).shifted(shift, 0).steps
            for kind, action in enumerate((partial(editor.add_step, moved),
                                           editor.undo_stack.undo, editor.undo_stack.redo)):
                start, cpu = time.perf_counter(), time.process_time()
                action()
                app.processEvents()
                runs[kind].append((time.perf_counter() - start, time.process_time() - cpu))
            editor.undo_stack.undo()
            app.processEvents()
        out[name] = [(statistics.median(w for w, _c in run), statistics.median(c for _w, c in run))
                     for run in runs]
    return out


def drag_moves(app: QApplication, editor: ImageEditor, tool: str) -> list[float]:
    """A gesture through the real widget: each mouse move until its outline is repainted."""
    view = editor.canvas.viewport()
    editor.select_tool(tool)
    centre = view.rect().center()
    points = [centre + QPoint(int(300 * math.cos(i / 15)) - 150, int(120 * math.sin(i / 7)))
              for i in range(120)]

    def send(kind: QEvent.Type, pos: QPoint, button: Qt.MouseButton) -> None:
        event = QMouseEvent(kind, QPointF(pos), QPointF(view.mapToGlobal(pos)), button,
                            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
        QApplication.sendEvent(view, event)

    send(QEvent.Type.MouseButtonPress, points[0], Qt.MouseButton.LeftButton)
    app.processEvents()
    times = []
    for pos in points[1:]:
        start = time.perf_counter()
        send(QEvent.Type.MouseMove, pos, Qt.MouseButton.NoButton)
        app.processEvents()
        times.append(time.perf_counter() - start)
    send(QEvent.Type.MouseButtonRelease, points[-1], Qt.MouseButton.LeftButton)
    app.processEvents()
    return times


TWENTY = EditSteps(tuple(
    [Shape("rect", Box(100 + 300 * i, 200, 250, 160), "#e53935", 6) for i in range(5)]
    + [Shape("ellipse", Box(100 + 300 * i, 500, 250, 160), "#1e88e5", 6) for i in range(3)]
    + [Arrow(200 + 400 * i, 1200, 400 + 400 * i, 900, "#43a047", 6) for i in range(3)]
    + [Highlight(tuple((300 + 40 * k, 1500 + (k % 3) * 4) for k in range(20)), "#fdd835", 40)]
    + [Text(200 + 900 * i, 1800, f"Label {i}", "#e53935", 48) for i in range(2)]
    + [Callout(2000 + 150 * i, 300, f"item {i}", size=28) for i in range(3)]
    + [Redact(Box(2500, 1000 + 200 * i, 900, 80)) for i in range(3)]))


def ours_flatten(base: Image.Image) -> bytes:
    return annotate.to_png(annotate.flatten(base, TWENTY))


def bare_flatten(base: Image.Image) -> bytes:
    """The same drawing written directly against ImageDraw, then the same PNG encode."""
    out = base.copy()
    draw = ImageDraw.Draw(out)
    font = annotate.font(48)
    small = annotate.font(34)
    for step in TWENTY.steps:
        if isinstance(step, Shape):
            box = (step.box.x, step.box.y, step.box.right - 1, step.box.bottom - 1)
            (draw.rectangle if step.kind == "rect" else draw.ellipse)(
                box, outline=step.color, width=step.width)
        elif isinstance(step, Arrow):
            draw.line((step.x1, step.y1, step.x2, step.y2), fill=step.color, width=step.width)
            draw.polygon([(step.x2, step.y2), (step.x2 - 20, step.y2 + 24),
                          (step.x2 + 20, step.y2 + 24)], fill=step.color)
        elif isinstance(step, Highlight):
            xs, ys = [p[0] for p in step.points], [p[1] for p in step.points]
            x0, y0 = min(xs) - step.width, min(ys) - step.width
            mask = Image.new("L", (max(xs) - x0 + step.width, max(ys) - y0 + step.width), 0)
            ImageDraw.Draw(mask).line([(x - x0, y - y0) for x, y in step.points], fill=110,
                                      width=step.width, joint="curve")
            out.paste(step.color, (x0, y0, x0 + mask.width, y0 + mask.height), mask)
        elif isinstance(step, Text):
            draw.text((step.x, step.y), step.text, fill=step.color, font=font, stroke_width=3,
                      stroke_fill="white")
        elif isinstance(step, Callout):
            r = step.size
            draw.ellipse((step.x - r, step.y - r, step.x + r, step.y + r), fill=step.color,
                         outline="white", width=4)
            draw.text((step.x, step.y), "1", fill="white", font=small, anchor="mm")
            draw.text((step.x + r + 14, step.y), step.label, fill=step.color, font=small,
                      anchor="lm", stroke_width=2, stroke_fill="white")
        elif isinstance(step, Redact):
            out.paste((0, 0, 0), (step.box.x, step.box.y, step.box.right, step.box.bottom))
    buf = io.BytesIO()
    out.save(buf, "PNG", compress_level=annotate.PNG_LEVEL)
    return buf.getvalue()


def main() -> None:
    app = QApplication.instance() or QApplication([])
    tmp = Path(tempfile.mkdtemp(prefix="stepdesk-bench-editor-"))
    path = tmp / "shot-4k.png"
    base = screenshot(SIZE)
    base.save(path)
    data = path.read_bytes()
    print(f"platform {app.platformName()}, image {SIZE[0]}×{SIZE[1]} "
          f"({len(data) / 1e6:.1f} MB PNG), median of {RUNS} runs, "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")

    bare, ours, ours_ui, ours_cpu_open = [], [], [], []
    editor = None
    for _ in range(RUNS):
        bare.append(bare_open(app, path))
        total, ui, cpu, editor = our_open(app, data)
        ours.append(total)
        ours_ui.append(ui)
        ours_cpu_open.append(cpu)
        editor.discard()
        editor.deleteLater()
        app.processEvents()
    print(f"open: bare QGraphicsView + QPixmap {median_ms(bare):6.1f} ms")
    print(f"open: editor (decode + show)       {median_ms(ours):6.1f} ms  "
          f"ratio {statistics.median(ours) / statistics.median(bare):.2f}x  "
          f"(CPU {median_ms(ours_cpu_open):.1f} ms; budget 150 ms)")
    print(f"open: editor, UI-thread part only  {median_ms(ours_ui):6.1f} ms  "
          "(decode runs in a worker in the app)")

    _total, _ui, _cpu, editor = our_open(app, data)
    editor.resize(1400, 900)
    editor.canvas.fit()
    app.processEvents()
    fit = strokes(app, editor)
    editor.canvas.zoom_to(1.0)
    editor.canvas.centerOn(1000, 600)
    app.processEvents()
    actual = strokes(app, editor)
    print(f"stroke (fit zoom):  median {median_ms(fit):5.1f} ms, max {max(fit) * 1000:5.1f} ms "
          "(budget 16 ms)")
    print(f"stroke (100 %):     median {median_ms(actual):5.1f} ms, "
          f"max {max(actual) * 1000:5.1f} ms")
    editor.canvas.fit()
    app.processEvents()
    for name, figures in large_strokes(app, editor).items():
        print(f"large, fit zoom: {name:27} " + ", ".join(
            f"{kind} {wall * 1000:5.1f} ms (CPU {cpu * 1000:4.1f})"
            for kind, (wall, cpu) in zip(("add", "undo", "redo"), figures, strict=True))
            + " (budget 16 ms)")
    for zoom in ("fit", "100 %"):
        if zoom == "fit":
            editor.canvas.fit()
        else:
            editor.canvas.zoom_to(1.0)
        app.processEvents()
        for tool in ("highlight", "rect"):
            moves = drag_moves(app, editor, tool)
            print(f"drag {tool:9} ({zoom:5}): per move median {median_ms(moves):5.1f} ms, "
                  f"max {max(moves) * 1000:5.1f} ms (budget 16 ms)")
    editor.discard()

    ours_f, bare_f, ours_cpu, bare_cpu = [], [], [], []
    for _ in range(RUNS):
        t, c = time.perf_counter(), time.process_time()
        bare_flatten(base)
        bare_f.append(time.perf_counter() - t)
        bare_cpu.append(time.process_time() - c)
        t, c = time.perf_counter(), time.process_time()
        ours_flatten(base)
        ours_f.append(time.perf_counter() - t)
        ours_cpu.append(time.process_time() - c)
    print(f"flatten + PNG, 20 edits: Pillow alone {median_ms(bare_f):6.1f} ms, "
          f"ours {median_ms(ours_f):6.1f} ms, ratio "
          f"{statistics.median(ours_f) / statistics.median(bare_f):.2f}x "
          f"(CPU time ratio {statistics.median(ours_cpu) / statistics.median(bare_cpu):.2f}x; "
          "budget 1.3x)")


if __name__ == "__main__":
    main()
