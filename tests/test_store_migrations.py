"""Opening old, new, newer and damaged database files."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

from app.store import CorruptDatabaseError, NewerSchemaError, Store, StoreError, schema
from app.store.errors import translate


def make_old_db(path: Path, version: int) -> None:
    """A database as an older Step Desk left it: schema `version`, with real rows."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.create_function("has_cjk", 1, schema.has_cjk)
        conn.execute("BEGIN")
        for step in schema.MIGRATIONS[:version]:
            step(conn, True)
        conn.execute(f"PRAGMA user_version = {version}")
        conn.execute(
            "INSERT INTO conversations(id, title, created_at, updated_at, model, effort, pinned) "
            "VALUES (1, 'Old chat', 1700000000000, 1700000000500, "
            "'step-3.7-flash', 'medium', 1)"
        )
        conn.execute(
            "INSERT INTO messages(id, conversation_id, role, content, status, created_at) "
            "VALUES (1, 1, 'user', 'what is a quokka 袋鼠的朋友', 'complete', 1700000000000)"
        )
        conn.execute(
            "INSERT INTO messages(id, conversation_id, role, content, reasoning, status, "
            "reply_to, prompt_tokens, completion_tokens, created_at, finished_at) VALUES "
            "(2, 1, 'assistant', 'A small marsupial.', 'hmm', 'complete', 1, 5, 4, "
            "1700000000100, 1700000000400)"
        )
        conn.execute(
            "INSERT INTO attachments(message_id, kind, mime, sha256, bytes, width, height, "
            "original_name, ordinal) VALUES (1, 'image', 'image/png', ?, 99, 2, 2, 'q.png', 0)",
            ("c" * 64,),
        )
        conn.execute(
            "INSERT INTO uploads(sha256, base_url, account, file_id, bytes, uploaded_at, "
            "last_used_at) VALUES (?, 'https://x/v1', 'acct', 'file-old', 99, 1, 2)",
            ("c" * 64,),
        )
        conn.execute("INSERT INTO settings VALUES ('theme', 'dark')")
        if schema.has_fts_tables(conn):  # index the rows as that version's store would have
            conn.execute("INSERT INTO messages_fts(rowid, content) "
                         "SELECT id, content FROM messages")
            conn.execute("INSERT INTO messages_tri(rowid, content) "
                         "SELECT id, content FROM messages WHERE has_cjk(content)")
        conn.execute("COMMIT")
    finally:
        conn.close()


