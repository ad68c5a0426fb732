"""Comparisons in the store: the v4 migration from every earlier version, keep, cascade."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from app.store import Store, schema
from tests.test_store_migrations import make_old_db


@pytest.mark.parametrize("version", range(1, schema.LATEST))
async def test_comparisons_work_on_a_migrated_database(data_dir: Path, version: int) -> None:
    path = data_dir / "stepdesk.db"
    make_old_db(path, version)  # user turn 1, its answer 2 (no figures, no comparison)
    store = await Store.open(path, owner_dir=data_dir / "owners")
    try:
        [old] = [m for m in await store.list_messages(1) if m.id == 2]
        assert (old.comparison_id, old.kept_answer, old.figures) == (None, None, None)
        comparison = await store.create_comparison(1, ["low", "high"], "chart-to-table")
        low = await store.start_assistant_message(1, reply_to=1, model="m", effort="low",
                                                  version_of=2)
        await store.finish_message(low.id, "complete")
        await store.set_figures(low.id, {"effort": "low", "total_s": 1.5}, comparison)
        await store.keep_answer(2)  # the old, pre-comparison answer can be kept too
        assert [m.id for m in await store.active_messages(1)] == [1, 2]
        await store.keep_answer(low.id)
        assert [m.id for m in await store.active_messages(1)] == [1, low.id]
        [record] = await store.list_comparisons(1)
        assert (record.template, record.kept_effort) == ("chart-to-table", "low")
        assert record.answers[0].figures == {"effort": "low", "total_s": 1.5}
        assert (await store.get_conversation(1)).effort == "low"  # type: ignore[union-attr]
        await store.delete_conversation(1)
        assert await store.list_comparisons(1) == []
    finally:
        await store.close()


@pytest.mark.parametrize("bad", ["not json", "[1, 2]", "null", ""])
async def test_unreadable_figures_count_as_none(data_dir: Path, bad: str) -> None:
    path = data_dir / "stepdesk.db"
    make_old_db(path, schema.LATEST)
    conn = sqlite3.connect(path)
    conn.execute("UPDATE messages SET figures = ? WHERE id = 2", (bad,))
    conn.commit()
    conn.close()
    store = await Store.open(path, owner_dir=data_dir / "owners")
    try:
        assert (await store.get_message(2)).figures is None  # type: ignore[union-attr]
    finally:
        await store.close()


@pytest.mark.parametrize("message_id", [1, 99])
async def test_only_an_answer_to_a_turn_can_be_kept(data_dir: Path, message_id: int) -> None:
    path = data_dir / "stepdesk.db"
    make_old_db(path, schema.LATEST)
    store = await Store.open(path, owner_dir=data_dir / "owners")
    try:
        with pytest.raises(ValueError, match="not an answer"):
            await store.keep_answer(message_id)
        with pytest.raises(ValueError, match="no user message"):
            await store.create_comparison(2, ["low", "high"], None)
    finally:
        await store.close()


async def test_use_an_effort_for_a_template_builtin_or_own(data_dir: Path) -> None:
    from dataclasses import replace

    from app.templates.builtin import load_builtins
    from app.templates.model import TemplateError
    from app.templates.service import TemplateCatalogue

    builtins = load_builtins()
    store = await Store.open(data_dir / "stepdesk.db", owner_dir=data_dir / "owners")
    try:
        catalogue = TemplateCatalogue(store, builtins)
        builtin = builtins[0]
        other = "low" if builtin.effort != "low" else "high"
        assert (await catalogue.set_effort(builtin.slug, other)).effort == other
        own = await catalogue.save(replace(builtin, slug="mine", name="Mine", builtin=False))
        await catalogue.set_effort(own.slug, "medium")
        with pytest.raises(TemplateError):
            await catalogue.set_effort(own.slug, "extreme")
    finally:
        await store.close()
    store = await Store.open(data_dir / "stepdesk.db", owner_dir=data_dir / "owners")
    try:  # remembered across a restart; the built-in's prompt is untouched
        catalogue = TemplateCatalogue(store, builtins)
        again = await catalogue.require(builtin.slug)
        assert (again.effort, again.prompt, again.builtin) == (other, builtin.prompt, True)
        assert (await catalogue.require("mine")).effort == "medium"
    finally:
        await store.close()


async def test_a_user_turn_keeps_the_template_it_was_sent_with(data_dir: Path) -> None:
    """Stored with the row (its `figures` JSON), so it survives a restart; hand edits to
    that JSON (not a string, empty) count as no template; answers have none."""
    path = data_dir / "stepdesk.db"
    store = await Store.open(path, owner_dir=data_dir / "owners")
    conversation = await store.create_conversation("t", "m", "low")
    sent = await store.add_user_message(conversation.id, "Total?", [], model="m",
                                        effort="low", template="receipt-to-table")
    plain = await store.add_user_message(conversation.id, "Again", [], model="m", effort="low")
    answer = await store.start_assistant_message(conversation.id, reply_to=sent.id, model="m",
                                                 effort="low", version_of=None)
    await store.close()
    store = await Store.open(path, owner_dir=data_dir / "owners")
    try:
        assert (await store.get_message(sent.id)).template == "receipt-to-table"  # type: ignore[union-attr]
        assert (await store.get_message(plain.id)).template is None  # type: ignore[union-attr]
        assert (await store.get_message(answer.id)).template is None  # type: ignore[union-attr]
    finally:
        await store.close()
    conn = sqlite3.connect(path)
    for bad in ('{"template": 7}', '{"template": ""}', '{"template": null}', '{}'):
        conn.execute("UPDATE messages SET figures = ? WHERE id = ?", (bad, sent.id))
        conn.commit()
        store = await Store.open(path, owner_dir=data_dir / "owners")
        try:
            assert (await store.get_message(sent.id)).template is None  # type: ignore[union-attr]
        finally:
            await store.close()
    conn.close()
