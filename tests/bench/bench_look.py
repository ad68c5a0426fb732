"""What the look costs at start-up: the theme (palette + the one style sheet) and the icons.

Two fresh offscreen processes, alternating, several rounds; each builds the same window (a
composer-like row of 12 tool buttons, a list, a text box) and reports the time from process
start to the window's first Paint — one plain, one with `apply_theme` and Lucide icons on the
buttons. Both import the QtCore names every real window imports (the first `Qt` import costs
PySide ~100 ms of one-off set-up, which is not the look's). The ratio is the look's share.

    python tests/bench/bench_look.py [--rounds 7]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROGRAM = r"""
import sys, time, json
started = time.perf_counter()
from PySide6.QtCore import QObject, QEvent, QTimer, Qt, QSize, QByteArray, QRect  # as any window
from PySide6.QtWidgets import (QApplication, QWidget, QVBoxLayout, QHBoxLayout, QToolButton,
    QListWidget, QPlainTextEdit)
LOOK = sys.argv[1] == "look"
app = QApplication(sys.argv[:1])
if LOOK:
    from PySide6.QtGui import QFont
    from app.ui.style.theme import LIGHT, apply_theme
    from app.ui.style.icons import icon
    apply_theme(app, LIGHT, QFont(app.font()))
win = QWidget()
col = QVBoxLayout(win)
col.addWidget(QListWidget())
col.addWidget(QPlainTextEdit())
row = QHBoxLayout()
NAMES = ["paperclip", "scan-line", "layout-template", "arrow-up", "square-pen", "panel-left",
         "copy", "pencil", "refresh-cw", "chevron-left", "chevron-right", "pin"]
for name in NAMES:
    button = QToolButton()
    if LOOK:
        button.setIcon(icon(name))
        button.setProperty("role", "icon")
    else:
        button.setText(name)
    row.addWidget(button)
col.addLayout(row)
class First(QObject):
    def eventFilter(self, obj, event):
        if event.type() == QEvent.Type.Paint and obj is win:
            print(json.dumps({"paint_s": time.perf_counter() - started}), flush=True)
            QTimer.singleShot(0, app.quit)
            app.removeEventFilter(self)
        return False
first = First()
app.installEventFilter(first)
win.resize(900, 600)
win.show()
app.exec()
"""


def run(kind: str) -> float:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", PROGRAM, kind], env=env, cwd=ROOT,
                         capture_output=True, text=True, check=True, timeout=60)
    return float(json.loads(out.stdout.strip().splitlines()[-1])["paint_s"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    plain: list[float] = []
    look: list[float] = []
    for _ in range(args.rounds):
        plain.append(run("plain"))
        look.append(run("look"))
    p, lk = statistics.median(plain), statistics.median(look)
    print(f"first paint, plain widgets:       {p * 1000:7.1f} ms (median of {args.rounds})")
    print(f"first paint, theme + 12 icons:     {lk * 1000:7.1f} ms")
    print(f"ratio {lk / p:.2f}×  (the look's cost: {1000 * (lk - p):+.1f} ms)")


if __name__ == "__main__":
    main()