def user_version(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("PRAGMA user_version").fetchone()[0]
    finally:
        conn.close()


async def test_new_file_gets_latest_schema(data_dir: Path) -> None:
    path = data_dir / "stepdesk.db"
    store = await Store.open(path, owner_dir=data_dir / "owners")
    assert store.backup_path is None and store.moved_aside is None
    await store.close()
    assert user_version(path) == schema.LATEST
    assert list(data_dir.glob("*.bak-*")) == []


async def test_empty_file_is_initialised(data_dir: Path) -> None:
    path = data_dir / "stepdesk.db"
    path.touch()
    store = await Store.open(path, owner_dir=data_dir / "owners")
    await store.close()
    assert user_version(path) == schema.LATEST


@pytest.mark.parametrize("version", range(1, schema.LATEST))
async def test_migrates_every_earlier_version_keeping_rows(data_dir: Path, version: int) -> None:
    path = data_dir / "stepdesk.db"
    make_old_db(path, version)
    store = await Store.open(path, owner_dir=data_dir / "owners")
    try:
        assert store.backup_path is not None
        assert store.backup_path.name.startswith(f"stepdesk.db.bak-v{version}-")
        assert user_version(store.backup_path) == version
        [conv] = await store.list_conversations()
        assert (conv.title, conv.pinned, conv.effort) == ("Old chat", True, "medium")
        user, reply = await store.active_messages(conv.id)
        assert user.attachments[0].sha256 == "c" * 64 and reply.reasoning == "hmm"
        assert (user.attachments[0].edits, user.attachments[0].edit_base) == (None, None)
        assert (reply.prompt_tokens, reply.completion_tokens) == (5, 4)
        assert await store.lookup_upload("c" * 64, "https://x/v1", "acct") == "file-old"
        assert await store.get_setting("theme") == "dark"
        # Old rows are searchable after the migration builds the index.
        assert [h.message_id for h in await store.search("quokka")] == [1]
        assert [h.message_id for h in await store.search("袋鼠的")] == [1]
        assert [h.message_id for h in await store.search("marsupial")] == [2]
    finally:
        await store.close()
    assert user_version(path) == schema.LATEST


async def test_newer_schema_is_refused_untouched(data_dir: Path) -> None:
    path = data_dir / "stepdesk.db"
    make_old_db(path, schema.LATEST)
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {schema.LATEST + 1}")
    conn.close()
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(NewerSchemaError) as info:
        await Store.open(path, owner_dir=data_dir / "owners")
    assert "newer version of Step Desk" in str(info.value)
    assert isinstance(info.value, StoreError)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    assert sorted(p.name for p in data_dir.iterdir() if p.is_file()) == ["stepdesk.db"]


async def test_random_bytes_moved_aside(data_dir: Path) -> None:
    path = data_dir / "stepdesk.db"
    junk = bytes(range(256)) * 64
    path.write_bytes(junk)
    with pytest.raises(CorruptDatabaseError) as info:
        await Store.open(path, owner_dir=data_dir / "owners")
    moved = info.value.moved_to
    assert not path.exists() and moved.read_bytes() == junk
    assert moved.name.startswith("stepdesk.db.corrupt-")
    assert str(moved) in str(info.value)


async def test_truncated_db_moved_aside_or_recovered(data_dir: Path) -> None:
    path = data_dir / "stepdesk.db"
    store = await Store.open(path, owner_dir=data_dir / "owners")
    conv = await store.create_conversation("big", "m", None)
    for n in range(200):
        await store.add_user_message(conv.id, f"message {n} " + "x" * 500, [], model="m",
                                     effort=None)
    await store.close()
    size = path.stat().st_size
    with path.open("r+b") as f:
        f.truncate(size // 2)
    store = await Store.open(path, owner_dir=data_dir / "owners", recover_corrupt=True)
    try:
        assert store.moved_aside is not None and store.moved_aside.exists()
        assert store.moved_aside.stat().st_size == size // 2
        assert await store.list_conversations() == []  # a fresh database
    finally:
        await store.close()


def test_environment_errors_become_store_errors(tmp_path: Path) -> None:
    path = tmp_path / "ro.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t(x)")
    conn.close()
    ro = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        with pytest.raises(sqlite3.OperationalError) as info:
            ro.execute("INSERT INTO t VALUES (1)")
    finally:
        ro.close()
    translated = translate(info.value)
    assert isinstance(translated, StoreError) and "read-only" in translated.message
    # A bug (bad SQL) is not dressed up as the user's problem.
    mem = sqlite3.connect(":memory:")
    try:
        with pytest.raises(sqlite3.OperationalError) as bug:
            mem.execute("SELEC 1")
    finally:
        mem.close()
    assert translate(bug.value) is None


async def test_damage_seen_at_runtime_is_checked_at_next_open(data_dir: Path) -> None:
    path, owners = data_dir / "stepdesk.db", data_dir / "owners"
    store = await Store.open(path, owner_dir=owners)
    conv = await store.create_conversation("big", "m", None)
    for n in range(100):
        await store.add_user_message(conv.id, f"message {n} " + "y" * 2000, [], model="m",
                                     effort=None)
    await store.close()
    with path.open("r+b") as f:  # scribble over the middle, header and page count intact
        size = f.seek(0, 2)
        f.seek(size // 2)
        f.write(b"\xff" * 16384)
    store = await Store.open(path, owner_dir=owners)
    try:
        with pytest.raises(StoreError, match="damaged"):
            await store.list_messages(conv.id)
    finally:
        await store.close()
    with pytest.raises(CorruptDatabaseError) as info:
        await Store.open(path, owner_dir=owners)
    assert info.value.moved_to.exists() and not path.exists()
    assert not list(data_dir.glob("*.check"))
