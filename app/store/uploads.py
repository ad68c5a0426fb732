"""The uploads cache: which Files-API ID already holds which bytes, per server and account.

Keyed by (sha256, base_url, account) where `account` is a hash of the API key (computed by the
caller; the key itself never reaches the database). A conversation "uses" an uploaded file
when one of its messages has an attachment with that sha256, so pruning and per-conversation
cleanup can be decided here without remembering which message sent which ID.
"""

from __future__ import annotations

from app.limits import MAX_FILES_PER_ACCOUNT
from app.store.db import Database
from app.store.history import now_ms
from app.store.records import UploadRecord

DEFAULT_KEEP = MAX_FILES_PER_ACCOUNT - 100
"""Prune down to this many, leaving room for about a hundred new uploads under the limit."""

_COLS = "sha256, base_url, account, file_id, bytes, uploaded_at, last_used_at"


def lookup(db: Database, sha256: str, base_url: str, account: str) -> str | None:
    """The cached file ID, marking it as just used (so LRU pruning keeps it)."""
    key = (sha256, base_url, account)
    where = "sha256 = ? AND base_url = ? AND account = ?"
    row = db.conn.execute(f"SELECT file_id FROM uploads WHERE {where}", key).fetchone()
    if row is None:
        return None
    with db.write() as c:
        c.execute(f"UPDATE uploads SET last_used_at = ? WHERE {where}", (now_ms(), *key))
    return row[0]


def remember(
    db: Database, sha256: str, base_url: str, account: str, file_id: str, size: int
) -> None:
    now = now_ms()
    with db.write() as c:
        c.execute(
            f"INSERT OR REPLACE INTO uploads({_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (sha256, base_url, account, file_id, size, now, now),
        )


def forget(db: Database, file_id: str) -> None:
    with db.write() as c:
        c.execute("DELETE FROM uploads WHERE file_id = ?", (file_id,))


def list_uploads(db: Database, base_url: str, account: str) -> list[UploadRecord]:
    """Most recently used first, each with the name it was last attached as."""
    rows = db.conn.execute(
        f"SELECT {_COLS}, coalesce((SELECT original_name FROM attachments a "
        "WHERE a.sha256 = uploads.sha256 ORDER BY a.id DESC LIMIT 1), '') "
        "FROM uploads WHERE base_url = ? AND account = ? "
        "ORDER BY last_used_at DESC, rowid DESC",
        (base_url, account),
    ).fetchall()
    return [UploadRecord(*r) for r in rows]


def to_prune(
    db: Database, base_url: str, account: str, keep: int, *, spare_used: bool
) -> list[UploadRecord]:
    """Least recently used uploads to delete so that at most `keep` remain; oldest first.

    Deleting a file a conversation still references is safe (chat re-uploads a stale ID
    once, transparently), so by default plain LRU decides. With `spare_used`, files any
    stored conversation uses are never offered; they still count towards `keep`, so the
    result may be shorter than the excess.
    """
    with db.read() as c:
        total = c.execute(
            "SELECT count(*) FROM uploads WHERE base_url = ? AND account = ?", (base_url, account)
        ).fetchone()[0]
        excess = total - max(keep, 0)
        if excess <= 0:
            return []
        unused = (
            "AND NOT EXISTS (SELECT 1 FROM attachments a WHERE a.sha256 = u.sha256) "
            if spare_used
            else ""
        )
        rows = c.execute(
            f"SELECT {_COLS} FROM uploads u WHERE base_url = ? AND account = ? {unused}"
            "ORDER BY last_used_at, rowid LIMIT ?",
            (base_url, account, excess),
        ).fetchall()
    return [UploadRecord(*r) for r in rows]


def file_ids_only_used_by(
    db: Database, conversation_id: int, base_url: str, account: str
) -> list[str]:
    """IDs of uploads this conversation uses and no other conversation does.

    Call before deleting the conversation: these are the remote files safe to delete with it.
    """
    rows = db.conn.execute(
        "SELECT u.file_id FROM uploads u WHERE u.base_url = ? AND u.account = ? "
        "AND EXISTS (SELECT 1 FROM attachments a JOIN messages m ON m.id = a.message_id "
        "            WHERE a.sha256 = u.sha256 AND m.conversation_id = ?) "
        "AND NOT EXISTS (SELECT 1 FROM attachments a JOIN messages m ON m.id = a.message_id "
        "                WHERE a.sha256 = u.sha256 AND m.conversation_id != ?) "
        "ORDER BY u.file_id",
        (base_url, account, conversation_id, conversation_id),
    ).fetchall()
    return [r[0] for r in rows]
