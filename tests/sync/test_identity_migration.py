"""Schema v6 from every earlier version: every row gets its own UUID and stamps; triggers
stamp later edits and leave tombstones."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from app.store import Store, schema
from tests.test_store_migrations import make_old_db


def _rows(path: Path, sql: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


@pytest.mark.parametrize("version", range(0, 6))
async def test_every_earlier_schema_gets_identities(data_dir: Path, version: int) -> None:
    path = data_dir / "stepdesk.db"
    if version:
        make_old_db(path, version)
        if version >= 3:
            conn = sqlite3.connect(path)
            conn.execute("INSERT INTO templates(slug, name, prompt, effort, media, output_json, "
                         "created_at, updated_at) VALUES ('t', 'T', 'p', 'low', 'image', '{}', "
                         "1, 1)")
            conn.commit()
            conn.close()
    store = await Store.open(path, owner_dir=data_dir / "owners")
    await store.close()
    assert _rows(path, "PRAGMA user_version")[0][0] == schema.LATEST
    uuids = [r[0] for table in ("conversations", "messages", "attachments", "templates")
             for r in _rows(path, f"SELECT uuid FROM {table}")]
    expected = {0: 0, 1: 4, 2: 4}.get(version, 5)
    assert len(uuids) == expected and len(set(uuids)) == expected
    assert all(isinstance(u, str) and len(u) == 32 for u in uuids)
    if version:
        assert all(s for (s,) in _rows(path, "SELECT title_stamp FROM conversations"))
    [(device, _hlc, _seq)] = _rows(path, "SELECT device, hlc, seq FROM sync_clock")
    assert len(device) == 32


async def test_triggers_stamp_edits_and_leave_tombstones(data_dir: Path) -> None:
    path = data_dir / "stepdesk.db"
    store = await Store.open(path, owner_dir=data_dir / "owners")
    try:
        conv = await store.create_conversation("First", "m", None)
        [(uuid, stamp0, pin0)] = _rows(path, "SELECT uuid, title_stamp, pinned_stamp "
                                             "FROM conversations")
        _, _, seq0 = await store.sync_clock()
        await store.rename_conversation(conv.id, "Second")
        [(stamp1, pin1)] = _rows(path, "SELECT title_stamp, pinned_stamp FROM conversations")
        assert stamp1 > stamp0 and pin1 == pin0  # per field
        assert (await store.sync_clock())[2] > seq0
        await store.delete_conversation(conv.id)
        [(t_uuid, kind, t_stamp)] = _rows(path, "SELECT uuid, kind, stamp FROM tombstones")
        assert (t_uuid, kind) == (uuid, "conversation") and t_stamp > stamp1
    finally:
        await store.close()
