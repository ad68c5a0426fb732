"""Store errors: what the user can act on, kept apart from our own bugs.

SQLite failures that are "not our fault" (disk full, database locked by another program, a
read-only or damaged file) become `StoreError` with one human sentence; anything else (a
syntax error, a violated constraint) is a bug in Step Desk and is left to propagate as is.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path


class StoreError(Exception):
    """A storage problem with a message fit to show the user."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail  # SQLite's own words, for the log; the user reads `message`


class NewerSchemaError(StoreError):
    """The database was written by a newer Step Desk; we refuse to touch it."""

    def __init__(self, path: Path, found: int, known: int) -> None:
        super().__init__(
            f"The history database {path} was created by a newer version of Step Desk "
            f"(schema {found}, this version knows up to {known}). Update Step Desk to open it; "
            "the file was left untouched."
        )
        self.found = found
        self.known = known


class CorruptDatabaseError(StoreError):
    """The database file is damaged; it has been moved aside (never deleted)."""

    def __init__(self, path: Path, moved_to: Path) -> None:
        super().__init__(
            f"The history database {path} is damaged and could not be opened. It was moved to "
            f"{moved_to} so nothing is lost; Step Desk can start with a fresh history."
        )
        self.moved_to = moved_to


# Primary result codes (the low byte of an extended code) that describe the environment,
# each with the sentence the user sees.
_ENVIRONMENT_ERRORS: dict[int, str] = {
    sqlite3.SQLITE_FULL: "The disk is full, so the history could not be saved.",
    sqlite3.SQLITE_BUSY: "The history database is busy in another program; try again.",
    sqlite3.SQLITE_LOCKED: "The history database is locked by another program; try again.",
    sqlite3.SQLITE_READONLY: "The history database is read-only, so changes cannot be saved.",
    sqlite3.SQLITE_IOERR: "The history database could not be read or written (disk error).",
    sqlite3.SQLITE_CANTOPEN: "The history database could not be opened (check permissions).",
    sqlite3.SQLITE_PERM: "Permission denied while accessing the history database.",
    sqlite3.SQLITE_CORRUPT: "The history database is damaged; restart Step Desk to recover it.",
    sqlite3.SQLITE_NOTADB: "The history file is not a database; restart Step Desk to recover it.",
}


def primary_code(exc: sqlite3.Error) -> int | None:
    """The primary SQLite result code of an exception (extended codes folded), if known."""
    code = getattr(exc, "sqlite_errorcode", None)
    return None if code is None else code & 0xFF


def translate(exc: sqlite3.Error) -> StoreError | None:
    """A `StoreError` for environment failures, or None when the error is our bug."""
    code = primary_code(exc)
    if code is None:
        return None
    message = _ENVIRONMENT_ERRORS.get(code)
    return None if message is None else StoreError(message, detail=str(exc))
