"""Benchmark: how close `StepClient.stream_chat` comes to a bare httpx line loop.

Serves the stand-in's flood (20,000 small deltas, pre-rendered, as fast as the socket allows) and
times, alternating for several rounds, (a) a bare `aiter_lines()` + `json.loads` loop over the very
same stream and (b) `StepClient.stream_chat` consuming it into events. The budget is a client rate
of at least 0.7 × the bare rate.
Run: `python tests/bench/bench_stream.py [--deltas N] [--rounds R]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from app.api.client import StepClient  # noqa: E402
from app.api.events import ContentDelta  # noqa: E402
from app.api.request import ChatMessage, ChatRequest  # noqa: E402
from tests.standin import StandIn  # noqa: E402

KEY = "sk-bench"
BUDGET = 0.7
REQUEST = ChatRequest(model="step-3.7-flash", messages=(ChatMessage("user", "flood me"),))


async def bare(http: httpx.AsyncClient, base_url: str, deltas: int) -> float:
    """Seconds for the minimal correct consumer: lines, json.loads, pick out the delta text."""
    body = {"model": REQUEST.model, "stream": True,
            "messages": [{"role": "user", "content": "flood me"}]}
    start = time.perf_counter()
    got = 0
    async with http.stream("POST", base_url + "/chat/completions", json=body,
                           headers={"Authorization": f"Bearer {KEY}"}) as response:
        async for line in response.aiter_lines():
            if line.startswith("data: ") and line != "data: [DONE]":
                chunk = json.loads(line[6:])
                if chunk["choices"][0]["delta"].get("content"):
                    got += 1
    elapsed = time.perf_counter() - start
    assert got == deltas, got
    return elapsed


async def client(step: StepClient, deltas: int) -> float:
    start = time.perf_counter()
    got = 0
    async for event in step.stream_chat(REQUEST):
        if type(event) is ContentDelta:
            got += 1
    elapsed = time.perf_counter() - start
    assert got == deltas, got
    return elapsed


async def run(deltas: int, rounds: int) -> float:
    server = StandIn(api_key=KEY).start()
    try:
        server.fault("flood", count=deltas, times=None)
        async with httpx.AsyncClient(trust_env=False, timeout=60) as http, \
                StepClient(base_url=server.base_url, api_key=KEY) as step:
            await bare(http, server.base_url, deltas)  # warm up both paths and the render cache
            await client(step, deltas)
            bare_t, client_t = [], []
            for _ in range(rounds):
                bare_t.append(await bare(http, server.base_url, deltas))
                client_t.append(await client(step, deltas))
    finally:
        server.stop()
    b, c = statistics.median(bare_t), statistics.median(client_t)
    ratio = b / c
    print(f"deltas per stream : {deltas:,}   rounds: {rounds} (median reported)")
    print(f"bare httpx lines  : {b * 1e6 / deltas:7.2f} µs/delta  ({deltas / b:,.0f} deltas/s)")
    print(f"StepClient events : {c * 1e6 / deltas:7.2f} µs/delta  ({deltas / c:,.0f} deltas/s)")
    print(f"ratio client/bare : {ratio:.2f}  (budget ≥ {BUDGET}) -> "
          f"{'OK' if ratio >= BUDGET else 'OVER BUDGET'}")
    return ratio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deltas", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(run(args.deltas, args.rounds))


if __name__ == "__main__":
    main()
