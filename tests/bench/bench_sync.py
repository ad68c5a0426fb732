"""Sync at scale: 100,000 messages and 2,000 images against a real local WebDAV server.

Budgets (issue 16): a sync with nothing new transfers <= 64 KB and takes <= 1 s; each blob
crosses the network once. Also prints the snapshot's size and time next to a plain
`VACUUM INTO` + zstd (same level) of the same database, measured in the same run.

    python tests/bench/bench_sync.py [--messages 100000] [--images 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import io
import random
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import zstandard
from PIL import Image

from app.store import BlobStore, Store
from app.store.schema import has_cjk
from app.store.snapshot import write_snapshot
from app.sync.engine import ZSTD_LEVEL, SyncEngine
from app.sync.targets import WebDavTarget
from tests.sync.davserver import PASSWORD, USER, DavServer
from tests.sync.devices import CHEAP_KDF, PASSPHRASE

WORDS = [
    "the", "quick", "brown", "fox", "jumps", "over", "a", "lazy", "dog", "while", "the",
    "model", "explains", "the", "chart", "revenue", "grew", "by", "twelve", "percent", "in",
    "the", "third", "quarter", "图表", "显示", "收入", "增长",
]


def build(data: Path, messages: int, images: int) -> None:
    async def create() -> None:
        store = await Store.open(data / "stepdesk.db", owner_dir=data / "owners")
        await store.close()
    asyncio.run(create())
    blobs = BlobStore(data / "media")
    rng = random.Random(7)
    conn = sqlite3.connect(data / "stepdesk.db", isolation_level=None)
    conn.create_function("has_cjk", 1, has_cjk)
    conn.execute("BEGIN")
    per_conv = 100
    shas = []
    for i in range(images):
        out = io.BytesIO()
        Image.new("RGB", (32, 32), (i % 256, i // 256 % 256, 99)).save(out, "PNG")
        data_bytes = out.getvalue()
        sha = hashlib.sha256(data_bytes).hexdigest()
        tmp = blobs.tmp_dir / f"{sha}.part"
        tmp.write_bytes(data_bytes)
        blobs.adopt(tmp, sha, "png")
        shas.append((sha, len(data_bytes)))
    now = 1_760_000_000_000
    for c in range(messages // per_conv):
        cur = conn.execute("INSERT INTO conversations(title, created_at, updated_at, model) "
                           "VALUES (?, ?, ?, 'step-3.7-flash')", (f"Chat {c}", now, now))
        cid = cur.lastrowid
        for m in range(per_conv):
            text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(10, 120)))
            role = "user" if m % 2 == 0 else "assistant"
            mid = conn.execute(
                "INSERT INTO messages(conversation_id, role, content, status, created_at) "
                "VALUES (?, ?, ?, 'complete', ?)", (cid, role, text, now + m)).lastrowid
            if role == "user" and shas and (c * per_conv + m) // 2 < images:
                sha, size = shas[(c * per_conv + m) // 2]
                conn.execute("INSERT INTO attachments(message_id, kind, mime, sha256, bytes, "
                             "original_name) VALUES (?, 'image', 'image/png', ?, ?, 'x.png')",
                             (mid, sha, size))
    conn.execute("INSERT INTO messages_fts(rowid, content) SELECT id, content FROM messages")
    conn.execute("INSERT INTO messages_tri(rowid, content) SELECT id, content FROM messages "
                 "WHERE has_cjk(content)")
    conn.execute("COMMIT")
    conn.close()


def baseline(db: Path, work: Path) -> tuple[float, int]:
    start = time.perf_counter()
    dest = work / "plain.db"
    src = sqlite3.connect(db)
    src.execute("VACUUM INTO ?", (str(dest),))
    src.close()
    packed = zstandard.ZstdCompressor(level=ZSTD_LEVEL).compress(dest.read_bytes())
    return time.perf_counter() - start, len(packed)


def compressors(snapshot: bytes) -> str:
    """The same snapshot through zlib-6 and lzma-6 (stdlib), to justify zstd in the README."""
    import lzma
    import zlib

    parts = []
    for name, fn in (("zstd-9", zstandard.ZstdCompressor(level=ZSTD_LEVEL).compress),
                     ("zlib-6", lambda d: zlib.compress(d, 6)),
                     ("lzma-6", lambda d: lzma.compress(d, preset=6))):
        start = time.perf_counter()
        size = len(fn(snapshot))
        parts.append(f"{name} {size:,} B in {time.perf_counter() - start:.2f} s")
    return "; ".join(parts)


def ours(db: Path, work: Path) -> tuple[float, int]:
    start = time.perf_counter()
    dest = work / "snap.db"
    write_snapshot(db, dest)
    packed = zstandard.ZstdCompressor(level=ZSTD_LEVEL).compress(dest.read_bytes())
    return time.perf_counter() - start, len(packed)


async def sync_once(data: Path, dav: DavServer) -> tuple[float, int, int, object]:
    store = await Store.open(data / "stepdesk.db", owner_dir=data / "owners")
    target = WebDavTarget(dav.url, USER, PASSWORD)
    try:
        engine = SyncEngine(store, BlobStore(data / "media"), target, PASSPHRASE,
                            data_dir=data, kdf=CHEAP_KDF, device_name=data.name)
        await engine.keys(create=True)  # key derivation is not transfer; timed apart
        start = time.perf_counter()
        report = await engine.sync()
        elapsed = time.perf_counter() - start
    finally:
        await target.aclose()
        await store.close()
    return elapsed, target.traffic.sent, target.traffic.received, report


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--images", type=int, default=2_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        a, b = root / "a", root / "b"
        a.mkdir()
        b.mkdir()
        t0 = time.perf_counter()
        build(a, args.messages, args.images)
        print(f"built {args.messages:,} messages, {args.images:,} images "
              f"in {time.perf_counter() - t0:.1f} s; db {(a / 'stepdesk.db').stat().st_size:,} B")
        (root / "w").mkdir()
        bt, bs = baseline(a / "stepdesk.db", root / "w")
        (root / "w2").mkdir()
        ot, os_ = ours(a / "stepdesk.db", root / "w2")
        print("compressors on our snapshot:", compressors((root / "w2" / "snap.db").read_bytes()))
        print(f"snapshot: ours {os_:,} B in {ot:.2f} s; plain VACUUM INTO + zstd-{ZSTD_LEVEL} "
              f"{bs:,} B in {bt:.2f} s; size ratio {os_ / bs:.2f}, time ratio {ot / bt:.2f}")
        dav = DavServer(root / "dav")
        dav.start()
        try:
            puts_before = dav.faults.counts["PUT"]
            el, sent, recv, rep = asyncio.run(sync_once(a, dav))
            print(f"A first sync: {el:.2f} s, sent {sent:,} B, received {recv:,} B; {rep}")
            blob_puts_a = rep.blobs_up  # type: ignore[attr-defined]
            el, sent, recv, rep = asyncio.run(sync_once(b, dav))
            print(f"B first sync (gets everything): {el:.2f} s, sent {sent:,} B, "
                  f"received {recv:,} B; blobs down {rep.blobs_down}")  # type: ignore[attr-defined]
            blob_puts_b = rep.blobs_up  # type: ignore[attr-defined]
            asyncio.run(sync_once(a, dav))  # A merges B's (identical) state
            el, sent, recv, rep = asyncio.run(sync_once(a, dav))
            total = sent + recv
            print(f"nothing new: {el * 1000:.0f} ms, {total:,} B transferred "
                  f"(sent {sent:,}, received {recv:,}) — budget <= 1000 ms, <= 65,536 B: "
                  f"{'OK' if el <= 1 and total <= 65536 else 'OVER'}")
            blobs_on_server = len(list((root / "dav" / "blobs").iterdir()))
            print(f"blobs: {blob_puts_a} uploaded by A, {blob_puts_b} by B, {blobs_on_server} "
                  f"on the server, {dav.faults.counts['PUT'] - puts_before} PUTs in all — each "
                  f"blob once: {'OK' if blob_puts_a + blob_puts_b == args.images else 'NO'}")
        finally:
            dav.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
