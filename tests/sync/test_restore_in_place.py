"""`Store.replace_file`, the in-place swap a restore uses: the same Store reads the new file,
listeners hear every conversation changed, and a failed install leaves the old history open."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from app.store import Changes
from tests.sync.devices import Device


async def test_the_same_store_reads_the_swapped_file(tmp_path: Path) -> None:
    other = await Device.open(tmp_path, "other")
    await other.chat("Elsewhere", "q", "a")
    await other.close()
    here = await Device.open(tmp_path, "here")
    heard: list[Changes] = []
    here.store.changes.subscribe(heard.append)
    try:
        old = await here.chat("Here", "q", "a")

        def install(path: Path) -> str:
            shutil.copyfile(tmp_path / "other" / "stepdesk.db", path)
            return "done"

        assert await here.store.replace_file(install) == "done"
        assert [c.title for c in await here.store.list_conversations()] == ["Elsewhere"]
        [elsewhere] = await here.store.list_conversations()
        assert heard[-1].conversations == {elsewhere.id} and heard[-1].templates
        assert heard[-1].deleted == ({old} - {elsewhere.id})
    finally:
        await here.close()


async def test_a_failed_install_keeps_the_old_history_open(tmp_path: Path) -> None:
    here = await Device.open(tmp_path, "here")
    try:
        await here.chat("Kept", "q", "a")

        def install(path: Path) -> None:
            raise OSError("disk full")

        with pytest.raises(OSError):
            await here.store.replace_file(install)
        assert [c.title for c in await here.store.list_conversations()] == ["Kept"]
        await here.chat("Still writable", "q", "a")
    finally:
        await here.close()


async def test_refused_while_a_reply_streams(tmp_path: Path) -> None:
    from app.store import StoreError

    here = await Device.open(tmp_path, "here")
    try:
        conv = await here.store.create_conversation("Busy", "step-3.7-flash", None)
        user = await here.store.add_user_message(conv.id, "q", [], model=None, effort=None)
        await here.store.start_assistant_message(conv.id, reply_to=user.id, model=None,
                                                 effort=None)
        called: list[Path] = []
        with pytest.raises(StoreError, match="still being written"):
            await here.store.replace_file(called.append)
        assert called == []
        assert [c.title for c in await here.store.list_conversations()] == ["Busy"]
    finally:
        await here.close()
