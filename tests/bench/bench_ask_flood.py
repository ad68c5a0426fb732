"""`stepdesk ask` consuming the stand-in's 20,000-delta flood, end to end, as a user runs it,
vs a bare httpx script that only reads the same stream's lines (budget ≤ 1.5×).

Both are fresh processes, alternating, several rounds; medians of wall and CPU time are
compared. The children may write bytecode (PYTHONDONTWRITEBYTECODE is dropped) and one unmeasured
round runs first, so both start from compiled modules, as an installed `stepdesk` does.
Run: `python tests/bench/bench_ask_flood.py [--rounds N]`.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.standin import StandIn  # noqa: E402

KEY = "sk-bench-key-0123456789abcdef"
BARE = """
import sys, httpx
body = {"model": "step-3.7-flash", "stream": True,
        "messages": [{"role": "user", "content": "hi"}]}
with httpx.Client(trust_env=False, timeout=60) as client:
    with client.stream("POST", sys.argv[1] + "/chat/completions", json=body,
                       headers={"Authorization": "Bearer " + sys.argv[2]}) as response:
        lines = sum(1 for _ in response.iter_lines())
print(lines)
"""


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one child process; CPU time is what a loaded machine
    disturbs least, so both are reported."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, env=env)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    server = StandIn(api_key=KEY)
    server.start()
    try:
        server.fault("flood", times=None)
        bare, ask = [], []
        with tempfile.TemporaryDirectory() as data:
            env = {**os.environ, "STEP_API_KEY": KEY, "STEP_BASE_URL": server.base_url,
                   "STEPDESK_DATA_DIR": data, "PYTHONPATH": str(ROOT),
                   "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring"}
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            for _ in range(args.rounds + 1):
                bare.append(timed([sys.executable, "-c", BARE, server.base_url, KEY], env))
                ask.append(timed([sys.executable, "-m", "app", "ask", "hi"], env))
    finally:
        server.stop()
    bare, ask = bare[1:], ask[1:]  # the warm-up round compiled the modules
    for i, what in enumerate(("wall", "CPU")):
        b = statistics.median(x[i] for x in bare)
        a = statistics.median(x[i] for x in ask)
        print(f"{what:>4}: bare httpx line reader {b * 1000:7.1f} ms, stepdesk ask "
              f"{a * 1000:7.1f} ms (medians of {args.rounds}): ratio {a / b:.2f}× "
              "(budget ≤ 1.5×)")


if __name__ == "__main__":
    main()
