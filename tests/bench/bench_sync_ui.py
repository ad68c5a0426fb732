"""Benchmark: the window's loop while Settings → Sync works (budget: largest gap ≤ 50 ms).

The real Sync page and SyncController on qasync, offscreen, with a 5 ms heartbeat timer
recording how late the loop gets:
1. idle for 2 s (the machine's own noise, the baseline);
2. "Sync now" to a fresh folder with the production key derivation (Argon2id, 64 MiB): the
   repository is created, the history packed, sealed and written;
3. "Restore from…": the snapshot listed, fetched, checked and put in place of the open store;
4. a second "Sync now" (the key derived again to unlock);
5. "Sync now" while a reply streams into the store (an append every 10 ms, as a turn's
   batched writes): the loop's largest gap and the slowest append (how long the snapshot
   held the store's writes up).
Prints each phase's duration and largest gap, and the gap's ratio to the idle baseline.
Run: `python tests/bench/bench_sync_ui.py [conversations]` (default 1,000, 2 messages each).
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["QT_API"] = "pyside6"
os.environ.setdefault("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.bench.heartbeat import Heartbeat  # noqa: E402

BUDGET_MS = 50.0


async def measure(beat: Heartbeat, work: Callable[[], Awaitable[object]]) -> tuple[float, float]:
    beat.start()
    started = time.perf_counter()
    await work()
    seconds = time.perf_counter() - started
    return seconds, beat.stop()


async def until(predicate: Callable[[], bool], timeout: float = 600) -> None:
    deadline = time.perf_counter() + timeout
    while not predicate():
        if time.perf_counter() > deadline:
            raise TimeoutError("the page never answered")
        await asyncio.sleep(0.01)


async def main(conversations: int) -> None:
    from app.secret_store import SecretStore
    from app.sync.secrets import PASSPHRASE
    from tests.ui.sync_helpers import open_ui

    root = Path(tempfile.mkdtemp(prefix="bench-sync-ui-"))
    ui = await open_ui(root / "data")
    store = ui.services.store
    for i in range(conversations):
        conv = await store.create_conversation(f"Conversation {i}", "step-3.7-flash", None)
        user = await store.add_user_message(conv.id, f"question {i} " * 20, [], model=None,
                                            effort=None)
        reply = await store.start_assistant_message(conv.id, reply_to=user.id, model=None,
                                                    effort=None)
        await store.append_reply(reply.id, "thinking " * 30, f"answer {i} " * 60, None)
        await store.finish_message(reply.id, "complete", finish_reason="stop")
    SecretStore(ui.services.paths.config_dir).set(PASSPHRASE, "bench passphrase",
                                                  use_keychain=False)
    beat = Heartbeat()
    _dialog, page = ui.open_page()
    page.target.setText(str(root / "remote"))

    async def idle() -> None:
        await asyncio.sleep(2.0)

    async def sync_now() -> None:
        page.result.setText("")  # two syncs in a row may well say the same
        page.sync_button.click()
        await until(lambda: page.sync_button.isEnabled() and bool(page.result.text()))
        await ui.controller.wait()
        if not page.result.text().startswith("Synced"):
            raise RuntimeError(page.result.text())

    async def restore() -> None:
        dialog = ui.controller.open_restore()
        await until(lambda: bool(dialog.entries()))
        dialog.select(dialog.entries()[0])
        dialog.restore_button.click()
        await until(lambda: dialog.status.text().startswith("Restored"))

    appends: list[float] = []

    async def sync_while_streaming() -> None:
        conv = await store.create_conversation("Streaming", "step-3.7-flash", None)
        user = await store.add_user_message(conv.id, "go on", [], model=None, effort=None)
        reply = await store.start_assistant_message(conv.id, reply_to=user.id, model=None,
                                                    effort=None)
        streaming = True

        async def stream() -> None:
            while streaming:
                started = time.perf_counter()
                await store.append_reply(reply.id, "", "a streamed part of an answer ", None)
                appends.append(time.perf_counter() - started)
                await asyncio.sleep(0.01)

        writer = asyncio.ensure_future(stream())
        try:
            await sync_now()
        finally:
            streaming = False
            await writer
        await store.finish_message(reply.id, "complete", finish_reason="stop")

    rows = []
    idle_s, idle_gap = await measure(beat, idle)
    rows.append(("idle (baseline)", idle_s, idle_gap))
    for name, work in (("first Sync now (Argon2id 64 MiB, pack, seal, write)", sync_now),
                       ("Restore from… (list, fetch, check, swap)", restore),
                       ("second Sync now (unlock)", sync_now),
                       ("Sync now while a reply streams into the store", sync_while_streaming)):
        seconds, gap = await measure(beat, work)
        rows.append((name, seconds, gap))
    size = sum(p.stat().st_size for p in (root / "remote").rglob("snap-*"))
    await ui.close()
    print(f"history: {conversations:,} conversations, {conversations * 2:,} messages; "
          f"snapshot on the target {size / 1e6:.2f} MB")
    for name, seconds, gap in rows:
        ratio = gap / idle_gap if idle_gap else float("nan")
        verdict = "ok" if gap <= BUDGET_MS else "OVER BUDGET"
        print(f"{name:<55} {seconds:7.2f} s  largest gap {gap:6.1f} ms "
              f"({ratio:4.1f}× idle)  {verdict}")
    print(f"while streaming: {len(appends)} appends, slowest {max(appends) * 1000:.1f} ms, "
          f"median {sorted(appends)[len(appends) // 2] * 1000:.1f} ms")


if __name__ == "__main__":
    from app.ui.app import make_application, make_loop

    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    loop = make_loop(make_application())
    asyncio.set_event_loop(loop)
    try:
        loop.run_until_complete(main(count))
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
