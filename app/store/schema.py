"""Schema and migrations, versioned by `PRAGMA user_version`.

`MIGRATIONS[i]` takes a database from version `i` to `i + 1`; add a new step by appending a
function. Each step runs in its own `BEGIN IMMEDIATE` transaction together with the new
`user_version`, so a crash mid-migration leaves the previous version intact.

The full-text index is optional: it needs FTS5 (probed, not assumed) and is created by v2 or,
for a database migrated by a Python without FTS5, at any later open where FTS5 is available.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable

from app.store.identity import add_identities

CJK_RE = re.compile(
    "[\u3040-\u30ff\u3100-\u312f\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
    "\uff66-\uff9f\U00020000-\U0003134f]"
)
"""Scripts written without spaces between words: unicode61 cannot split them, trigram can."""


def has_cjk(text: str | None) -> bool:
    """Whether `text` needs the trigram index (also registered as SQL function `has_cjk`)."""
    return text is not None and CJK_RE.search(text) is not None


_V1 = """
CREATE TABLE conversations(
    id INTEGER PRIMARY KEY,
    title TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    model TEXT NOT NULL DEFAULT '',
    effort TEXT,
    pinned INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE messages(
    id INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    content TEXT NOT NULL DEFAULT '',
    reasoning TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,
    error TEXT,
    model TEXT,
    effort TEXT,
    prompt_tokens INTEGER,
    completion_tokens INTEGER,
    cached_tokens INTEGER,
    version_of INTEGER,
    reply_to INTEGER,
    owner TEXT,
    created_at INTEGER NOT NULL,
    finished_at INTEGER,
    finish_reason TEXT
);
CREATE INDEX messages_by_conversation ON messages(conversation_id, id);
CREATE TABLE attachments(
    id INTEGER PRIMARY KEY,
    message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    mime TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    width INTEGER,
    height INTEGER,
    duration_s REAL,
    original_name TEXT NOT NULL DEFAULT '',
    ordinal INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX attachments_by_message ON attachments(message_id, ordinal);
CREATE TABLE uploads(
    sha256 TEXT NOT NULL,
    base_url TEXT NOT NULL,
    account TEXT NOT NULL,
    file_id TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    uploaded_at INTEGER NOT NULL,
    last_used_at INTEGER NOT NULL,
    PRIMARY KEY(sha256, base_url, account)
);
CREATE TABLE settings(key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

_V2_INDEXES = """
CREATE INDEX attachments_by_sha256 ON attachments(sha256);
CREATE INDEX uploads_by_file_id ON uploads(file_id);
CREATE INDEX uploads_by_last_use ON uploads(base_url, account, last_used_at);
CREATE INDEX messages_by_version ON messages(version_of) WHERE version_of IS NOT NULL;
CREATE INDEX messages_streaming ON messages(owner) WHERE status = 'streaming';
"""

_FTS = (
    "CREATE VIRTUAL TABLE messages_fts USING fts5("
    "content, tokenize = 'unicode61 remove_diacritics 2')",
    "CREATE VIRTUAL TABLE messages_tri USING fts5(content, tokenize = 'trigram')",
    """CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
        DELETE FROM messages_fts WHERE rowid = old.id;
        DELETE FROM messages_tri WHERE rowid = old.id;
    END""",
    "INSERT INTO messages_fts(rowid, content) "
    "SELECT id, content FROM messages WHERE status != 'streaming'",
    "INSERT INTO messages_tri(rowid, content) "
    "SELECT id, content FROM messages WHERE status != 'streaming' AND has_cjk(content)",
)


def fts5_available(conn: sqlite3.Connection) -> bool:
    """Probe FTS5 with the trigram tokenizer (SQLite >= 3.34) on a throwaway table."""
    try:
        conn.execute("CREATE VIRTUAL TABLE temp.fts_probe USING fts5(x, tokenize = 'trigram')")
    except sqlite3.OperationalError:
        return False
    conn.execute("DROP TABLE temp.fts_probe")
    return True


def has_fts_tables(conn: sqlite3.Connection) -> bool:
    row = conn.execute(
        "SELECT count(*) FROM sqlite_master WHERE name IN ('messages_fts', 'messages_tri')"
    ).fetchone()
    return row[0] == 2


def create_fts(conn: sqlite3.Connection) -> None:
    """Create and fill the full-text tables (inside the caller's write transaction).

    The FTS tables keep their own copy of the text (not `content=messages`) so an index row
    can never disagree with a message edited after it was indexed; deleting is by rowid.
    Only rows that contain CJK go into the trigram table: other text cannot match a CJK term.
    """
    for statement in _FTS:
        conn.execute(statement)


def _v1(conn: sqlite3.Connection, use_fts: bool) -> None:
    _run_script(conn, _V1)


def _v2(conn: sqlite3.Connection, use_fts: bool) -> None:
    _run_script(conn, _V2_INDEXES)
    if use_fts and fts5_available(conn):
        create_fts(conn)


_V3_TEMPLATES = """
CREATE TABLE templates(
    slug TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    icon TEXT NOT NULL DEFAULT '',
    prompt TEXT NOT NULL,
    effort TEXT NOT NULL,
    media TEXT NOT NULL,
    output_json TEXT NOT NULL,
    pinned INTEGER NOT NULL DEFAULT 0,
    position INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
)
"""


def _v3(conn: sqlite3.Connection, use_fts: bool) -> None:
    """The user's task templates (built-ins ship as a resource, never stored)."""
    _run_script(conn, _V3_TEMPLATES)


_V4_COMPARISONS = """
CREATE TABLE comparisons(
    id INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    user_message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    efforts TEXT NOT NULL,
    template TEXT,
    kept_message_id INTEGER REFERENCES messages(id) ON DELETE SET NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX comparisons_by_conversation ON comparisons(conversation_id, id);
ALTER TABLE messages ADD COLUMN comparison_id INTEGER
    REFERENCES comparisons(id) ON DELETE SET NULL;
ALTER TABLE messages ADD COLUMN kept_answer INTEGER;
ALTER TABLE messages ADD COLUMN figures TEXT
"""


def _v4(conn: sqlite3.Connection, use_fts: bool) -> None:
    """Effort comparisons: their record, each answer's figures, the answer a turn keeps.

    `messages.figures` is JSON (timings and token counts of one answer), `kept_answer` on a
    user row names the answer chosen among its versions ("Use this answer").
    """
    _run_script(conn, _V4_COMPARISONS)


def _v5(conn: sqlite3.Connection, use_fts: bool) -> None:
    """Image edits beside the attachment: the steps as JSON and the blob they apply to.

    `edits` (JSON, `app.media.edit_steps`) and `edit_base` (sha256 of a PNG blob) are NULL for
    an attachment the user did not edit; the blob is kept only for "Edit again", never sent.
    """
    conn.execute("ALTER TABLE attachments ADD COLUMN edits TEXT")
    conn.execute("ALTER TABLE attachments ADD COLUMN edit_base TEXT")
    conn.execute("CREATE INDEX attachments_by_edit_base ON attachments(edit_base) "
                 "WHERE edit_base IS NOT NULL")


def _v6(conn: sqlite3.Connection, use_fts: bool) -> None:
    """Sync identities: UUIDs, change stamps, tombstones, the hybrid clock (`identity.py`)."""
    add_identities(conn)


def _run_script(conn: sqlite3.Connection, script: str) -> None:
    """Run `;`-separated DDL inside the current transaction (executescript would commit)."""
    for statement in script.split(";"):
        if statement.strip():
            conn.execute(statement)


Migration = Callable[[sqlite3.Connection, bool], None]
MIGRATIONS: list[Migration] = [_v1, _v2, _v3, _v4, _v5, _v6]
LATEST = len(MIGRATIONS)
