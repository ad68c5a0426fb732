"""Memory of Step Desk in the tray with no conversation open, against a bare PySide6 tray app.

Budget (issue 13): ≤ 1.3× the bare app's. Both run in this one X session (Xvfb + openbox +
trayer, tests/xdesk.py) and are measured the same way once idle: RSS (what `top` shows; the
Qt and Python libraries count in full for each process), USS (pages only this process has:
what quitting it would give back; the libraries' pages both processes share count for
neither) and PSS (shared pages split between their users). Two ways to be in the tray:

- closed: `stepdesk` started, its window shown, then closed to the tray (Alt+F4);
- background: `stepdesk capture` with no instance running starts one in the background
  (window never shown); the picker is cancelled with Esc.

For scale, a third process is the floor of any app built like Step Desk: the bare tray app
plus what every such app runs on (asyncio under qasync, QtNetwork's local socket for the
single instance, sqlite3), with no app code at all.

Run: `python tests/bench/bench_tray_memory.py`.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.bench.bench_capture import (  # noqa: E402
    BARE_TRAY,
    closed_to_tray,
    started_in_background,
)
from tests.conftest import TEST_API_KEY  # noqa: E402
from tests.standin import StandIn  # noqa: E402
from tests.xdesk import Proc, x_desktop  # noqa: E402

FLOOR = BARE_TRAY.replace('print("ready", flush=True)\napp.exec()\n', """
import asyncio, os, sqlite3
import qasync
from PySide6.QtNetwork import QLocalServer
server = QLocalServer()
server.listen(f"bench-tray-floor-{os.getpid()}")
db = sqlite3.connect(":memory:")
loop = qasync.QEventLoop(app)
asyncio.set_event_loop(loop)
print("ready", flush=True)
with loop:
    loop.run_forever()
""")
assert FLOOR != BARE_TRAY
FLOOR_PARTS = {  # what the floor is made of: each part alone on the bare tray app
    "ssl (what asyncio imports)": "import ssl",
    "asyncio (with its ssl)": "import asyncio",
    "qasync loop (with asyncio)": "import asyncio, qasync\n"
                                  "asyncio.set_event_loop(qasync.QEventLoop(app))",
    "sqlite3 (a connection)": "import sqlite3\ndb = sqlite3.connect(':memory:')",
    "QtNetwork (a local server)": "import os\nfrom PySide6.QtNetwork import QLocalServer\n"
                                  "server = QLocalServer()\n"
                                  "server.listen(f'bench-tray-part-{os.getpid()}')",
}


def with_part(code: str) -> str:
    return BARE_TRAY.replace('print("ready", flush=True)', f'{code}\nprint("ready", flush=True)')


def memory_kb(pid: int) -> dict[str, int]:
    """RSS, USS and PSS of a process in KiB (/proc/PID/smaps_rollup)."""
    fields: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        name, _, rest = line.partition(":")
        if rest.strip().endswith("kB"):
            fields[name] = int(rest.split()[0])
    return {"rss": fields["Rss"], "pss": fields["Pss"],
            "uss": fields["Private_Clean"] + fields["Private_Dirty"]}


def settled(pid: int) -> dict[str, int]:
    """Once idle: the largest of the last samples a quarter second apart, per measure."""
    samples = []
    for _ in range(12):
        time.sleep(0.25)
        samples.append(memory_kb(pid))
    return {key: max(s[key] for s in samples[-4:]) for key in samples[0]}


def main() -> None:
    tmp = Path(f"/tmp/stepdesk-bench-tray-{time.time_ns()}")
    standin = StandIn(api_key=TEST_API_KEY).start()
    rows = []
    parts: list[tuple[str, int]] = []
    with x_desktop() as desk:
        tray = desk.start_tray()
        bare = Proc(desk, ["-c", BARE_TRAY], log=tmp.with_suffix(".bare.log"))
        floor = Proc(desk, ["-c", FLOOR], log=tmp.with_suffix(".floor.log"),
                     env={"QT_API": "pyside6"})
        try:
            assert bare.read_line() == "ready", bare.text()
            assert floor.read_line() == "ready", floor.text()
            rows.append(("floor", settled(floor.popen.pid), settled(bare.popen.pid)))
            for part, code in FLOOR_PARTS.items():
                proc = Proc(desk, ["-c", with_part(code)], log=tmp.with_suffix(".part.log"),
                            env={"QT_API": "pyside6"})
                try:
                    assert proc.read_line() == "ready", proc.text()
                    parts.append((part, settled(proc.popen.pid)["rss"]
                                  - settled(bare.popen.pid)["rss"]))
                finally:
                    proc.stop()
            for name, start in (("closed", closed_to_tray),
                                ("background", started_in_background)):
                data = tmp / name
                data.mkdir(parents=True)
                env = {"STEPDESK_DATA_DIR": str(data), "STEP_BASE_URL": standin.base_url,
                       "STEP_API_KEY": TEST_API_KEY,
                       "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring"}
                app = start(desk, env, tmp / f"{name}.log")
                try:
                    rows.append((name, settled(app.popen.pid), settled(bare.popen.pid)))
                finally:
                    app.stop()
        finally:
            bare.stop()
            floor.stop()
            tray.terminate()
            tray.wait(10)
    standin.stop()
    print("Step Desk in the tray, no conversation open, vs a bare PySide6 tray app "
          "(budget 1.30×)")
    for name, app_kb, bare_kb in rows:
        for key in ("rss", "uss", "pss"):
            ratio = app_kb[key] / bare_kb[key]
            who = "qasync floor" if name == "floor" else "Step Desk   "
            verdict = "(no app code)" if name == "floor" else "OK" if ratio <= 1.3 else "OVER"
            print(f"  {name:10s} {key.upper()}: {who} {app_kb[key] / 1024:6.1f} MB, "
                  f"bare {bare_kb[key] / 1024:6.1f} MB → {ratio:.2f}×  {verdict}")
    floor_kb = rows[0][1]
    for name, app_kb, _ in rows[1:]:
        print(f"  {name:10s} vs the qasync floor: RSS {app_kb['rss'] / floor_kb['rss']:.2f}×, "
              f"USS {app_kb['uss'] / floor_kb['uss']:.2f}×, PSS "
              f"{app_kb['pss'] / floor_kb['pss']:.2f}×")
    print("The floor's parts, each alone on the bare tray app (RSS added):")
    for part, added in parts:
        print(f"  {part:28s} +{added / 1024:5.1f} MB")


if __name__ == "__main__":
    main()
