"""Start-up: Step Desk's window vs a bare PySide6 QMainWindow built from the same widget classes.

Both run as fresh subprocesses (offscreen), alternating, several rounds; each reports the
wall-clock time from just before the parent spawned it to the window's first Paint event.
Step Desk is measured against a data dir holding one 50-message conversation (the last one
opened), and also reports when that conversation is readable (shown, first page rendered).
Budgets (DESIGN.md): first paint ≤ 2× the bare window; the conversation readable ≤ 3×.
With `--empty` (issue 10's comparison): an empty data dir, first paint only, budget ≤ 1.5×;
`--platform xcb` measures on the X display in $DISPLAY (the window really mapped) instead of
offscreen.

    python tests/bench/bench_startup.py [--rounds 7] [--empty] [--platform xcb]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

BARE = r"""
import sys, time, json
from PySide6.QtCore import QObject, QEvent, QTimer, Qt
from PySide6.QtWidgets import (QApplication, QMainWindow, QSplitter, QWidget, QVBoxLayout,
    QHBoxLayout, QLineEdit, QPushButton, QListWidget, QTabWidget, QStackedWidget, QTreeWidget,
    QScrollArea, QPlainTextEdit, QComboBox, QToolButton, QLabel, QFrame, QProgressBar)
app = QApplication(sys.argv[:1])
class First(QObject):
    def eventFilter(self, obj, event):
        if event.type() == QEvent.Type.Paint and obj is win:
            print(json.dumps({"paint": time.time(), "cpu": time.process_time()}), flush=True)
            QTimer.singleShot(0, app.quit)
            app.removeEventFilter(self)
        return False
win = QMainWindow()
win.setWindowTitle("bare")
side = QWidget(); s = QVBoxLayout(side)
top = QHBoxLayout(); top.addWidget(QLineEdit()); top.addWidget(QPushButton("New")); s.addLayout(top)
tabs = QTabWidget(); stack = QStackedWidget(); stack.addWidget(QListWidget())
stack.addWidget(QListWidget()); tabs.addTab(stack, "Chats"); tabs.addTab(QTreeWidget(), "Files")
s.addWidget(tabs)
right = QWidget(); r = QVBoxLayout(right)
banner = QFrame(); banner.hide(); r.addWidget(banner)
area = QScrollArea(); area.setWidget(QWidget()); area.setWidgetResizable(True); r.addWidget(area, 1)
tray = QScrollArea(); tray.hide(); r.addWidget(tray); r.addWidget(QPlainTextEdit())
row = QHBoxLayout()
for w in (QToolButton(), QToolButton(), QComboBox(), QComboBox(), QPushButton("Send")):
    row.addWidget(w)
r.addLayout(row)
split = QSplitter(); split.addWidget(side); split.addWidget(right)
win.setCentralWidget(split)
for name in ("&File", "&Edit", "&Help"):
    win.menuBar().addMenu(name)
for text in ("", "step-3.7-flash", "Starting"):
    win.statusBar().addPermanentWidget(QLabel(text))
QProgressBar()
win.resize(1100, 760)
first = First(); app.installEventFilter(first)
win.show()
app.exec()
"""

APP = r"""
import sys, time, json, os
from PySide6.QtCore import QObject, QEvent
from PySide6.QtWidgets import QApplication
app = QApplication(sys.argv[:1])
marks = {}
class First(QObject):
    def eventFilter(self, obj, event):
        if event.type() == QEvent.Type.Paint and type(obj).__name__ == "MainWindow":
            if "paint" not in marks:
                marks["paint"] = time.time()
                marks["cpu"] = time.process_time()
                if os.environ.get("BENCH_PAINT_ONLY"):
                    QTimer.singleShot(0, obj.close)
                else:
                    obj.conversation_shown.connect(lambda _c: self.shown(obj))
        return False
    def shown(self, win):
        marks.setdefault("shown", time.time())
        def poll():
            if win.view.is_idle():
                marks["readable"] = time.time()
                marks["messages"] = win.view.message_count
                win.close()
            else:
                QTimer.singleShot(5, poll)
        poll()
