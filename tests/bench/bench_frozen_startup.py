"""Start-up of the frozen app vs the same app from source: spawn → the window's first paint.

Both run the very same code path (`stepdesk --smoke-test` with STEPDESK_SMOKE_STARTUP=1 is the
ordinary `run_gui()` start that prints the first paint's time and closes the window), as fresh
processes, alternating, several rounds, on an existing empty data dir. Budget: frozen ≤ 1.5×
source. Without --bundle, the bundle is built first with build.spec into a temporary folder
and the build time is reported too.

    python tests/bench/bench_frozen_startup.py [--bundle dist/stepdesk] [--rounds 7]
                                               [--platform offscreen|xcb]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BUDGET = 1.5


def build(into: Path) -> tuple[Path, float]:
    """Build the bundle with build.spec into `into`; returns (bundle folder, seconds)."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
                    "--workpath", str(into / "build"), "--distpath", str(into / "dist"),
                    str(ROOT / "build.spec")], cwd=ROOT, check=True)
    return into / "dist" / "stepdesk", time.perf_counter() - started


def first_paint_ms(argv: list[str], env: dict[str, str]) -> float:
    """Milliseconds from just before the spawn to the first paint the child reports."""
    started = time.time()
    proc = subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, text=True, timeout=60,
                          check=False)
    marks = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not marks:
        raise RuntimeError(f"{argv[0]} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return (marks[-1]["paint"] - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, help="an existing dist/stepdesk folder")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--platform", default="offscreen",
                        help="QT_QPA_PLATFORM (xcb needs a DISPLAY, e.g. under xvfb-run)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="stepdesk-bench-") as tmp:
        build_s = None
        bundle = args.bundle
        if bundle is None:
            bundle, build_s = build(Path(tmp))
        frozen_exe = bundle / ("stepdesk.exe" if sys.platform == "win32" else "stepdesk")
        data = Path(tmp) / "data"
        data.mkdir()
        base = {k: v for k, v in os.environ.items() if not k.startswith(("STEP", "QT_"))}
        base |= {"QT_QPA_PLATFORM": args.platform, "QT_API": "pyside6",
                 "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
                 "STEPDESK_DATA_DIR": str(data), "STEP_API_KEY": "sk-bench-not-a-key",
                 "STEP_BASE_URL": "http://127.0.0.1:9/v1", "STEPDESK_SMOKE_STARTUP": "1"}
        source_env = base | {"PYTHONPATH": str(ROOT)}
        source = [sys.executable, "-m", "app", "--smoke-test"]
        frozen = [str(frozen_exe), "--smoke-test"]
        first_paint_ms(source, source_env)  # warm the file cache; creates the database
        first_paint_ms(frozen, base)
        from_source, from_bundle = [], []
        for _ in range(args.rounds):
            from_source.append(first_paint_ms(source, source_env))
            from_bundle.append(first_paint_ms(frozen, base))
    s, f = statistics.median(from_source), statistics.median(from_bundle)
    print(f"rounds: {args.rounds} (medians, ms from spawn to first paint; {args.platform})")
    if build_s is not None:
        print(f"build (PyInstaller, build.spec):  {build_s:7.1f} s")
    print(f"from source (python -m app):      {s:7.0f} ms")
    print(f"frozen (dist/stepdesk/stepdesk):  {f:7.0f} ms   ratio {f / s:.2f}x "
          f"(budget {BUDGET}x)")
    print("all rounds  source:", [round(x) for x in from_source])
    print("            frozen:", [round(x) for x in from_bundle])


if __name__ == "__main__":
    main()
