"""What keeps a tray-only Step Desk small (tests/bench/bench_tray_memory.py measures it).

shiboken6's import hook reads each new module's source: it must not keep it (linecache);
and what only a conversation, an image or a sync needs is imported when first used.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import linecache, sys
import PySide6.QtCore
from app.ui.platform.source_scan import keep_sources_out_of_linecache
assert keep_sources_out_of_linecache(), "this shiboken has no source check to replace"
sys.path.insert(0, sys.argv[1])
import uses_qt, plain
from shibokensupport.feature import pyside_feature_dict
print(pyside_feature_dict["uses_qt"], pyside_feature_dict["plain"])
print(sorted(name for name in linecache.cache if name.startswith(sys.argv[1])))
"""


def test_modules_imported_after_pyside6_are_judged_without_caching_their_source(
        tmp_path: Path) -> None:
    (tmp_path / "uses_qt.py").write_text("from PySide6.QtCore import QObject\n")
    (tmp_path / "plain.py").write_text("VALUE = 1\n" * 2000)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path)], env=env, cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    # shiboken's own verdicts (0: uses PySide, -1: ignore), and no source left behind.
    assert out.stdout.splitlines() == ["0 -1", "[]"]


LAZY = """
import sys
import app.ui.app, app.ui.background, app.ui.main_window, app.ui.controllers.session
import app.sync.runner, app.ui.controllers.sync, app.ui.controllers.library
print(sorted({name.split(".")[0] for name in sys.modules} & set(sys.argv[1:])))
"""


def test_the_window_and_tray_modules_leave_heavy_libraries_to_first_use() -> None:
    heavy = ["PIL", "av", "cryptography", "keyring", "markdown_it", "pygments", "ziamath"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen"}
    out = subprocess.run([sys.executable, "-c", LAZY, *heavy], env=env, cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
