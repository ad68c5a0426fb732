"""A consistent copy of the live database for sync and backup, made without blocking writers.

`VACUUM INTO` runs on a *separate* read connection in the caller's thread: under WAL a reader
never blocks the store's writer, and the store's own worker stays free for the window. The copy
then loses what must not travel or can be rebuilt: the settings table (per device; the API key
is never in SQLite anyway) and the full-text index (rebuilt at open), and is vacuumed small.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from app.fsmodes import touch_private
from app.store.db import BUSY_TIMEOUT_S


@dataclass(frozen=True)
class SnapshotInfo:
    device: str
    hlc: int
    seq: int  # the device's change counter when the copy was taken
    schema: int


def write_snapshot(db_path: Path, dest: Path) -> SnapshotInfo:
    """Copy `db_path` into the new file `dest` (mode 0600) and strip it for travel."""
    touch_private(dest)  # VACUUM INTO accepts an empty file; created 0600 from the start
    src = sqlite3.connect(db_path, isolation_level=None, timeout=BUSY_TIMEOUT_S)
    try:
        src.execute("VACUUM INTO ?", (str(dest),))
    finally:
        src.close()
    copy = sqlite3.connect(dest, isolation_level=None)
    try:
        copy.execute("PRAGMA journal_mode = DELETE")
        copy.execute("DELETE FROM settings")
        copy.execute("DROP TRIGGER IF EXISTS messages_fts_delete")
        copy.execute("DROP TABLE IF EXISTS messages_fts")
        copy.execute("DROP TABLE IF EXISTS messages_tri")
        copy.execute("VACUUM")
        return read_info(copy)
    finally:
        copy.close()


def read_info(conn: sqlite3.Connection) -> SnapshotInfo:
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    device, hlc, seq = conn.execute("SELECT device, hlc, seq FROM sync_clock").fetchone()
    return SnapshotInfo(device, hlc, seq, version)
