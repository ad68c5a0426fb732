"""Merging another device's snapshot into the local history, by UUID (runs on the worker).

The snapshot is ATTACHed as `remote` (already at our schema version: the caller migrates an
older copy and refuses a newer one). What merges how:
- tombstones: union; a tombstoned conversation or template is deleted here and never returns
  (a deletion wins over edits made elsewhere before the deleting device learnt of them);
- conversations, messages, attachments: added when their uuid is new; messages that are
  still streaming on the other device wait for a later snapshot;
- conversation title and pin: per field, the greater stamp wins (`identity.py`);
- a finished message whose other copy has a newer stamp (e.g. `interrupted` here, `complete`
  there) takes that copy's outcome — unless it is streaming here: a live reply is never touched;
- templates: the whole template, greater stamp wins; two templates with one slug: the newer;
- uploads cache: union, latest use wins.
Every step only moves towards the greater stamp or adds what is missing, so merging the same
snapshot twice changes nothing, and devices merging each other's states in any order converge.
Messages move in chunks of conversations, one transaction each, so the window's writes wait
for at most one chunk.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path

from app.store.db import Database
from app.store.search import index_message

CHUNK = 100  # conversations per message transaction
_MSG_REFS = ("id", "conversation_id", "version_of", "reply_to", "comparison_id", "kept_answer",
             "owner")
_MSG_OUTCOME = ("content", "reasoning", "status", "error", "finish_reason", "finished_at",
                "prompt_tokens", "completion_tokens", "cached_tokens", "figures", "stamp")


def _columns(c: sqlite3.Connection, table: str, skip: Sequence[str] = ()) -> list[str]:
    return [r[1] for r in c.execute(f"PRAGMA main.table_info({table})") if r[1] not in skip]


def attach(db: Database, path: Path) -> None:
    db.conn.execute("ATTACH DATABASE ? AS remote", (str(path),))


def detach(db: Database) -> None:
    db.conn.execute("DETACH DATABASE remote")


def merge_head(db: Database) -> tuple[int, list[str]]:
    """Tombstones, conversations, templates, uploads, clock; returns (changes, conv uuids)."""
    with db.write() as c:
        before = c.total_changes
        c.execute("INSERT OR IGNORE INTO tombstones SELECT uuid, kind, stamp, device "
                  "FROM remote.tombstones")
        c.execute("DELETE FROM conversations WHERE uuid IN (SELECT uuid FROM tombstones "
                  "WHERE kind = 'conversation') AND NOT EXISTS (SELECT 1 FROM messages m "
                  "WHERE m.conversation_id = conversations.id AND m.status = 'streaming')")
        c.execute("DELETE FROM templates WHERE uuid IN "
                  "(SELECT uuid FROM tombstones WHERE kind = 'template')")
        cols = ", ".join(_columns(c, "conversations", ("id",)))
        c.execute(f"INSERT INTO conversations({cols}) SELECT {cols} FROM remote.conversations r "
                  "WHERE r.uuid NOT IN (SELECT uuid FROM main.conversations) "
                  "AND r.uuid NOT IN (SELECT uuid FROM tombstones) ORDER BY r.created_at, r.uuid")
        for field in ("title", "pinned"):
            c.execute(
                f"UPDATE conversations SET ({field}, {field}_stamp) = "
                f"(SELECT r.{field}, r.{field}_stamp FROM remote.conversations r "
                "WHERE r.uuid = conversations.uuid) WHERE EXISTS (SELECT 1 FROM "
                "remote.conversations r WHERE r.uuid = conversations.uuid "
                f"AND r.{field}_stamp > conversations.{field}_stamp)")
        c.execute("UPDATE conversations SET updated_at = (SELECT r.updated_at FROM "
                  "remote.conversations r WHERE r.uuid = conversations.uuid) WHERE EXISTS "
                  "(SELECT 1 FROM remote.conversations r WHERE r.uuid = conversations.uuid "
                  "AND r.updated_at > conversations.updated_at)")
        _merge_templates(c)
        c.execute("INSERT OR IGNORE INTO uploads SELECT * FROM remote.uploads")
        c.execute("UPDATE uploads SET last_used_at = (SELECT r.last_used_at FROM remote.uploads r "
                  "WHERE (r.sha256, r.base_url, r.account) = "
                  "(uploads.sha256, uploads.base_url, uploads.account)) WHERE EXISTS (SELECT 1 "
                  "FROM remote.uploads r WHERE (r.sha256, r.base_url, r.account) = "
                  "(uploads.sha256, uploads.base_url, uploads.account) "
                  "AND r.last_used_at > uploads.last_used_at)")
        changes = c.total_changes - before
        c.execute("UPDATE sync_clock SET hlc = (SELECT max(hlc) FROM remote.sync_clock) "
                  "WHERE hlc < (SELECT max(hlc) FROM remote.sync_clock)")
        uuids = [r[0] for r in c.execute(
            "SELECT r.uuid FROM remote.conversations r JOIN main.conversations l "
            "ON l.uuid = r.uuid ORDER BY r.uuid")]
    return changes, uuids


def _merge_templates(c: sqlite3.Connection) -> None:
    cols = _columns(c, "templates")
    listed = ", ".join(cols)
    # Same slug, other uuid: the newer template takes the slug (the older is tombstoned).
    c.execute("DELETE FROM templates WHERE EXISTS (SELECT 1 FROM remote.templates r "
              "WHERE r.slug = templates.slug AND r.uuid != templates.uuid "
              "AND r.stamp > templates.stamp AND r.uuid NOT IN (SELECT uuid FROM tombstones))")
    c.execute(f"INSERT OR IGNORE INTO templates({listed}) SELECT {listed} FROM remote.templates r "
              "WHERE r.uuid NOT IN (SELECT uuid FROM main.templates) "
              "AND r.uuid NOT IN (SELECT uuid FROM tombstones)")
    edited = [col for col in cols if col != "uuid"]
    c.execute(f"UPDATE OR IGNORE templates SET ({', '.join(edited)}) = (SELECT "
              f"{', '.join('r.' + col for col in edited)} FROM remote.templates r "
              "WHERE r.uuid = templates.uuid) WHERE EXISTS (SELECT 1 FROM remote.templates r "
              "WHERE r.uuid = templates.uuid AND r.stamp > templates.stamp)")


def merge_messages(db: Database, conversation_uuids: Sequence[str]) -> int:
    """Messages and attachments of these conversations, in one transaction; returns changes."""
    if not conversation_uuids:
        return 0
    marks = ",".join("?" * len(conversation_uuids))
    with db.write() as c:
        before = c.total_changes
        local_ids = [r[0] for r in c.execute(
            f"SELECT id FROM main.conversations WHERE uuid IN ({marks})", conversation_uuids)]
        in_chunk = f"IN ({','.join('?' * len(local_ids))})"
        top = c.execute("SELECT coalesce(max(id), 0) FROM main.messages").fetchone()[0]
        cols = _columns(c, "messages", _MSG_REFS)
        listed = ", ".join(cols)
        c.execute(
            f"INSERT INTO messages({listed}, conversation_id) "
            f"SELECT {', '.join('rm.' + col for col in cols)}, lc.id FROM remote.messages rm "
            "JOIN remote.conversations rc ON rc.id = rm.conversation_id "
            "JOIN main.conversations lc ON lc.uuid = rc.uuid "
            f"WHERE rc.uuid IN ({marks}) AND rm.status != 'streaming' "
            "AND rm.uuid NOT IN (SELECT uuid FROM main.messages) ORDER BY rm.created_at, rm.uuid",
            conversation_uuids)
        for ref in ("version_of", "reply_to", "kept_answer"):
            c.execute(
                f"UPDATE messages SET {ref} = (SELECT lt.id FROM remote.messages rm "
                f"JOIN remote.messages rt ON rt.id = rm.{ref} "
                "JOIN main.messages lt ON lt.uuid = rt.uuid WHERE rm.uuid = messages.uuid) "
                f"WHERE id > ? AND {ref} IS NULL AND conversation_id {in_chunk}",
                (top, *local_ids))
        outcome = ", ".join(_MSG_OUTCOME)
        updated = [r[0] for r in c.execute(
            f"UPDATE messages SET ({outcome}) = (SELECT "
            f"{', '.join('rm.' + col for col in _MSG_OUTCOME)} FROM remote.messages rm "
            "WHERE rm.uuid = messages.uuid) "
            f"WHERE conversation_id {in_chunk} AND id <= ? AND status != 'streaming' "
            "AND EXISTS (SELECT 1 FROM remote.messages rm WHERE rm.uuid = messages.uuid "
            "AND rm.status != 'streaming' AND rm.stamp > messages.stamp) RETURNING id",
            (*local_ids, top))]
        acols = _columns(c, "attachments", ("id", "message_id"))
        alisted = ", ".join(acols)
        c.execute(
            f"INSERT INTO attachments({alisted}, message_id) "
            f"SELECT {', '.join('ra.' + col for col in acols)}, lm.id FROM remote.attachments ra "
            "JOIN remote.messages rm ON rm.id = ra.message_id "
            "JOIN main.messages lm ON lm.uuid = rm.uuid "
            f"WHERE lm.conversation_id {in_chunk} "
            "AND ra.uuid NOT IN (SELECT uuid FROM main.attachments)", local_ids)
        changes = c.total_changes - before
        if db.indexed:
            fresh = c.execute(f"SELECT id, content FROM messages WHERE id > ? AND conversation_id "
                              f"{in_chunk}", (top, *local_ids)).fetchall()
            for message_id, content in fresh:
                index_message(c, message_id, content)
            for message_id in updated:
                content = c.execute("SELECT content FROM messages WHERE id = ?",
                                    (message_id,)).fetchone()[0]
                index_message(c, message_id, content)
        if changes:
            c.execute("UPDATE sync_clock SET seq = seq + 1")
    return changes


def bump_seq(db: Database) -> None:
    """Count a merge that changed something as a local change, so our next snapshot has it."""
    with db.write() as c:
        c.execute("UPDATE sync_clock SET seq = seq + 1")


def clock(db: Database) -> tuple[str, int, int]:
    row = db.conn.execute("SELECT device, hlc, seq FROM sync_clock").fetchone()
    return row[0], row[1], row[2]


def missing_blob_refs(db: Database) -> list[tuple[str, str]]:
    """(sha256, mime) of every attachment (and edit base), for the blob pass."""
    return [(r[0], r[1]) for r in db.conn.execute(
        "SELECT sha256, min(mime) FROM attachments GROUP BY sha256 UNION "
        "SELECT edit_base, 'image/png' FROM attachments WHERE edit_base IS NOT NULL")]
