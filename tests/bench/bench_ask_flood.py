"""`stepdesk ask` consuming the stand-in's 20,000-delta flood, end to end, as a user runs it,
vs a bare httpx script that only reads the same stream's lines (budget ≤ 1.5×).

Both are fresh processes, alternating, several rounds; medians of wall time are compared.
Run: `python tests/bench/bench_ask_flood.py [--rounds N]`.
"""

from __future__ import annotations

import argparse
import os
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


def timed(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, env=env)
    return time.perf_counter() - start


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
            for _ in range(args.rounds):
                bare.append(timed([sys.executable, "-c", BARE, server.base_url, KEY], env))
                ask.append(timed([sys.executable, "-m", "app", "ask", "hi"], env))
    finally:
        server.stop()
    b, a = statistics.median(bare), statistics.median(ask)
    print(f"bare httpx line reader: {b * 1000:7.1f} ms (median of {args.rounds})")
    print(f"stepdesk ask:           {a * 1000:7.1f} ms")
    print(f"ratio {a / b:.2f}× (budget ≤ 1.5×)")


if __name__ == "__main__":
    main()
