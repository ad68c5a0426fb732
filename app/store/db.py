"""Opening the SQLite file safely: sanity checks, backup, migration, corrupt-file handling.

Everything here runs on the Store's single worker thread. The connection is in autocommit
mode (`isolation_level=None`); writes take `BEGIN IMMEDIATE` so a writer waits for the lock up
front (busy_timeout) instead of failing when a deferred read transaction tries to upgrade.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import struct
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from app.fsmodes import private_dir, touch_private
from app.store import schema
from app.store.errors import CorruptDatabaseError, NewerSchemaError, StoreError, primary_code

log = logging.getLogger(__name__)

BUSY_TIMEOUT_S = 5.0
_MAGIC = b"SQLite format 3\x00"
_DAMAGED = frozenset({sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB})


class Database:
    """One connection plus the write-transaction discipline every store module uses."""

    def __init__(
        self, conn: sqlite3.Connection, path: Path, *, indexed: bool, fts_search: bool
    ) -> None:
        self.conn = conn
        self.path = path
        self.indexed = indexed  # the full-text tables exist: every write keeps them current
        self.fts_search = fts_search  # search through them (else LIKE)
        self.commit_count = 0
        self.read_only = False  # opened from a read-only folder: reading works, writing fails

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One `BEGIN IMMEDIATE` … `COMMIT` transaction; rolled back on any exception."""
        with _immediate(self.conn):
            yield self.conn
        self.commit_count += 1

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A deferred read transaction, so several SELECTs see one consistent snapshot.

        Re-entrant: inside another transaction it simply joins it.
        """
        if self.conn.in_transaction:
            yield self.conn
            return
        self.conn.execute("BEGIN")
        try:
            yield self.conn
        finally:
            if self.conn.in_transaction:
                self.conn.execute("COMMIT")

    def close(self) -> None:
        self.conn.close()


@dataclass(frozen=True)
class Opened:
    db: Database
    moved_aside: Path | None  # where a corrupt file went when `recover_corrupt` was used
    backup: Path | None  # the pre-migration copy, if one was made


def open_database(path: Path, *, use_fts: bool, recover_corrupt: bool) -> Opened:
    """Open (creating or migrating) the database at `path`.

    Raises NewerSchemaError (file untouched) or CorruptDatabaseError (file moved aside)
    unless `recover_corrupt` is set, in which case a damaged file is moved aside and a fresh
    database is created in its place; `Opened.moved_aside` reports where it went.
    """
    if path.exists() and not os.access(path.parent, os.W_OK):
        return Opened(_open_read_only(path, use_fts), None, None)
    private_dir(path.parent)
    _create_private(path)
    try:
        db, backup = _prepare(_connect_checked(path), path, use_fts)
    except _Damaged:
        moved = move_aside(path)
        log.warning("damaged database %s moved to %s", path, moved)
        if not recover_corrupt:
            raise CorruptDatabaseError(path, moved) from None
        _create_private(path)
        db, backup = _prepare(_connect_checked(path), path, use_fts)
        return Opened(db, moved, backup)
    return Opened(db, None, backup)


def _open_read_only(path: Path, use_fts: bool) -> Database:
    """Open a database whose folder we cannot write (a read-only mount, a copy on a DVD).

    SQLite cannot create the -shm file there, so without a WAL left behind the file is opened
    `immutable` (nobody can be writing next to it); with one, read-only through it. Nothing is
    migrated or recovered; any write fails as "read-only" (a StoreError, one sentence).
    """
    try:
        _check_header(path)
    except _Damaged:
        raise StoreError(f"The history database {path} is damaged, and its folder is "
                         "read-only, so it cannot be moved aside.") from None
    wal = path.with_name(path.name + "-wal").exists()
    uri = f"{path.resolve().as_uri()}?mode=ro" + ("" if wal else "&immutable=1")
    conn = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=BUSY_TIMEOUT_S)
    try:
        conn.create_function("has_cjk", 1, schema.has_cjk, deterministic=True)
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > schema.LATEST:
            raise NewerSchemaError(path, version, schema.LATEST)
        if version < schema.LATEST:
            raise StoreError(f"The history database {path} needs an upgrade to this version "
                             "of Step Desk, but its folder is read-only.")
        fts = schema.has_fts_tables(conn)
    except BaseException:
        conn.close()
        raise
    db = Database(conn, path, indexed=fts, fts_search=fts and use_fts)
    db.read_only = True
    return db


def _create_private(path: Path) -> None:
    """Create the database file as 0600 before SQLite does: its -wal and -shm files take the
    database file's mode, so the whole history is private from its first byte."""
    if path.exists():
        return
    with contextlib.suppress(PermissionError):  # a read-only folder: SQLite reports it
        touch_private(path)


class _Damaged(Exception):
    """Internal: the file failed a sanity check or SQLite called it corrupt."""


def is_damage(exc: sqlite3.Error) -> bool:
    return primary_code(exc) in _DAMAGED


