"""Stable identities for sync: UUIDs, per-field change stamps, tombstones, a hybrid clock.

Schema v6. Every conversation, message, attachment and template gets a random 128-bit `uuid`
(existing rows too). Edits the user can make on two devices carry a *stamp*, a string that
sorts in the order "latest change wins" needs: `<hybrid clock, 15 digits>.<device id>`.

The hybrid clock (`sync_clock.hlc`, milliseconds) never runs backwards: each local change
takes `max(hlc + 1, now)`, and a merge raises it past every stamp it has seen. So a device
whose wall clock is hours wrong still orders its next edit after everything it has merged,
and every device picks the same winner (ties broken by device id): merges converge.
`sync_clock.seq` is a per-device change counter: a sync with nothing new compares it and
writes no snapshot.

Stamps and tombstones are written by triggers, so every write path (window, CLI, a
migration's backfill) is covered without each store function knowing about sync. A merge
writes rows *with* their remote uuid and stamp, which the `WHEN` clauses recognise, so merged
values keep their origin's stamp. Leaf module: plain SQL, no app imports.
"""

from __future__ import annotations

import sqlite3

NEW_ID = "lower(hex(randomblob(16)))"
_NOW_MS = "CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)"
_TICK = f"UPDATE sync_clock SET hlc = max(hlc + 1, {_NOW_MS}), seq = seq + 1;"
STAMP = "(SELECT printf('%015d.%s', hlc, device) FROM sync_clock)"
_DEVICE = "(SELECT device FROM sync_clock)"

_TABLES = f"""
CREATE TABLE sync_clock(
    id INTEGER PRIMARY KEY CHECK (id = 1),
    device TEXT NOT NULL,
    hlc INTEGER NOT NULL,
    seq INTEGER NOT NULL
);
INSERT INTO sync_clock(id, device, hlc, seq) VALUES (1, {NEW_ID}, {_NOW_MS}, 1);
CREATE TABLE tombstones(
    uuid TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    stamp TEXT NOT NULL,
    device TEXT NOT NULL
);
ALTER TABLE conversations ADD COLUMN uuid TEXT;
ALTER TABLE conversations ADD COLUMN title_stamp TEXT NOT NULL DEFAULT '';
ALTER TABLE conversations ADD COLUMN pinned_stamp TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN uuid TEXT;
ALTER TABLE messages ADD COLUMN stamp TEXT NOT NULL DEFAULT '';
ALTER TABLE attachments ADD COLUMN uuid TEXT;
ALTER TABLE templates ADD COLUMN uuid TEXT;
ALTER TABLE templates ADD COLUMN stamp TEXT NOT NULL DEFAULT '';
UPDATE conversations SET uuid = {NEW_ID}, title_stamp = {STAMP}, pinned_stamp = {STAMP};
UPDATE messages SET uuid = {NEW_ID}, stamp = {STAMP};
UPDATE attachments SET uuid = {NEW_ID};
UPDATE templates SET uuid = {NEW_ID}, stamp = {STAMP};
CREATE UNIQUE INDEX conversations_by_uuid ON conversations(uuid);
CREATE UNIQUE INDEX messages_by_uuid ON messages(uuid);
CREATE UNIQUE INDEX attachments_by_uuid ON attachments(uuid);
CREATE UNIQUE INDEX templates_by_uuid ON templates(uuid)
"""

_TRIGGERS = (
    f"""CREATE TRIGGER conversations_sync_new AFTER INSERT ON conversations
    WHEN new.uuid IS NULL BEGIN {_TICK}
        UPDATE conversations SET uuid = {NEW_ID}, title_stamp = {STAMP},
            pinned_stamp = {STAMP} WHERE id = new.id;
    END""",
    f"""CREATE TRIGGER conversations_sync_title AFTER UPDATE OF title ON conversations
    WHEN new.title_stamp IS old.title_stamp AND new.title IS NOT old.title BEGIN {_TICK}
        UPDATE conversations SET title_stamp = {STAMP} WHERE id = new.id;
    END""",
    f"""CREATE TRIGGER conversations_sync_pinned AFTER UPDATE OF pinned ON conversations
    WHEN new.pinned_stamp IS old.pinned_stamp AND new.pinned IS NOT old.pinned BEGIN {_TICK}
        UPDATE conversations SET pinned_stamp = {STAMP} WHERE id = new.id;
    END""",
    f"""CREATE TRIGGER conversations_sync_gone AFTER DELETE ON conversations BEGIN {_TICK}
        INSERT OR IGNORE INTO tombstones(uuid, kind, stamp, device)
        VALUES (old.uuid, 'conversation', {STAMP}, {_DEVICE});
    END""",
    f"""CREATE TRIGGER messages_sync_new AFTER INSERT ON messages
    WHEN new.uuid IS NULL BEGIN {_TICK}
        UPDATE messages SET uuid = {NEW_ID}, stamp = {STAMP} WHERE id = new.id;
    END""",
    f"""CREATE TRIGGER messages_sync_status AFTER UPDATE OF status ON messages
    WHEN new.stamp IS old.stamp BEGIN {_TICK}
        UPDATE messages SET stamp = {STAMP} WHERE id = new.id;
    END""",
    f"""CREATE TRIGGER attachments_sync_new AFTER INSERT ON attachments
    WHEN new.uuid IS NULL BEGIN {_TICK}
        UPDATE attachments SET uuid = {NEW_ID} WHERE id = new.id;
    END""",
    f"""CREATE TRIGGER templates_sync_new AFTER INSERT ON templates
    WHEN new.uuid IS NULL BEGIN {_TICK}
        UPDATE templates SET uuid = {NEW_ID}, stamp = {STAMP} WHERE rowid = new.rowid;
    END""",
    f"""CREATE TRIGGER templates_sync_edit AFTER UPDATE ON templates
    WHEN new.stamp IS old.stamp AND new.uuid IS old.uuid BEGIN {_TICK}
        UPDATE templates SET stamp = {STAMP} WHERE rowid = new.rowid;
    END""",
    f"""CREATE TRIGGER templates_sync_gone AFTER DELETE ON templates
    WHEN old.uuid IS NOT NULL BEGIN {_TICK}
        INSERT OR IGNORE INTO tombstones(uuid, kind, stamp, device)
        VALUES (old.uuid, 'template', {STAMP}, {_DEVICE});
    END""",
    f"CREATE TRIGGER uploads_sync_new AFTER INSERT ON uploads BEGIN {_TICK} END",
    f"""CREATE TRIGGER uploads_sync_used AFTER UPDATE OF last_used_at ON uploads
    BEGIN {_TICK} END""",
)


def add_identities(conn: sqlite3.Connection) -> None:
    """The v6 migration body (inside the caller's transaction)."""
    for statement in _TABLES.split(";\n"):
        if statement.strip():
            conn.execute(statement)
    for trigger in _TRIGGERS:
        conn.execute(trigger)
