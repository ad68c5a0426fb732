"""The template catalogue on a real Store: merging, editing rules, restart, export → import."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from app.store import Store
from app.templates.builtin import load_builtins
from app.templates.model import Output, Template, TemplateError
from app.templates.service import BUILTIN_PINS_KEY, TemplateCatalogue, to_record

BUILTINS = load_builtins()


async def open_store(data_dir: Path) -> Store:
    return await Store.open(data_dir / "stepdesk.db", owner_dir=data_dir / "owners")


def mine(slug: str = "mine", **changes: object) -> Template:
    base = Template(slug=slug, name="Mine", icon="🔧", prompt="Do it.", effort="high",
                    media="either", output=Output("code", "python"))
    return replace(base, **changes)  # type: ignore[arg-type]


async def test_user_templates_first_then_builtins_and_survive_a_restart(data_dir: Path) -> None:
    store = await open_store(data_dir)
    catalogue = TemplateCatalogue(store, BUILTINS)
    assert await catalogue.all() == list(BUILTINS)
    first = await catalogue.save(mine("b-first", pinned=True))
    second = await catalogue.save(mine("a-second"))
    assert (first.position, second.position) == (0, 1)
    await catalogue.set_pinned("receipt-to-table", False)
    await store.close()

    store = await open_store(data_dir)  # a new process: everything read back from disk
    catalogue = TemplateCatalogue(store, BUILTINS)
    listed = await catalogue.all()
    assert listed[:2] == [first, second]
    assert [t.slug for t in listed[2:]] == [t.slug for t in BUILTINS]
    assert not (await catalogue.require("receipt-to-table")).pinned
    pinned = [t.slug for t in await catalogue.pinned()]
    assert pinned[0] == "b-first" and "receipt-to-table" not in pinned
    assert "chart-to-data" in pinned
    await store.close()


async def test_edit_rename_duplicate_reorder_delete(data_dir: Path) -> None:
    store = await open_store(data_dir)
    catalogue = TemplateCatalogue(store, BUILTINS)
    await catalogue.save(mine("one"))
    await catalogue.save(mine("two"))
    edited = await catalogue.save(mine("uno", name="Uno", prompt="Now in Spanish."),
                                  replacing="one")
    assert edited.position == 0
    assert [t.slug for t in (await catalogue.all())[:2]] == ["uno", "two"]

    copy = await catalogue.duplicate("screenshot-to-code")
    source = await catalogue.require("screenshot-to-code")
    assert copy.slug == "screenshot-to-code-2"
    assert copy.name == "Screenshot → code (copy)"
    assert (copy.prompt, copy.effort, copy.output) == (source.prompt, source.effort,
                                                       source.output)
    assert not copy.builtin and not copy.pinned and copy.position == 2
    changed = await catalogue.save(replace(copy, effort="medium"), replacing=copy.slug)
    assert (await catalogue.require(changed.slug)).effort == "medium"

    await catalogue.reorder(["screenshot-to-code-2", "uno", "two"])
    assert [t.slug for t in (await catalogue.all())[:3]] == [
        "screenshot-to-code-2", "uno", "two"]
    await catalogue.delete("uno")
    assert await catalogue.get("uno") is None
    await store.close()


@pytest.mark.parametrize(("action", "reason"), [
    ("add-clash", "already used by 'Receipt → table'"),
    ("edit-builtin", "built-in templates are read-only"),
    ("delete-builtin", "cannot be deleted"),
    ("reorder-builtin", "Only your own templates can be reordered"),
    ("invalid", "the effort must be one of"),
    ("missing", "There is no template 'ghost'"),
])
async def test_rules_are_enforced_with_reasons(data_dir: Path, action: str, reason: str) -> None:
    store = await open_store(data_dir)
    catalogue = TemplateCatalogue(store, BUILTINS)
    await catalogue.save(mine())
    with pytest.raises(TemplateError) as info:
        if action == "add-clash":
            await catalogue.save(mine("receipt-to-table"))
        elif action == "edit-builtin":
            await catalogue.save(mine("receipt-to-table"), replacing="receipt-to-table")
        elif action == "delete-builtin":
            await catalogue.delete("chart-to-data")
        elif action == "reorder-builtin":
            await catalogue.reorder(["mine", "chart-to-data"])
        elif action == "invalid":
            await catalogue.save(mine("other", effort="max"))
        else:
            await catalogue.delete("ghost")
    assert reason in str(info.value)
    assert [t.slug for t in await catalogue.all()] == ["mine", *(t.slug for t in BUILTINS)]
    await store.close()


async def test_export_import_round_trip_into_another_database(data_dir: Path,
                                                              tmp_path: Path) -> None:
    store = await open_store(data_dir)
    catalogue = TemplateCatalogue(store, BUILTINS)
    await catalogue.save(mine("mine", pinned=True, prompt="Line 1\nLine 2 — ünïcode"))
    await catalogue.save(mine("other", media="video", output=Output("timeline")))
    text = await catalogue.export()
    assert [t["slug"] for t in json.loads(text)["templates"]] == ["mine", "other"]
    assert len(json.loads(await catalogue.export(everything=True))["templates"]) == \
        2 + len(BUILTINS)
    originals = (await catalogue.all())[:2]
    await store.close()

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    other_store = await open_store(elsewhere)
    other = TemplateCatalogue(other_store, BUILTINS)
    await other.save(mine("mine", name="Theirs"))
    plan = await other.import_text(text)
    assert plan.renamed == (("mine", "mine-2"),)
    listed = await other.all()
    assert listed[1:3] == [replace(originals[0], slug="mine-2", position=1),
                           replace(originals[1], position=2)]
    await other_store.close()


async def test_bad_import_and_bad_rows_change_nothing(data_dir: Path) -> None:
    store = await open_store(data_dir)
    catalogue = TemplateCatalogue(store, BUILTINS)
    await catalogue.save(mine(pinned=True))
    good = json.loads(await catalogue.export())["templates"][0]
    bad = json.dumps({"format": "stepdesk-templates", "schema_version": 1,
                      "templates": [{**good, "slug": "fine"}, {**good, "effort": "max"}]})
    with pytest.raises(TemplateError, match="Template 2"):
        await catalogue.import_text(bad)
    assert [t.slug for t in await catalogue.all()][:2] == ["mine", BUILTINS[0].slug]
    # Garbage written outside the app is skipped, never fatal: a pins setting, a row.
    await catalogue.set_pinned("alt-text", True)
    await store.set_setting(BUILTIN_PINS_KEY, "{not json")
    assert len(await catalogue.pinned()) == 1 + sum(t.pinned for t in BUILTINS)
    await store.save_template(replace(to_record(mine("broken")), output_json="[1]"))
    assert await catalogue.get("broken") is None
    assert (await catalogue.all())[0].slug == "mine"
    await store.close()
