"""Search: FTS5 phrases, CJK via trigram/LIKE, the LIKE fallback, and index maintenance."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from app.store import Store

TEXTS = [
    "I write C++ templates every day",
    "The foo-bar service crashed at noon",
    "cats AND dogs are both fine pets",
    'She said "hello" and left',
    "Use NEAR(a b) in the query syntax",
    "glob patterns like *.py are handy",
    "你好，世界！今天天气很好",
    "我们讨论了机器学习模型的训练方法",
    "Party time 🎉 with friends",
    "Café au lait in Zürich",
    "plain c programming is different",
]


async def _fill(store: Store) -> dict[str, int]:
    conv = await store.create_conversation("Search me", "m", None)
    ids = {}
    for text in TEXTS:
        msg = await store.add_user_message(conv.id, text, [], model="m", effort=None)
        ids[text] = msg.id
    return ids


@pytest.fixture(params=["fts", "like"])
async def store(request: pytest.FixtureRequest, data_dir: Path) -> AsyncIterator[Store]:
    s = await Store.open(data_dir / "s.db", owner_dir=data_dir / "owners",
                         use_fts=request.param == "fts")
    yield s
    await s.close()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("c++", ["I write C++ templates every day"]),
        ("foo-bar", ["The foo-bar service crashed at noon"]),
        ("AND dogs", ["cats AND dogs are both fine pets"]),
        ("OR", []),
        ("dogs NOT", []),
        ("NEAR(", ["Use NEAR(a b) in the query syntax"]),
        ('"hello"', ['She said "hello" and left']),
        ('"', ['She said "hello" and left']),
        ("*", ["glob patterns like *.py are handy"]),
        ("你好", ["你好，世界！今天天气很好"]),
        ("机器学习", ["我们讨论了机器学习模型的训练方法"]),
        ("🎉", ["Party time 🎉 with friends"]),
        ("cats dogs", ["cats AND dogs are both fine pets"]),
        ('"both fine"', ["cats AND dogs are both fine pets"]),
        ("机器学习 训练", ["我们讨论了机器学习模型的训练方法"]),
        ("nothing-like-this", []),
        ("", []),
        ("   ", []),
    ],
)
async def test_search_terms_never_raise(store: Store, query: str, expected: list[str]) -> None:
    ids = await _fill(store)
    hits = await store.search(query)
    assert [h.message_id for h in hits] == [ids[t] for t in expected]


async def test_hits_carry_snippet_and_metadata(store: Store) -> None:
    ids = await _fill(store)
    [hit] = await store.search("crashed")
    assert hit.message_id == ids["The foo-bar service crashed at noon"]
    assert hit.title == "Search me" and hit.role == "user" and hit.created_at > 0
    assert "«crashed»" in hit.snippet
    [hit] = await store.search("机器学习", marks=("[", "]"))
    assert "[机器学习]" in hit.snippet
    [hit] = await store.search("你好", marks=("[", "]"))
    assert "[你好]" in hit.snippet
    [hit] = await store.search("c++")
    assert "«C++»" in hit.snippet
    [hit] = await store.search("party 🎉")
    assert hit.snippet == "«Party» time «🎉» with friends"


async def test_accents_and_case(data_dir: Path) -> None:
    s = await Store.open(data_dir / "a.db", owner_dir=data_dir / "owners")
    try:
        ids = await _fill(s)
        assert [h.message_id for h in await s.search("zurich")] == [ids["Café au lait in Zürich"]]
        assert [h.message_id for h in await s.search("CAFE")] == [ids["Café au lait in Zürich"]]
    finally:
        await s.close()


async def test_newest_first_and_limit(store: Store) -> None:
    conv = await store.create_conversation("many", "m", None)
    ids = [
        (await store.add_user_message(conv.id, f"common word {n}", [], model="m", effort=None)).id
        for n in range(30)
    ]
    hits = await store.search("common", limit=10)
    assert [h.message_id for h in hits] == ids[::-1][:10]


async def test_streaming_text_is_indexed_only_when_finished(store: Store) -> None:
    conv = await store.create_conversation("s", "m", None)
    q = await store.add_user_message(conv.id, "question", [], model="m", effort=None)
    a = await store.start_assistant_message(conv.id, reply_to=q.id, model="m", effort=None)
    await store.append_reply(a.id, "pondering zebras", "zebras are striped 斑马很漂亮", None)
    assert await store.search("zebras") == []
    assert await store.search("斑马很") == []
    await store.finish_message(a.id, "complete")
    [hit] = await store.search("zebras")
    assert hit.message_id == a.id and hit.role == "assistant"
    assert [h.message_id for h in await store.search("斑马很")] == [a.id]
    assert await store.search("pondering") == []  # reasoning is not searched


async def test_deleting_a_conversation_removes_its_hits(store: Store) -> None:
    await _fill(store)
    [conv] = await store.list_conversations()
    await store.delete_conversation(conv.id)
    assert await store.search("crashed") == []
    assert await store.search("机器学习") == []


async def test_fts_created_later_when_first_opened_without(data_dir: Path) -> None:
    path, owners = data_dir / "late.db", data_dir / "owners"
    s = await Store.open(path, owner_dir=owners, use_fts=False)
    ids = await _fill(s)
    await s.close()
    s = await Store.open(path, owner_dir=owners)  # FTS available now: built from existing rows
    try:
        assert [h.message_id for h in await s.search("crashed")] == [
            ids["The foo-bar service crashed at noon"]]
        assert [h.message_id for h in await s.search("机器学习")] == [
            ids["我们讨论了机器学习模型的训练方法"]]
    finally:
        await s.close()


async def test_index_kept_current_while_searching_without_fts(data_dir: Path) -> None:
    path, owners = data_dir / "flip.db", data_dir / "owners"
    s = await Store.open(path, owner_dir=owners)
    conv = await s.create_conversation("c", "m", None)
    await s.close()
    s = await Store.open(path, owner_dir=owners, use_fts=False)
    try:
        text = "armadillo 穿山甲很可爱"
        msg = await s.add_user_message(conv.id, text, [], model="m", effort=None)
        assert [h.message_id for h in await s.search("armadillo")] == [msg.id]  # via LIKE
    finally:
        await s.close()
    s = await Store.open(path, owner_dir=owners)
    try:
        assert [h.message_id for h in await s.search("armadillo")] == [msg.id]
        assert [h.message_id for h in await s.search("穿山甲")] == [msg.id]
    finally:
        await s.close()
