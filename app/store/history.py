"""Conversations and messages: synchronous operations run on the Store's worker thread.

Every write is exactly one `BEGIN IMMEDIATE` transaction (`Database.write`), so
`Database.commit_count` counts what the disk really sees.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Sequence
from typing import Any

from app.store.db import Database
from app.store.records import STATUSES, AttachmentRecord, Conversation, Message
from app.store.search import index_message
from app.usage import Usage

INTERRUPTED_ERROR = "Step Desk closed before this reply finished."

_CONV_COLS = "id, title, created_at, updated_at, model, effort, pinned"
_MSG_COLS = (
    "id, conversation_id, role, content, reasoning, status, error, model, effort, "
    "prompt_tokens, completion_tokens, cached_tokens, version_of, reply_to, created_at, "
    "finished_at, finish_reason, comparison_id, kept_answer, figures"
)
_ATT_COLS = (
    "kind, mime, sha256, bytes, width, height, duration_s, original_name, ordinal, id, message_id, "
    "edits, edit_base"
)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def _conversation(row: Any) -> Conversation:  # an sqlite3 row: its columns are untyped
    return Conversation(*(*row[:6], bool(row[6])))


# -- conversations ---------------------------------------------------------------------------


def create_conversation(db: Database, title: str, model: str, effort: str | None) -> Conversation:
    now = now_ms()
    with db.write() as c:
        cur = c.execute(
            "INSERT INTO conversations(title, created_at, updated_at, model, effort, pinned) "
            "VALUES (?, ?, ?, ?, ?, 0)",
            (title, now, now, model, effort),
        )
    return Conversation(cur.lastrowid or 0, title, now, now, model, effort, False)


def get_conversation(db: Database, conversation_id: int) -> Conversation | None:
    row = db.conn.execute(
        f"SELECT {_CONV_COLS} FROM conversations WHERE id = ?", (conversation_id,)
    ).fetchone()
    return None if row is None else _conversation(row)


def list_conversations(db: Database, limit: int) -> list[Conversation]:
    rows = db.conn.execute(
        f"SELECT {_CONV_COLS} FROM conversations ORDER BY pinned DESC, updated_at DESC, id DESC "
        "LIMIT ?",
        (limit,),
    ).fetchall()
    return [_conversation(r) for r in rows]


def update_conversation(db: Database, conversation_id: int, column: str, value: object) -> None:
    """Set one of the user-editable columns (title, pinned, effort).

    `updated_at` means "last message activity": renaming or pinning must not reorder the
    recent list.
    """
    if column not in ("title", "pinned", "effort"):
        raise ValueError(f"not an editable conversation column: {column}")
    with db.write() as c:
        c.execute(f"UPDATE conversations SET {column} = ? WHERE id = ?", (value, conversation_id))


def delete_conversation(db: Database, conversation_id: int) -> list[str]:
    """Delete a conversation (messages, attachments and index rows cascade).

    Returns the sha256s its attachments used that nothing else references any more, so the
    caller can garbage-collect those blobs.
    """
    with db.write() as c:
        shas = [
            r[0]
            for r in c.execute(
                "SELECT a.sha256 FROM attachments a "
                "JOIN messages m ON m.id = a.message_id WHERE m.conversation_id = ? "
                "UNION SELECT a.edit_base FROM attachments a "
                "JOIN messages m ON m.id = a.message_id "
                "WHERE m.conversation_id = ? AND a.edit_base IS NOT NULL",
                (conversation_id, conversation_id),
            )
        ]
        c.execute("DELETE FROM conversations WHERE id = ?", (conversation_id,))
        orphaned = [
            s
            for s in shas
            if c.execute("SELECT 1 FROM attachments WHERE sha256 = ?1 OR edit_base = ?1 LIMIT 1",
                         (s,)).fetchone()
            is None
        ]
    return sorted(orphaned)


def referenced_sha256s(db: Database) -> set[str]:
    return {r[0] for r in db.conn.execute(
        "SELECT sha256 FROM attachments UNION "
        "SELECT edit_base FROM attachments WHERE edit_base IS NOT NULL")}


# -- messages --------------------------------------------------------------------------------


def _group_of(c: sqlite3.Connection, version_of: int | None) -> int | None:
    """Normalise `version_of` to the first id of the group, whichever member was given."""
    if version_of is None:
        return None
    row = c.execute("SELECT version_of FROM messages WHERE id = ?", (version_of,)).fetchone()
    if row is None:
        raise ValueError(f"version_of refers to a missing message {version_of}")
    return row[0] if row[0] is not None else version_of


def add_user_message(
    db: Database,
    conversation_id: int,
    text: str,
    attachments: Sequence[AttachmentRecord],
    *,
    model: str | None,
    effort: str | None,
    version_of: int | None,
    template: str | None = None,
) -> Message:
    """Insert a user message and its attachments in one transaction (indexed at once).

    `template`: the slug of the task template the turn was sent with, kept in the row's
    `figures` JSON as {"template": slug} (see `Message.template`)."""
    now = now_ms()
    facts = json.dumps({"template": template}) if template else None
    with db.write() as c:
        group = _group_of(c, version_of)
        cur = c.execute(
            "INSERT INTO messages(conversation_id, role, content, reasoning, status, model, "
            "effort, version_of, created_at, finished_at, figures) "
            "VALUES (?, 'user', ?, '', 'complete', ?, ?, ?, ?, ?, ?)",
            (conversation_id, text, model, effort, group, now, now, facts),
        )
        message_id = cur.lastrowid or 0
        c.executemany(
            "INSERT INTO attachments(message_id, kind, mime, sha256, bytes, width, height, "
            "duration_s, original_name, ordinal, edits, edit_base) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (message_id, a.kind, a.mime, a.sha256, a.bytes, a.width, a.height,
                 a.duration_s, a.original_name, a.ordinal, a.edits, a.edit_base)
                for a in attachments
            ],
        )
        c.execute("UPDATE conversations SET updated_at = ? WHERE id = ?", (now, conversation_id))
        if db.indexed:
            index_message(c, message_id, text)
        return _load_messages(c, "id = ?", (message_id,))[0]


def start_assistant_message(
    db: Database,
    conversation_id: int,
    *,
    reply_to: int | None,
    model: str | None,
    effort: str | None,
    version_of: int | None,
    owner: str,
) -> Message:
    now = now_ms()
    with db.write() as c:
        group = _group_of(c, version_of)
        cur = c.execute(
            "INSERT INTO messages(conversation_id, role, content, reasoning, status, model, "
            "effort, version_of, reply_to, owner, created_at) "
            "VALUES (?, 'assistant', '', '', 'streaming', ?, ?, ?, ?, ?, ?)",
            (conversation_id, model, effort, group, reply_to, owner, now),
        )
        if reply_to is not None:  # a newer answer is shown until one is kept again
            c.execute("UPDATE messages SET kept_answer = NULL WHERE id = ?", (reply_to,))
        c.execute("UPDATE conversations SET updated_at = ? WHERE id = ?", (now, conversation_id))
        return _load_messages(c, "id = ?", (cur.lastrowid,))[0]


def append_reply(
    db: Database, message_id: int, reasoning: str, content: str, usage: Usage | None
) -> None:
    """Append streamed deltas (and the latest cumulative usage) in one small transaction."""
    if not reasoning and not content and usage is None:
        return
    with db.write() as c:
        if usage is None:
            c.execute(
                "UPDATE messages SET reasoning = reasoning || ?, content = content || ? "
                "WHERE id = ?",
                (reasoning, content, message_id),
            )
        else:
            c.execute(
                "UPDATE messages SET reasoning = reasoning || ?, content = content || ?, "
                "prompt_tokens = ?, completion_tokens = ?, cached_tokens = ? WHERE id = ?",
                (reasoning, content, usage.prompt, usage.completion, usage.cached, message_id),
            )


def finish_message(
    db: Database,
    message_id: int,
    status: str,
    *,
    error: str | None,
    finish_reason: str | None,
) -> int:
    """Leave `streaming`: record the outcome, release ownership, index the final text.

    Returns the message's conversation id (the store reports it as changed)."""
    if status not in STATUSES or status == "streaming":
        raise ValueError(f"not a final message status: {status!r}")
    with db.write() as c:
        return _finish(c, db.indexed, message_id, status, error, finish_reason, now_ms())


