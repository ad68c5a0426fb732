""""Restore from…" with real widgets and real data folders: two devices' snapshots listed by
device and date (folder and WebDAV), the older-snapshot warning, a wrong passphrase or a reply
still streaming changes nothing, and a restore puts the chosen history in place (the previous
one saved beside it, this device's id kept) while the window's store stays open."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from shiboken6 import isValid

from app.secret_store import SecretStore
from app.sync.runner import SyncChoice
from app.sync.secrets import PASSPHRASE
from app.sync.targets import FolderTarget, Target, WebDavTarget
from app.ui.dialogs.restore import RestoreDialog
from tests.sync.davserver import PASSWORD, USER
from tests.sync.devices import PASSPHRASE as SHARED_PASSPHRASE
from tests.sync.devices import Device
from tests.ui.harness import run, until
from tests.ui.sync_helpers import SyncUi, dav_server, open_ui


async def two_devices(root: Path, target: Target) -> None:
    laptop = await Device.open(root, "laptop")
    desk = await Device.open(root, "desk")
    try:
        await laptop.chat("Laptop notes", "q", "a", image_seed=3)
        await laptop.engine(target).sync()
        await desk.chat("Desk notes", "q", "a")
        await desk.engine(target).backup()  # the desk's own history only
    finally:
        await laptop.close()
        await desk.close()


async def titles(ui: SyncUi) -> list[str]:
    return sorted(c.title for c in await ui.services.store.list_conversations())


async def listed(ui: SyncUi) -> RestoreDialog:
    dialog = ui.controller.open_restore()
    await until(lambda: "snapshot(s)" in dialog.status.text()
                or dialog.status.styleSheet() != "", what="the listing")
    return dialog


def set_passphrase(ui: SyncUi, value: str) -> None:
    SecretStore(ui.services.paths.config_dir).set(PASSPHRASE, value, use_keychain=False)


@pytest.mark.parametrize("kind", ["folder", "webdav"])
def test_lists_both_devices_by_date(qloop: Any, tmp_path: Path, kind: str) -> None:
    async def scenario() -> None:
        with dav_server(tmp_path / "dav-root") as dav:
            target: Target
            if kind == "folder":
                address = str(tmp_path / "remote")
                target = FolderTarget(Path(address))
                env = {}
            else:
                address = dav.url
                target = WebDavTarget(dav.url, USER, PASSWORD)
                env = {"STEPDESK_WEBDAV_USER": USER, "STEPDESK_WEBDAV_PASSWORD": PASSWORD}
            await two_devices(tmp_path, target)
            await target.aclose()
            ui = await open_ui(tmp_path / "here", env)
            try:
                set_passphrase(ui, SHARED_PASSPHRASE)
                await ui.setup.save(SyncChoice(address, 0, False))
                dialog = await listed(ui)
                branches = [dialog.tree.topLevelItem(i).text(0)  # type: ignore[union-attr]
                            for i in range(dialog.tree.topLevelItemCount())]
                assert branches == ["desk", "laptop"]
                assert [e.device_name for e in dialog.entries()] == ["desk", "laptop"]
                assert "2 snapshot(s) from 2 device(s)" in dialog.status.text()
                assert not dialog.restore_button.isEnabled()  # nothing chosen yet
                dialog.reject()
            finally:
                await ui.close()

    run(qloop, scenario(), 120)


def test_wrong_passphrase_changes_nothing_then_restore_replaces_the_history(
        qloop: Any, tmp_path: Path) -> None:
    remote = tmp_path / "remote"
    here = tmp_path / "here"

    async def scenario() -> None:
        await two_devices(tmp_path, FolderTarget(remote))
        shown: list[str] = []

        async def after_restore() -> None:
            shown.append("refreshed")

        ui = await open_ui(here)
        ui.controller._after_restore = after_restore
        try:
            await ui.services.store.create_conversation("Only here", "step-3.7-flash", None)
            device_before = (await ui.services.store.sync_clock())[0]
            set_passphrase(ui, SHARED_PASSPHRASE)
            await ui.setup.save(SyncChoice(str(remote), 0, False))
            dialog = await listed(ui)
            laptop = next(e for e in dialog.entries() if e.device_name == "laptop")
            dialog.select(laptop)
            assert dialog.restore_button.isEnabled()
            assert dialog.warning.isVisible() and "older than the history here" in \
                dialog.warning.text()

            set_passphrase(ui, "not the passphrase")
            before = (here / "stepdesk.db").read_bytes()
            dialog.restore_button.click()
            await ui.controller.wait()
            text = dialog.status.text()
            assert "passphrase is wrong" in text and "nothing was changed" in text
            assert "\n" not in text and "Traceback" not in text
            assert await titles(ui) == ["Only here"]
            assert not list(here.glob("stepdesk.db.before-restore-*"))
            assert (here / "stepdesk.db").read_bytes() == before
            assert dialog.restore_button.isEnabled()  # the user may try again

            set_passphrase(ui, SHARED_PASSPHRASE)
            dialog.restore_button.click()
            await ui.controller.wait()
            assert dialog.status.text().startswith("Restored the snapshot of laptop"), \
                dialog.status.text()
            assert "1 media files fetched" in dialog.status.text()
            assert "older than the history that was here" in dialog.status.text()
            assert await titles(ui) == ["Laptop notes"]  # the same Store, now restored
            assert (await ui.services.store.sync_clock())[0] == device_before
            [saved] = list(here.glob("stepdesk.db.before-restore-*"))
            assert saved.name in dialog.status.text()
            assert shown == ["refreshed"]
            assert ui.controller.status_text.startswith("Restored the snapshot of laptop")
            # The restored history syncs on as this device.
            report = await ui.setup.sync()
            assert report is not None and report.wrote is not None
        finally:
            await ui.close()
        assert SHARED_PASSPHRASE.encode() not in b"".join(
            p.read_bytes() for p in here.glob("stepdesk.db*"))

    run(qloop, scenario(), 120)


def test_a_reply_being_written_blocks_the_restore(qloop: Any, tmp_path: Path) -> None:
    remote = tmp_path / "remote"

    async def scenario() -> None:
        await two_devices(tmp_path, FolderTarget(remote))
        ui = await open_ui(tmp_path / "here", {"STEPDESK_SYNC_PASSPHRASE": SHARED_PASSPHRASE})
        try:
            store = ui.services.store
            conv = await store.create_conversation("Streaming", "step-3.7-flash", None)
            user = await store.add_user_message(conv.id, "q", [], model=None, effort=None)
            await store.start_assistant_message(conv.id, reply_to=user.id, model=None,
                                                effort=None)
            await ui.setup.save(SyncChoice(str(remote), 0, False))
            dialog = await listed(ui)
            dialog.select(dialog.entries()[0])
            dialog.restore_button.click()
            await ui.controller.wait()
            assert "still being written" in dialog.status.text()
            assert "unchanged" in dialog.status.text()
            assert await titles(ui) == ["Streaming"]
            assert not list((tmp_path / "here").glob("stepdesk.db.before-restore-*"))
        finally:
            await ui.close()

    run(qloop, scenario(), 120)


def test_listing_with_a_wrong_passphrase_or_no_target_is_one_sentence(qloop: Any,
                                                                      tmp_path: Path) -> None:
    remote = tmp_path / "remote"

    async def scenario() -> None:
        await two_devices(tmp_path, FolderTarget(remote))
        ui = await open_ui(tmp_path / "here", {"STEPDESK_SYNC_PASSPHRASE": "wrong"})
        try:
            dialog = await listed(ui)
            assert dialog.status.text() == "Choose a sync folder or a WebDAV address first."
            dialog.reject()
            await ui.setup.save(SyncChoice(str(remote), 0, False))
            dialog = await listed(ui)
            assert "passphrase is wrong" in dialog.status.text()
            assert dialog.entries() == [] and not dialog.restore_button.isEnabled()
            dialog.reject()
        finally:
            await ui.close()

    run(qloop, scenario(), 60)


def test_closing_the_dialog_mid_listing_leaves_no_error(qloop: Any, tmp_path: Path) -> None:
    remote = tmp_path / "remote"

    async def scenario() -> None:
        await two_devices(tmp_path, FolderTarget(remote))
        ui = await open_ui(tmp_path / "here", {"STEPDESK_SYNC_PASSPHRASE": SHARED_PASSPHRASE})
        try:
            await ui.setup.save(SyncChoice(str(remote), 0, False))
            jobs_before = set(ui.controller._jobs)
            dialog = ui.controller.open_restore()
            [listing] = set(ui.controller._jobs) - jobs_before
            dialog.reject()  # finished → deleteLater, while the listing still runs
            await asyncio.wait([listing], timeout=30)
            assert listing.done() and listing.exception() is None
            assert not isValid(dialog)  # it really was gone when the listing came back
        finally:
            await ui.close()

    run(qloop, scenario(), 60)
