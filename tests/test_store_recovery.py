"""Crash recovery by owner lock, and two processes sharing one database, for real."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from app.store import INTERRUPTED_ERROR, Store

ROOT = Path(__file__).resolve().parents[1]

STREAMER = textwrap.dedent("""
    import asyncio, sys, time
    from pathlib import Path
    from app.store import Store

    async def main():
        s = await Store.open(Path(sys.argv[1]), owner_dir=Path(sys.argv[2]))
        c = await s.create_conversation("crash", "m", None)
        q = await s.add_user_message(c.id, "question", [], model="m", effort=None)
        a = await s.start_assistant_message(c.id, reply_to=q.id, model="m", effort=None)
        await s.append_reply(a.id, "thinking hard", "a partial wombat answer", None)
        print(a.id, flush=True)
        time.sleep(120)

    asyncio.run(main())
""")

WRITER = textwrap.dedent("""
    import asyncio, sys
    from pathlib import Path
    from app.store import Store

    async def main():
        s = await Store.open(Path(sys.argv[1]), owner_dir=Path(sys.argv[2]))
        c = await s.create_conversation("busy", "m", None)
        print(c.id, flush=True)
        for turn in range(20):
            q = await s.add_user_message(c.id, f"question {turn}", [], model="m", effort=None)
            a = await s.start_assistant_message(c.id, reply_to=q.id, model="m", effort=None)
            for n in range(15):
                await s.append_reply(a.id, "r", f"chunk {n} ", None)
            await s.finish_message(a.id, "complete")
        await s.close()
        print("done", flush=True)

    asyncio.run(main())
""")


def spawn(script: str, *args: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", script, *map(str, args)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def integrity(path: Path) -> str:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
async def test_killed_process_reply_becomes_interrupted(data_dir: Path) -> None:
    path, owners = data_dir / "stepdesk.db", data_dir / "owners"
    proc = spawn(STREAMER, path, owners)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.strip().isdigit(), proc.stderr.read() if proc.stderr else line
        message_id = int(line)

        # The owner is alive: a second Store (say `stepdesk history list`) leaves it alone.
        other = await Store.open(path, owner_dir=owners)
        try:
            live = await other.get_message(message_id)
            assert live is not None and live.status == "streaming" and other.recovered == 0
        finally:
            await other.close()
        assert len(list(owners.glob("*.lock"))) == 1

        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()

    store = await Store.open(path, owner_dir=owners)
    try:
        assert store.recovered == 1
        msg = await store.get_message(message_id)
        assert msg is not None and msg.status == "interrupted"
        assert msg.error == INTERRUPTED_ERROR
        assert (msg.content, msg.reasoning) == ("a partial wombat answer", "thinking hard")
        assert msg.finished_at is not None
        assert [h.message_id for h in await store.search("wombat")] == [message_id]
        assert [p.stem for p in owners.glob("*.lock")] == [store.owner]  # stale lock swept
    finally:
        await store.close()
    assert integrity(path) == "ok"


async def test_own_streaming_rows_survive_a_second_store_in_process(data_dir: Path) -> None:
    path, owners = data_dir / "stepdesk.db", data_dir / "owners"
    first = await Store.open(path, owner_dir=owners)
    try:
        conv = await first.create_conversation("c", "m", None)
        reply = await first.start_assistant_message(conv.id, reply_to=None, model="m",
                                                    effort=None)
        second = await Store.open(path, owner_dir=owners)
        try:
            assert second.recovered == 0
            got = await second.get_message(reply.id)
            assert got is not None and got.status == "streaming"
        finally:
            await second.close()
    finally:
        await first.close()
    # Closed without finishing (a bug or a hard exit): the next open recovers it.
    third = await Store.open(path, owner_dir=owners)
    try:
        got = await third.get_message(reply.id)
        assert got is not None and got.status == "interrupted" and third.recovered == 1
    finally:
        await third.close()


async def test_reader_process_never_sees_database_locked(data_dir: Path) -> None:
    path, owners = data_dir / "stepdesk.db", data_dir / "owners"
    reader = await Store.open(path, owner_dir=owners)
    proc = spawn(WRITER, path, owners)
    try:
        assert proc.stdout is not None
        conv_id = int(proc.stdout.readline())
        reads = 0
        while proc.poll() is None or reads < 5:
            messages = await reader.list_messages(conv_id)
            await reader.active_messages(conv_id)
            await reader.search("chunk")
            await reader.set_setting("last_read", str(len(messages)))  # a write too
            reads += 1
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        assert "done" in out
        messages = await reader.list_messages(conv_id)
        assert len(messages) == 40 and all(m.status == "complete" for m in messages)
        assert messages[1].content.startswith("chunk 0 chunk 1 ")
        assert len(await reader.search("chunk", limit=100)) == 20
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        await reader.close()
    assert integrity(path) == "ok"