from PySide6.QtCore import QTimer
first = First(); app.installEventFilter(first)
from app.ui.app import run_gui
code = run_gui([])
print(json.dumps(marks), flush=True)
sys.exit(code)
"""


def seed(data_dir: Path, messages: int = 50) -> None:
    """One conversation of `messages` messages (Markdown answers), the one reopened."""
    from app.config import resolve_paths
    from app.store import Store

    async def fill() -> None:
        paths = resolve_paths({"STEPDESK_DATA_DIR": str(data_dir)})
        paths.data_dir.mkdir(parents=True, exist_ok=True)
        store = await Store.open(paths.db_path, owner_dir=paths.owner_dir)
        try:
            conv = await store.create_conversation("Benchmark conversation", "step-3.7-flash",
                                                   "medium")
            for turn in range(messages // 2):
                user = await store.add_user_message(
                    conv.id, f"Question {turn}: how does part {turn} work?", [],
                    model="step-3.7-flash", effort="medium")
                reply = await store.start_assistant_message(
                    conv.id, reply_to=user.id, model="step-3.7-flash", effort="medium")
                answer = (f"## Part {turn}\n\nIt works in **three** steps:\n\n1. read\n"
                          f"2. think\n3. answer\n\n```python\nprint({turn})\n```\n")
                await store.append_reply(reply.id, "Thinking about it. " * 20, answer, None)
                await store.finish_message(reply.id, "complete", finish_reason="stop")
        finally:
            await store.close()

    asyncio.run(fill())


def measure(script: str, env: dict[str, str]) -> dict[str, float]:
    start = time.time()
    out = subprocess.run([sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True,
                         text=True, timeout=60, check=False)
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if out.returncode != 0 or not lines:
        raise RuntimeError(f"child failed ({out.returncode}): {out.stderr[-2000:]}")
    marks = json.loads(lines[-1])
    return {k: v * 1000 if k == "cpu" else v if k == "messages" else (v - start) * 1000
            for k, v in marks.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--empty", action="store_true", help="empty data dir, first paint only")
    parser.add_argument("--platform", default="offscreen", help="Qt platform (xcb: $DISPLAY)")
    args = parser.parse_args()
    from tests.standin import StandIn

    server = StandIn(api_key="sk-bench").start()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        if not args.empty:
            seed(data_dir)
        # PYTHONDONTWRITEBYTECODE would have every round compile Step Desk's modules from
        # source (an installed app has its bytecode caches): the warm-up run writes them.
        base = {k: v for k, v in os.environ.items()
                if not k.startswith(("STEP", "QT_")) and k != "PYTHONDONTWRITEBYTECODE"}
        base |= {"QT_QPA_PLATFORM": args.platform, "QT_API": "pyside6",
                 "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
                 "PYTHONPATH": str(ROOT)}
        app_env = base | {"STEPDESK_DATA_DIR": str(data_dir), "STEP_API_KEY": "sk-bench",
                          "STEP_BASE_URL": server.base_url}
        if args.empty:
            app_env["BENCH_PAINT_ONLY"] = "1"
        measure(BARE, base)  # warm the OS file cache for both
        measure(APP, app_env)
        bare, paint, shown, readable, bare_cpu, cpu = [], [], [], [], [], []
        for _ in range(args.rounds):
            marks = measure(BARE, base)
            bare.append(marks["paint"])
            bare_cpu.append(marks["cpu"])
            marks = measure(APP, app_env)
            paint.append(marks["paint"])
            cpu.append(marks["cpu"])
            if not args.empty:
                assert marks.get("messages") == 50, marks
                shown.append(marks["shown"])
                readable.append(marks["readable"])
    server.stop()
    b, p = statistics.median(bare), statistics.median(paint)
    where = "empty data dir" if args.empty else "one 50-message conversation"
    print(f"rounds: {args.rounds} (medians, ms from spawn; {args.platform}; {where})")
    print(f"bare QMainWindow first paint:      {b:7.0f} ms")
    print(f"Step Desk first paint:             {p:7.0f} ms   ratio {p / b:.2f}x "
          f"(budget {1.5 if args.empty else 2}x)")
    bc, c = statistics.median(bare_cpu), statistics.median(cpu)
    print(f"CPU time until first paint:  bare {bc:5.0f} ms, Step Desk {c:5.0f} ms   ratio "
          f"{c / bc:.2f}x (what a loaded machine disturbs least)")
    print("all rounds  bare:", [round(x) for x in bare])
    print("            paint:", [round(x) for x in paint])
    if args.empty:
        return
    s, r = statistics.median(shown), statistics.median(readable)
    print(f"Step Desk conversation shown:      {s:7.0f} ms   ratio {s / b:.2f}x (plain text)")
    print(f"Step Desk 50 messages readable:    {r:7.0f} ms   ratio {r / b:.2f}x (budget 3x; "
          "Markdown rendered)")
    print("            shown:", [round(x) for x in shown])
    print("            readable:", [round(x) for x in readable])


if __name__ == "__main__":
    main()
