"""Persistence during a paced stream: SQLite commits ≤ duration / 0.25 s + 2.

Streams the stand-in's paced reply (default 20,000 deltas over 20 s) through the real chat
engine into a real SQLite file and counts the write transactions made between TurnStarted and
the end of the turn. Run: `python tests/bench/bench_persist.py [--count N --duration S]`.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from app.config import Settings, account_id, resolve_paths
from app.services import make_client
from app.store import BlobStore, Store
from app.turn_events import ContentDelta, TurnFinished, TurnStarted
from tests.standin import StandIn

KEY = "sk-bench-key-0123456789"


async def measure(base_url: str, data: Path) -> tuple[int, float, int]:
    from app.chat import ChatEngine

    paths = resolve_paths({"STEPDESK_DATA_DIR": str(data)})
    store = await Store.open(paths.db_path, owner_dir=paths.owner_dir)
    settings = Settings.resolve({"STEP_BASE_URL": base_url}, {}, paths)
    client = make_client(settings, KEY)
    engine = ChatEngine(store=store, client=client, blobs=BlobStore(paths.blob_dir),
                        settings=settings, account=account_id(KEY))
    commits_at_start, started, deltas = 0, 0.0, 0
    async for event in engine.send(None, "stream a lot"):
        if isinstance(event, TurnStarted):
            commits_at_start, started = store.commit_count, time.perf_counter()
        elif isinstance(event, ContentDelta):
            deltas += 1
        elif isinstance(event, TurnFinished):
            break
    duration = time.perf_counter() - started
    commits = store.commit_count - commits_at_start
    await client.aclose()
    await store.close()
    return commits, duration, deltas


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--duration", type=float, default=20.0)
    args = parser.parse_args()
    server = StandIn(api_key=KEY).start()
    try:
        server.fault("paced", count=args.count, duration=args.duration)
        with tempfile.TemporaryDirectory() as tmp:
            commits, duration, deltas = asyncio.run(measure(server.base_url, Path(tmp)))
    finally:
        server.stop()
    budget = duration / 0.25 + 2
    print(f"paced stream: {deltas} deltas over {duration:.2f} s")
    print(f"commits during the turn: {commits} (budget ≤ {budget:.1f}; "
          f"ratio {commits / budget:.2f} of budget; {deltas / max(commits, 1):.0f} deltas/commit)")


if __name__ == "__main__":
    main()
