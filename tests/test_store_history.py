"""Conversations, messages, versions and the one-transaction-per-call rule, on real files."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from app.api.events import Usage
from app.store import AttachmentRecord, Store, StoreError

SHA_A = "a" * 64
SHA_B = "b" * 64


def attachment(sha: str, ordinal: int = 0, name: str = "cat.png") -> AttachmentRecord:
    return AttachmentRecord("image", "image/png", sha, 1234, 640, 480, None, name, ordinal)


@pytest.fixture
async def store(data_dir: Path) -> AsyncIterator[Store]:
    s = await Store.open(data_dir / "stepdesk.db", owner_dir=data_dir / "owners")
    yield s
    await s.close()


async def test_conversation_crud(store: Store) -> None:
    a = await store.create_conversation("First", "step-3.7-flash", "medium")
    b = await store.create_conversation("Second", "step-3.7-flash", None)
    assert a.id != b.id and a.created_at > 0 and not a.pinned
    assert await store.get_conversation(a.id) == a
    assert await store.get_conversation(9999) is None
    assert [c.id for c in await store.list_conversations()] == [b.id, a.id]
    await store.set_pinned(a.id, True)
    await store.rename_conversation(b.id, "Renamed")
    await store.set_conversation_effort(b.id, "high")
    listed = await store.list_conversations()
    assert [c.id for c in listed] == [a.id, b.id]
    assert listed[0].pinned and listed[1].title == "Renamed" and listed[1].effort == "high"
    assert listed[1].updated_at == b.updated_at  # renaming is not activity
    await store.set_pinned(a.id, False)
    assert [c.id for c in await store.list_conversations()] == [b.id, a.id]
    await asyncio.sleep(0.003)  # timestamps are whole milliseconds
    await store.add_user_message(a.id, "new activity", [], model="m", effort=None)
    assert [c.id for c in await store.list_conversations()] == [a.id, b.id]
    assert len(await store.list_conversations(limit=1)) == 1


async def test_turn_lifecycle_and_commit_count(store: Store) -> None:
    conv = await store.create_conversation("t", "step-3.7-flash", "medium")
    user = await store.add_user_message(
        conv.id, "What is this?", [attachment(SHA_A, 0), attachment(SHA_B, 1, "b.png")],
        model="step-3.7-flash", effort="medium",
    )
    assert user.role == "user" and user.status == "complete" and user.reply_to is None
    assert [a.sha256 for a in user.attachments] == [SHA_A, SHA_B]
    assert all(a.id is not None and a.message_id == user.id for a in user.attachments)

    reply = await store.start_assistant_message(
        conv.id, reply_to=user.id, model="step-3.7-flash", effort="medium"
    )
    assert reply.status == "streaming" and reply.reply_to == user.id and reply.content == ""
    before = store.commit_count
    await store.append_reply(reply.id, "Let me look", "", None)
    await store.append_reply(reply.id, ".", "A cat", Usage(10, 2))
    await store.append_reply(reply.id, "", " on a mat.", Usage(10, 5, 4))
    await store.append_reply(reply.id, "", "", None)  # nothing to write: no transaction
    assert store.commit_count - before == 3
    await store.finish_message(reply.id, "complete", finish_reason="stop")
    assert store.commit_count - before == 4

    done = await store.get_message(reply.id)
    assert done is not None
    assert (done.reasoning, done.content) == ("Let me look.", "A cat on a mat.")
    assert done.status == "complete"
    assert (done.prompt_tokens, done.completion_tokens, done.cached_tokens) == (10, 5, 4)
    assert done.finish_reason == "stop" and done.finished_at and done.error is None
    assert [m.id for m in await store.list_messages(conv.id)] == [user.id, reply.id]
    with pytest.raises(ValueError):
        await store.finish_message(reply.id, "streaming")


async def test_versions_and_active_messages(store: Store) -> None:
    conv = await store.create_conversation("v", "m", "low")
    q1 = await store.add_user_message(conv.id, "q1", [], model="m", effort="low")
    a1 = await store.start_assistant_message(conv.id, reply_to=q1.id, model="m", effort="low")
    await store.finish_message(a1.id, "complete")
    # Regenerate twice: new versions of the answer, the old ones kept.
    a1b = await store.start_assistant_message(
        conv.id, reply_to=q1.id, model="m", effort="low", version_of=a1.id
    )
    await store.finish_message(a1b.id, "stopped")
    a1c = await store.start_assistant_message(
        conv.id, reply_to=q1.id, model="m", effort="low", version_of=a1b.id  # any member
    )
    await store.finish_message(a1c.id, "complete")
    assert a1c.version_of == a1.id  # normalised to the group's first id
    q2 = await store.add_user_message(conv.id, "q2", [], model="m", effort="low")
    a2 = await store.start_assistant_message(conv.id, reply_to=q2.id, model="m", effort="low")
    await store.finish_message(a2.id, "complete")

    assert [m.id for m in await store.active_messages(conv.id)] == [q1.id, a1c.id, q2.id, a2.id]
    assert [m.id for m in await store.versions(a1b.id)] == [a1.id, a1b.id, a1c.id]

    # Edit-and-resend q1: the new question shows its own answer (none yet), later turns stay.
    q1b = await store.add_user_message(conv.id, "q1 edited", [], model="m", effort="low",
                                       version_of=q1.id)
    assert [m.id for m in await store.active_messages(conv.id)] == [q1b.id, q2.id, a2.id]
    a1d = await store.start_assistant_message(conv.id, reply_to=q1b.id, model="m", effort="low")
    active = await store.active_messages(conv.id)
    assert [m.id for m in active] == [q1b.id, a1d.id, q2.id, a2.id]
    assert active[1].status == "streaming"
    assert [m.id for m in await store.versions(q1.id)] == [q1.id, q1b.id]
    assert await store.versions(12345) == []
    assert len(await store.list_messages(conv.id)) == 8


async def test_delete_conversation_returns_unreferenced_blobs(store: Store) -> None:
    one = await store.create_conversation("one", "m", None)
    two = await store.create_conversation("two", "m", None)
    await store.add_user_message(one.id, "x", [attachment(SHA_A), attachment(SHA_B, 1)],
                                 model="m", effort=None)
    await store.add_user_message(two.id, "y", [attachment(SHA_B)], model="m", effort=None)
    assert await store.referenced_sha256s() == {SHA_A, SHA_B}
    assert await store.delete_conversation(one.id) == [SHA_A]
    assert await store.get_conversation(one.id) is None
    assert await store.list_messages(one.id) == []
    assert await store.referenced_sha256s() == {SHA_B}


async def test_settings(store: Store) -> None:
    assert await store.get_setting("theme") is None
    assert await store.get_setting("theme", "dark") == "dark"
    await store.set_setting("theme", "light")
    await store.set_setting("theme", "system")
    assert await store.get_setting("theme") == "system"
    await store.set_setting("theme", None)
    assert await store.get_setting("theme", "x") == "x"


async def test_runs_on_one_dedicated_thread(store: Store) -> None:
    names: set[str] = set()

    def who(db: object) -> None:
        names.add(threading.current_thread().name)

    await asyncio.gather(*(store._run(who) for _ in range(20)))
    assert len(names) == 1 and next(iter(names)).startswith("stepdesk-store")


async def test_closed_store_refuses_work(data_dir: Path) -> None:
    s = await Store.open(data_dir / "x.db", owner_dir=data_dir / "owners")
    await s.close()
    await s.close()  # idempotent
    with pytest.raises(StoreError):
        await s.list_conversations()


async def test_persists_across_reopen(data_dir: Path) -> None:
    path, owners = data_dir / "p.db", data_dir / "owners"
    s = await Store.open(path, owner_dir=owners)
    conv = await s.create_conversation("kept", "m", None)
    await s.add_user_message(conv.id, "hello", [], model="m", effort=None)
    await s.close()
    s = await Store.open(path, owner_dir=owners)
    try:
        assert [m.content for m in await s.list_messages(conv.id)] == ["hello"]
    finally:
        await s.close()
