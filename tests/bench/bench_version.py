"""`stepdesk --version` start-up: ≤ `python -c pass` + 50 ms, with no httpx / PySide6 / PIL.

Both commands run as fresh processes, alternating, several rounds; medians are compared.
Run: `python tests/bench/bench_version.py [--rounds N]`.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHECK = ("import sys, app.main; app.main.main(['--version']); "
         "assert not {'httpx', 'PySide6', 'PIL'} & set(sys.modules), 'heavy import'")


def timed(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    subprocess.run([sys.executable, "-c", CHECK], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)
    bare, version = [], []
    for _ in range(args.rounds):
        bare.append(timed([sys.executable, "-c", "pass"]))
        version.append(timed([sys.executable, "-m", "app", "--version"]))
    b, v = statistics.median(bare), statistics.median(version)
    print(f"python -c pass:       {b * 1000:7.1f} ms (median of {args.rounds})")
    print(f"stepdesk --version:   {v * 1000:7.1f} ms")
    print(f"overhead: {(v - b) * 1000:+.1f} ms (budget +50 ms); ratio {v / b:.2f}×; "
          "no httpx/PySide6/PIL imported: yes")


if __name__ == "__main__":
    main()
