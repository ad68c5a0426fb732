"""Two and three devices syncing through a local folder: they converge, deletions stick."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.sync.targets import FolderTarget
from tests.sync.devices import Device


@pytest.fixture
async def devices(tmp_path: Path):  # type: ignore[no-untyped-def]
    opened = [await Device.open(tmp_path, n) for n in ("laptop", "desktop", "tablet")]
    yield opened
    for d in opened:
        await d.close()


async def test_two_devices_converge(tmp_path: Path, devices: list[Device]) -> None:
    a, b, _ = devices
    remote = FolderTarget(tmp_path / "remote")
    await a.chat("From A", "hello", "hi there", image_seed=1)
    await b.chat("From B", "question", "answer", image_seed=2)
    await a.engine(remote).sync()
    await b.engine(remote).sync()
    await a.engine(remote).sync()
    assert await a.history() == await b.history()
    assert [t for t, *_ in await a.history()] == ["From A", "From B"]
    # media came along
    for d in (a, b):
        for _t, _p, msgs in await d.history():
            for *_x, shas in msgs:
                for sha in shas:
                    assert d.blobs.find(sha) is not None


async def _sync_all(remote: FolderTarget, order: list[Device]) -> None:
    for d in order:
        await d.engine(remote).sync()


async def test_three_devices_edit_delete_rename_pin(tmp_path: Path,
                                                    devices: list[Device]) -> None:
    a, b, c = devices
    remote = FolderTarget(tmp_path / "remote")
    doomed = await a.chat("Doomed", "q", "r")
    kept = await a.chat("Kept", "q2", "r2", image_seed=3)
    await c.chat("From C", "q3", "r3")
    await _sync_all(remote, [a, b, c, a, b])
    assert await a.history() == await b.history() == await c.history()
    # B deletes "Doomed" and pins "Kept"; C renames "Kept" later; A adds a turn.
    b_ids = {conv.title: conv.id for conv in await b.store.list_conversations()}
    await b.store.delete_conversation(b_ids["Doomed"])
    await b.store.set_pinned(b_ids["Kept"], True)
    c_ids = {conv.title: conv.id for conv in await c.store.list_conversations()}
    await c.store.rename_conversation(c_ids["Kept"], "Kept (renamed on C)")
    await a.store.add_user_message(kept, "one more", [], model=None, effort=None)
    await a.store.rename_conversation(doomed, "Doomed, renamed before it was deleted")
    await _sync_all(remote, [c, b, a, c, b])
    history = await a.history()
    assert history == await b.history() == await c.history()
    titles = [t for t, *_ in history]
    assert titles == ["From C", "Kept (renamed on C)"]
    kept_row = history[1]
    assert kept_row[1] is True  # B's pin and C's rename are different fields: both win
    assert ("user", "one more", "complete", ()) in kept_row[2]
    # Nothing deleted comes back, however often anyone syncs.
    await _sync_all(remote, [a, c, b, a])
    assert [t for t, *_ in await a.history()] == titles


async def test_merging_twice_changes_nothing(tmp_path: Path, devices: list[Device]) -> None:
    a, b, _ = devices
    remote = FolderTarget(tmp_path / "remote")
    await a.chat("Once", "q", "r", image_seed=4)
    await a.engine(remote).sync()
    first = await b.engine(remote).sync()
    assert first.changes > 0 and first.blobs_down == 1
    before = await b.store.sync_clock()
    again = await b.engine(remote).sync()
    assert (again.changes, again.merged, again.wrote, again.blobs_down) == (0, [], None, 0)
    assert await b.store.sync_clock() == before


async def test_nothing_new_writes_nothing(tmp_path: Path, devices: list[Device]) -> None:
    a, b, _ = devices
    remote = FolderTarget(tmp_path / "remote")
    await a.chat("A", "q", "r")
    await _sync_all(remote, [a, b, a, b])
    quiet = FolderTarget(tmp_path / "remote")
    report = await a.engine(quiet).sync()
    assert report.wrote is None and report.merged == []
    assert quiet.traffic.sent == 0 and quiet.traffic.received < 2000


async def test_clock_hours_ahead_still_converges(tmp_path: Path, devices: list[Device]) -> None:
    import sqlite3

    a, b, _ = devices
    remote = FolderTarget(tmp_path / "remote")
    conv = await a.chat("Original", "q", "r")
    raw = sqlite3.connect(a.store.path, isolation_level=None)
    raw.execute("UPDATE sync_clock SET hlc = hlc + 5 * 3600 * 1000")  # A's clock: 5 h fast
    raw.close()
    await a.store.rename_conversation(conv, "Renamed on A (clock 5 h fast)")
    await _sync_all(remote, [a, b])
    [b_conv] = await b.store.list_conversations()
    # B renames afterwards: its wall clock is 5 h "behind" A's stamps, yet its edit is later.
    await b.store.rename_conversation(b_conv.id, "Renamed on B afterwards")
    await _sync_all(remote, [b, a, b])
    assert [t for t, *_ in await a.history()] == ["Renamed on B afterwards"]
    assert await a.history() == await b.history()


async def test_streaming_reply_is_never_changed_by_a_merge(tmp_path: Path,
                                                           devices: list[Device]) -> None:
    a, b, _ = devices
    remote = FolderTarget(tmp_path / "remote")
    conv = await a.chat("Live", "q", "r")
    user = await a.store.add_user_message(conv, "again", [], model=None, effort=None)
    live = await a.store.start_assistant_message(conv, reply_to=user.id, model=None,
                                                 effort=None)
    await a.store.append_reply(live.id, "", "half an ans", None)
    await _sync_all(remote, [a, b])
    # B does not get the half reply; A's live row is untouched by merging B.
    assert all(m[1] != "half an ans" for _t, _p, msgs in await b.history() for m in msgs)
    await b.store.rename_conversation((await b.store.list_conversations())[0].id, "B's name")
    await b.engine(remote).sync()
    await a.engine(remote).sync()
    row = await a.store.get_message(live.id)
    assert row is not None and (row.status, row.content) == ("streaming", "half an ans")
    await a.store.append_reply(live.id, "", "wer", None)
    await a.store.finish_message(live.id, "complete", finish_reason="stop")
    await _sync_all(remote, [a, b])
    assert await a.history() == await b.history()
    assert any(m[1] == "half an answer" for _t, _p, msgs in await b.history() for m in msgs)


async def test_templates_latest_edit_wins_and_deletions_stick(
        tmp_path: Path, devices: list[Device]) -> None:
    from app.store.templates import TemplateRecord

    a, b, _ = devices
    remote = FolderTarget(tmp_path / "remote")
    record = TemplateRecord("receipt", "Receipt", "🧾", "Read it", "low", "image",
                            '{"kind": "text"}', False, 0)
    await a.store.save_template(record)
    await a.store.save_template(TemplateRecord("gone", "Gone", "", "x", "low", "image",
                                               '{"kind": "text"}', False, 1))
    await _sync_all(remote, [a, b])
    assert [t.slug for t in await b.store.list_templates()] == ["receipt", "gone"]
    await b.store.save_template(TemplateRecord("receipt", "Receipt v2", "🧾", "Read it well",
                                               "high", "image", '{"kind": "text"}', True, 0))
    await a.store.delete_template("gone")
    await _sync_all(remote, [b, a, b])
    for d in (a, b):
        [t] = await d.store.list_templates()
        assert (t.name, t.prompt, t.pinned) == ("Receipt v2", "Read it well", True)


async def test_uploads_cache_travels(tmp_path: Path, devices: list[Device]) -> None:
    a, b, _ = devices
    remote = FolderTarget(tmp_path / "remote")
    await a.store.remember_upload("d" * 64, "https://api", "acct", "file-123", 10)
    await _sync_all(remote, [a, b])
    assert await b.store.lookup_upload("d" * 64, "https://api", "acct") == "file-123"


async def test_one_sync_per_history_at_a_time(tmp_path: Path, devices: list[Device]) -> None:
    import fcntl

    from app.sync.errors import SyncError

    a, _, _ = devices
    remote = FolderTarget(tmp_path / "remote")
    await a.engine(remote).sync()  # creates the lock file
    with (a.data_dir / "sync.lock").open("rb") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # as a `stepdesk sync` in another process would
        with pytest.raises(SyncError, match="Another sync"):
            await a.engine(remote).sync()
    assert (await a.engine(remote).sync()).problems == []