def _suspect_marker(path: Path) -> Path:
    return path.with_name(path.name + ".check")


def mark_suspect(path: Path) -> None:
    """Ask the next open to run a full `quick_check` (SQLite reported damage at runtime)."""
    with contextlib.suppress(OSError):
        _suspect_marker(path).touch()


def _connect_checked(path: Path) -> sqlite3.Connection:
    """Connect and read the schema, turning any sign of damage into `_Damaged`.

    The full `quick_check` (seconds on a big history) runs only when a previous session
    saw SQLite report damage; otherwise the header checks and schema read must do.
    """
    _check_header(path)
    marker = _suspect_marker(path)
    conn = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_S)
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        if version > schema.LATEST:
            raise NewerSchemaError(path, version, schema.LATEST)
        if marker.exists():
            if conn.execute("PRAGMA quick_check(1)").fetchone()[0] != "ok":
                conn.close()
                marker.unlink(missing_ok=True)
                raise _Damaged
            marker.unlink(missing_ok=True)
    except sqlite3.DatabaseError as exc:
        conn.close()
        if is_damage(exc):
            _suspect_marker(path).unlink(missing_ok=True)
            raise _Damaged from exc
        raise
    except _Damaged:
        raise
    except BaseException:
        conn.close()
        raise
    return conn


def _check_header(path: Path) -> None:
    """Catch random bytes and truncated files before SQLite half-reads them.

    The header's page count is only trusted when its "version-valid-for" counter matches
    the change counter and no WAL file exists (in WAL mode pages may live in the -wal file).
    """
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return
    if size == 0:
        return
    with path.open("rb") as f:
        header = f.read(100)
    if len(header) < 100 or not header.startswith(_MAGIC):
        raise _Damaged
    page_size = struct.unpack(">H", header[16:18])[0]
    page_size = 65536 if page_size == 1 else page_size
    change_counter, page_count = struct.unpack(">II", header[24:32])
    valid_for = struct.unpack(">I", header[92:96])[0]
    wal = path.with_name(path.name + "-wal")
    trusted = valid_for == change_counter and page_count and not wal.exists()
    if trusted and size < page_count * page_size:
        raise _Damaged


def move_aside(path: Path) -> Path:
    """Rename a damaged file (and its -wal/-shm companions) to `<name>.corrupt-<time>`."""
    stamp = time.strftime("%Y%m%d-%H%M%S") + f"-{time.time_ns() // 1_000_000 % 1000:03d}"
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    os.replace(path, target)
    for suffix in ("-wal", "-shm"):
        companion = path.with_name(path.name + suffix)
        if companion.exists():
            os.replace(companion, target.with_name(target.name + suffix))
    return target


def _prepare(conn: sqlite3.Connection, path: Path, use_fts: bool) -> tuple[Database, Path | None]:
    """Set per-connection pragmas, back up and migrate, make sure FTS exists if it can."""
    try:
        conn.create_function("has_cjk", 1, schema.has_cjk, deterministic=True)
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        backup = _migrate(conn, path, use_fts)
        fts = schema.has_fts_tables(conn)
        if not fts and use_fts and schema.fts5_available(conn):
            with _immediate(conn):
                if not schema.has_fts_tables(conn):
                    schema.create_fts(conn)
            fts = True
    except sqlite3.DatabaseError as exc:
        conn.close()
        if is_damage(exc):
            raise _Damaged from exc
        raise
    except BaseException:
        conn.close()
        raise
    # Tables that exist are maintained even when `use_fts` is off, so they never go stale.
    return Database(conn, path, indexed=fts, fts_search=fts and use_fts), backup


def _migrate(conn: sqlite3.Connection, path: Path, use_fts: bool) -> Path | None:
    """Apply pending migrations, each in its own transaction; back up first if non-empty."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version >= schema.LATEST:
        return None
    backup = None
    if conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
        backup = _backup(conn, path, version)
    for target in range(version + 1, schema.LATEST + 1):
        with _immediate(conn):
            # Another process may have migrated while we waited for the write lock.
            if conn.execute("PRAGMA user_version").fetchone()[0] >= target:
                continue
            schema.MIGRATIONS[target - 1](conn, use_fts)
            conn.execute(f"PRAGMA user_version = {target}")
    return backup


def _backup(conn: sqlite3.Connection, path: Path, version: int) -> Path:
    """Copy the database (WAL content included) via SQLite's online backup API."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.bak-v{version}-{stamp}")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.bak-v{version}-{stamp}-{n}")
    touch_private(target)  # a copy of the whole history: private like the original
    dest = sqlite3.connect(target)
    try:
        conn.backup(dest)
    finally:
        dest.close()
    log.info("backed up %s (schema v%d) to %s before migrating", path, version, target)
    return target


@contextmanager
def _immediate(conn: sqlite3.Connection) -> Iterator[None]:
    """BEGIN IMMEDIATE … COMMIT; on any failure (COMMIT included) roll back and re-raise."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):  # keep the original error
                conn.execute("ROLLBACK")
        raise
