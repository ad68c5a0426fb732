"""Putting a snapshot in place of the local history: one path for the CLI and the window.

The current history is first copied aside with SQLite's backup API (never a file copy), so a
restore can be undone by hand. The restored file keeps *this* device's id (two devices must
never share one) with a clock past both histories, and this device's settings. Nothing local
changes before the snapshot has been fetched, authenticated and decompressed: a wrong
passphrase or a damaged file ends the restore with the history untouched.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from app.fsmodes import touch_private
from app.store.db import open_database

if TYPE_CHECKING:
    from app.sync.engine import SyncEngine
    from app.sync.layout import SnapshotEntry


@dataclass(frozen=True)
class Restored:
    entry: SnapshotEntry
    saved: Path  # where the previous history was kept
    older: bool  # the snapshot was older than the history that was here
    blobs_down: int  # media files fetched for it


async def restore_snapshot(engine: SyncEngine, entry: SnapshotEntry) -> Restored:
    """Fetch `entry`, check it, and put it in place of `engine.store`'s history (which stays
    open: the same `Store` reads the restored file), then fetch its media."""
    from app.sync.engine import snapshot_info

    keys = await engine.keys(create=False)
    path = await engine.fetch_snapshot(keys, entry.device, entry.seq)
    try:
        here = (await engine.store.sync_clock())[1]
        older = (await asyncio.to_thread(snapshot_info, path)).hlc < here
        saved = await engine.store.replace_file(partial(install, restored=path))
    finally:
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
    report = await engine.fetch_blobs_for_restore()
    return Restored(entry, saved, older, report.blobs_down)


def is_older(entry: SnapshotEntry, here_hlc: int) -> bool:
    """Whether `entry` was written before the latest change of the history here (listing;
    the clock is the hybrid one, so a device whose clock is wrong still compares right)."""
    return entry.written_at < here_hlc


def install(db_path: Path, restored: Path) -> Path:
    """Replace `db_path` by `restored`; returns where the previous history was saved."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    saved = db_path.with_name(f"{db_path.name}.before-restore-{stamp}")
    n = 1
    while saved.exists():
        n += 1
        saved = db_path.with_name(f"{db_path.name}.before-restore-{stamp}-{n}")
    current = sqlite3.connect(db_path)
    try:
        device, hlc = current.execute("SELECT device, hlc FROM sync_clock").fetchone()
        settings = current.execute("SELECT key, value FROM settings").fetchall()
        touch_private(saved)
        dest = sqlite3.connect(saved)
        try:
            current.backup(dest)
        finally:
            dest.close()
    finally:
        current.close()
    opened = open_database(restored, use_fts=True, recover_corrupt=False)  # FTS rebuilt
    db = opened.db
    try:
        with db.write() as c:
            c.execute("UPDATE sync_clock SET device = ?, hlc = max(hlc, ?) + 1, seq = seq + 1",
                      (device, hlc))
            c.executemany("INSERT OR REPLACE INTO settings(key, value) VALUES (?, ?)", settings)
        db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.conn.execute("PRAGMA journal_mode = DELETE")
    finally:
        db.close()
    for suffix in ("-wal", "-shm"):
        Path(str(db_path) + suffix).unlink(missing_ok=True)
    os.replace(restored, db_path)
    return saved
