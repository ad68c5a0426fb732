"""Putting a fetched snapshot in place of the local history (the store must be closed).

The current history is first copied aside with SQLite's backup API (never a file copy), so a
restore can be undone by hand. The restored file keeps *this* device's id (two devices must
never share one) with a clock past both histories, and this device's settings.
"""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

from app.fsmodes import touch_private
from app.store.db import open_database


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
