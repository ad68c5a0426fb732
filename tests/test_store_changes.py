"""The store reports what each write changed (`Changes`), so a window refreshes only that."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from app.store import Changes, Store
from app.store.templates import TemplateRecord


@pytest.fixture
async def store(data_dir: Path) -> AsyncIterator[Store]:
    s = await Store.open(data_dir / "stepdesk.db", owner_dir=data_dir / "owners")
    yield s
    await s.close()


TEMPLATE = TemplateRecord("mine", "Mine", "", "Describe it.", "low", "image",
                          '{"kind": "text"}', False, 0)


async def heard(store: Store, write: Callable[[], Awaitable[object]]) -> list[Changes]:
    got: list[Changes] = []
    unsubscribe = store.changes.subscribe(got.append)
    try:
        await write()
    finally:
        unsubscribe()
    return got


async def test_each_write_names_what_it_changed(store: Store) -> None:
    conv = await store.create_conversation("First", "m", None)
    one = frozenset({conv.id})
    user = await store.add_user_message(conv.id, "q", [], model="m", effort=None)
    cases: list[tuple[str, Callable[[], Awaitable[object]], Changes]] = [
        ("create", lambda: store.create_conversation("Second", "m", None),
         Changes(conversations=frozenset({conv.id + 1}))),
        ("rename", lambda: store.rename_conversation(conv.id, "New"), Changes(conversations=one)),
        ("pin", lambda: store.set_pinned(conv.id, True), Changes(conversations=one)),
        ("effort", lambda: store.set_conversation_effort(conv.id, "low"),
         Changes(conversations=one)),
        ("question", lambda: store.add_user_message(conv.id, "q2", [], model="m", effort=None),
         Changes(conversations=one)),
        ("answer", lambda: store.start_assistant_message(conv.id, reply_to=user.id, model="m",
                                                         effort=None),
         Changes(conversations=one)),
        ("upload", lambda: store.remember_upload("a" * 64, "u", "acct", "file-1", 10),
         Changes(uploads=True)),
        ("forget", lambda: store.forget_upload("file-1"), Changes(uploads=True)),
        ("template", lambda: store.save_template(TEMPLATE),
         Changes(templates=True)),
        ("setting", lambda: store.set_setting("model", "x"),
         Changes(settings=frozenset({"model"}))),
        ("delete", lambda: store.delete_conversation(conv.id), Changes(deleted=one)),
    ]
    for name, write, expected in cases:
        assert await heard(store, write) == [expected], name


async def test_streaming_text_reports_nothing_until_the_reply_finishes(store: Store) -> None:
    conv = await store.create_conversation("T", "m", None)
    user = await store.add_user_message(conv.id, "q", [], model="m", effort=None)
    reply = await store.start_assistant_message(conv.id, reply_to=user.id, model="m",
                                                effort=None)
    assert await heard(store, lambda: store.append_reply(reply.id, "", "text", None)) == []
    assert await heard(store, lambda: store.finish_message(reply.id, "complete")) == [
        Changes(conversations=frozenset({conv.id}))]


def test_changes_combine_and_an_empty_one_is_false() -> None:
    a = Changes(conversations=frozenset({1}), uploads=True)
    b = Changes(deleted=frozenset({2}), settings=frozenset({"k"}))
    assert a | b == Changes(frozenset({1}), frozenset({2}), True, False, frozenset({"k"}))
    assert not Changes() and a and b


async def test_a_failing_listener_does_not_stop_the_others(store: Store) -> None:
    got: list[Changes] = []

    def broken(_changes: Changes) -> None:
        raise RuntimeError("listener bug")

    store.changes.subscribe(broken)
    store.changes.subscribe(got.append)
    await store.rename_conversation((await store.create_conversation("T", "m", None)).id, "U")
    assert len(got) == 2