def _finish(
    c: sqlite3.Connection,
    fts: bool,
    message_id: int,
    status: str,
    error: str | None,
    finish_reason: str | None,
    now: int,
) -> int:
    row = c.execute(
        "SELECT conversation_id, content FROM messages WHERE id = ?", (message_id,)
    ).fetchone()
    if row is None:
        raise ValueError(f"no message {message_id}")
    c.execute(
        "UPDATE messages SET status = ?, error = ?, finish_reason = ?, finished_at = ?, "
        "owner = NULL WHERE id = ?",
        (status, error, finish_reason, now, message_id),
    )
    c.execute("UPDATE conversations SET updated_at = ? WHERE id = ?", (now, row[0]))
    if fts:
        index_message(c, message_id, row[1])
    return int(row[0])


def streaming_owners(db: Database) -> list[str | None]:
    return [r[0] for r in db.conn.execute(
        "SELECT DISTINCT owner FROM messages WHERE status = 'streaming'"
    )]


def interrupt_owned_by(db: Database, owners: Sequence[str | None]) -> int:
    """Mark every streaming row of dead `owners` as interrupted; returns how many."""
    if not owners:
        return 0
    now = now_ms()
    count = 0
    with db.write() as c:
        for owner in owners:
            ids = [r[0] for r in c.execute(
                "SELECT id FROM messages WHERE status = 'streaming' AND owner IS ?", (owner,)
            )]
            for message_id in ids:
                _finish(c, db.indexed, message_id, "interrupted", INTERRUPTED_ERROR, None, now)
            count += len(ids)
    return count


