"""The `templates` table: the migration that adds it, and the Store methods over it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from app.store import Store, schema
from app.store.templates import TemplateRecord
from tests.test_store_migrations import make_old_db, user_version


def record(slug: str, position: int = 0, **changes: object) -> TemplateRecord:
    fields: dict[str, object] = {
        "slug": slug, "name": slug.title(), "icon": "🧾", "prompt": "Tabulate 表.",
        "effort": "low", "media": "image", "output_json": '{"kind": "table"}',
        "pinned": False, "position": position}
    fields.update(changes)
    return TemplateRecord(**fields)  # type: ignore[arg-type]


async def test_migration_adds_templates_keeping_older_rows(data_dir: Path) -> None:
    path = data_dir / "stepdesk.db"
    previous = schema.LATEST - 1
    make_old_db(path, previous)
    store = await Store.open(path, owner_dir=data_dir / "owners")
    try:
        assert store.backup_path is not None
        assert user_version(store.backup_path) == previous
        [conv] = await store.list_conversations()
        assert conv.title == "Old chat"
        assert [m.content for m in await store.active_messages(conv.id)] == [
            "what is a quokka 袋鼠的朋友", "A small marsupial."]
        assert await store.get_setting("theme") == "dark"
        assert await store.list_templates() == []
        await store.save_template(record("receipt"))
        [saved] = await store.list_templates()
        assert saved.slug == "receipt" and saved.created_at > 0
    finally:
        await store.close()
    assert user_version(path) == schema.LATEST


async def test_save_edit_rename_reorder_delete(data_dir: Path) -> None:
    store = await Store.open(data_dir / "stepdesk.db", owner_dir=data_dir / "owners")
    try:
        await store.save_templates([record("a", 0), record("b", 1), record("c", 2)])
        before = {r.slug: r for r in await store.list_templates()}
        await store.save_template(record("a2", 0, name="Renamed", pinned=True), replacing="a")
        listed = await store.list_templates()
        assert [r.slug for r in listed] == ["a2", "b", "c"]
        assert (listed[0].name, listed[0].pinned) == ("Renamed", True)
        assert listed[0].created_at == before["a"].created_at  # an edit, not a new template
        assert listed[0].updated_at >= before["a"].updated_at
        await store.reorder_templates(["c", "a2"])
        assert [(r.slug, r.position) for r in await store.list_templates()] == [
            ("c", 0), ("a2", 1), ("b", 2)]
        assert await store.delete_template("b") is True
        assert await store.delete_template("b") is False
        assert [r.slug for r in await store.list_templates()] == ["c", "a2"]
    finally:
        await store.close()
    conn = sqlite3.connect(data_dir / "stepdesk.db")  # plain rows, readable without the app
    try:
        assert conn.execute("SELECT slug, prompt, output_json FROM templates ORDER BY position"
                            ).fetchall() == [("c", "Tabulate 表.", '{"kind": "table"}'),
                                             ("a2", "Tabulate 表.", '{"kind": "table"}')]
    finally:
        conn.close()


async def test_save_templates_is_one_transaction(data_dir: Path) -> None:
    store = await Store.open(data_dir / "stepdesk.db", owner_dir=data_dir / "owners")
    try:
        commits = store.commit_count
        await store.save_templates([record(f"t{n}", n) for n in range(20)])
        assert store.commit_count == commits + 1
        assert len(await store.list_templates()) == 20
    finally:
        await store.close()