def get_message(db: Database, message_id: int) -> Message | None:
    with db.read() as c:
        found = _load_messages(c, "id = ?", (message_id,))
    return found[0] if found else None


def list_messages(db: Database, conversation_id: int) -> list[Message]:
    with db.read() as c:
        return _load_messages(c, "conversation_id = ?", (conversation_id,))


def versions(db: Database, message_id: int) -> list[Message]:
    with db.read() as c:
        row = c.execute("SELECT version_of FROM messages WHERE id = ?", (message_id,)).fetchone()
        if row is None:
            return []
        group = row[0] if row[0] is not None else message_id
        return _load_messages(c, "(id = ? OR version_of = ?)", (group, group))


def active_messages(db: Database, conversation_id: int) -> list[Message]:
    """The conversation as currently shown: the latest version of each turn.

    Turns are ordered by the id of their first version. For each turn the newest user
    version is shown, followed by the answer that version kept ("Use this answer" in a
    comparison) or else the newest assistant message replying to that very version (an
    edited question shows its own answer, not the old one's). Assistant rows without
    `reply_to` form turns of their own, versioned the same way.
    """
    rows = list_messages(db, conversation_id)
    latest: dict[int, Message] = {}  # group id -> newest member
    answers: dict[int, Message] = {}  # user id -> newest assistant replying to it
    by_id: dict[int, Message] = {}
    for m in rows:  # id order, so later rows win
        by_id[m.id] = m
        if m.role == "assistant" and m.reply_to is not None:
            answers[m.reply_to] = m
        else:
            latest[m.version_of if m.version_of is not None else m.id] = m
    shown: list[Message] = []
    for group in sorted(latest):
        m = latest[group]
        shown.append(m)
        kept = by_id.get(m.kept_answer) if m.kept_answer is not None else None
        if kept is not None and kept.reply_to == m.id:
            shown.append(kept)
        elif m.role == "user" and m.id in answers:
            shown.append(answers[m.id])
    return shown


def _load_messages(c: sqlite3.Connection, where: str, args: tuple[object, ...]) -> list[Message]:
    rows = c.execute(f"SELECT {_MSG_COLS} FROM messages WHERE {where} ORDER BY id", args).fetchall()
    if not rows:
        return []
    by_message: dict[int, list[AttachmentRecord]] = {}
    ids = [r[0] for r in rows]
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        for a in c.execute(
            f"SELECT {_ATT_COLS} FROM attachments WHERE message_id IN ({marks}) "
            "ORDER BY message_id, ordinal, id",
            chunk,
        ):
            by_message.setdefault(a[10], []).append(AttachmentRecord(*a))
    # Columns in field order: the 17 stored ones, the attachments, then the comparison ones.
    return [Message(*(*r[:17], tuple(by_message.get(r[0], ())), r[17], r[18], _figures(r[19])))
            for r in rows]


def _figures(raw: str | None) -> dict[str, Any] | None:
    """A stored figures object; anything unreadable (edited by hand) counts as none."""
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
