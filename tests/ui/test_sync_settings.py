"""Settings → Sync with real widgets, real data folders, a real folder target and a real WebDAV
server: what is saved where (secrets never in SQLite), hostile addresses, unreachable servers
and refused logins as one sentence on the page, and sync on quit run once and bounded."""

from __future__ import annotations

import logging
import os
import socket
import stat
import threading
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QDialogButtonBox

from app.secret_store import SecretStore
from app.sync.secrets import PASSPHRASE, WEBDAV_PASSWORD, WEBDAV_USER
from app.sync.targets import FolderTarget
from app.ui.dialogs.restore import RestoreDialog
from app.ui.dialogs.settings import SettingsDialog
from app.ui.dialogs.sync_settings import SyncPage
from tests.sync.davserver import PASSWORD, USER, Fault
from tests.sync.devices import PASSPHRASE as SHARED_PASSPHRASE
from tests.sync.devices import Device
from tests.ui.harness import next_signal, run, until
from tests.ui.sync_helpers import SyncUi, dav_server, open_ui

SECRET_PASSPHRASE = "zebra-ultramarine-PASSPHRASE-4471"


def db_bytes(data_dir: Path) -> bytes:
    return b"".join(p.read_bytes() for p in data_dir.glob("stepdesk.db*"))


def log_bytes(data_dir: Path) -> bytes:
    return b"".join(p.read_bytes() for p in data_dir.rglob("*.log*") if p.is_file())


async def seed_repository(root: Path, remote: Path) -> None:
    """Another device made the repository (with a cheap key derivation: tests derive often)."""
    other = await Device.open(root, "laptop")
    try:
        await other.chat("From the laptop", "q", "a")
        await other.engine(FolderTarget(remote)).sync()
    finally:
        await other.close()


async def press_sync(ui: SyncUi, page: SyncPage) -> tuple[str, bool]:
    """Click "Sync now" and wait until the sync (or the save before it) has answered."""
    before = page.result.text(), page.problem_label.text()
    page.sync_button.click()
    await until(lambda: page.sync_button.isEnabled()
                and (page.result.text(), page.problem_label.text()) != before,
                what="the page to show an outcome")
    await ui.controller.wait()
    if page.problem_label.isVisible():
        return page.problem_label.text(), True
    return page.result.text(), page.result.text().startswith("⚠")


def test_saving_keeps_secrets_out_of_sqlite_and_the_log(qloop: Any, tmp_path: Path) -> None:
    data = tmp_path / "data"
    remote = tmp_path / "remote"

    async def scenario() -> None:
        await seed_repository(tmp_path, remote)
        ui = await open_ui(data)
        merged: list[str] = []

        async def list_again() -> None:
            merged.append("listed")

        ui.controller._after_merge = list_again
        try:
            dialog, page = ui.open_page()
            await until(lambda: "passphrase" in page.secrets_note.text(), what="secret state")
            assert "No passphrase yet" in page.secrets_note.text()
            page.target.setText(str(remote))
            page.passphrase.setText(SHARED_PASSPHRASE)
            page.interval.setValue(15)
            page.on_quit.setChecked(True)
            # No keychain here (the null backend keeps nothing): said in one sentence.
            text, failing = await press_sync(ui, page)
            assert failing and "keychain could not keep" in text and "\n" not in text
            assert await ui.services.store.get_setting("sync_target") is None
            page.use_file.setChecked(True)
            text, failing = await press_sync(ui, page)
            assert not failing and text.startswith("Synced at "), text
            assert page.passphrase.text() == ""  # never left in a widget
            await until(lambda: "is kept" in page.secrets_note.text(), what="kept")
            assert ui.timer.interval == 15 * 60_000
            assert ui.services.settings.sync_target == str(remote)
            assert await ui.services.store.get_setting("sync_on_quit") == "1"
            key_file = SecretStore(ui.services.paths.config_dir).file_path(PASSPHRASE)
            assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
            titles = [c.title for c in await ui.services.store.list_conversations()]
            assert titles == ["From the laptop"]
            assert merged == ["listed"]  # the window lists what the merge brought
            dialog.reject()
            # A page opened later says the passphrase is kept, without showing it.
            _dialog2, page2 = ui.open_page()
            await until(lambda: "kept" in page2.secrets_note.text(), what="secret state")
            assert page2.passphrase.text() == "" and page2.target.text() == str(remote)
            assert page2.interval.value() == 15 and page2.on_quit.isChecked()
            assert page2.use_file.isChecked()  # they are in the file: a new one goes there too
        finally:
            await ui.close()
        assert SHARED_PASSPHRASE.encode() not in db_bytes(data)
        assert SHARED_PASSPHRASE.encode() not in log_bytes(data)

    run(qloop, scenario(), 120)


HOSTILE = [
    ("http://cloud.example.com/dav", "only to this machine"),
    ("ftp://files.example.com/sync", "folder or a WebDAV https://"),
    ("https://cloud example.com/dav", "spaces"),
    ("https://me:secret@cloud.example.com/dav", "user name or password"),
    ("https://[::1/dav", "not a valid address"),
    ("x" * 10_000, "too long"),
    ("Sync/stepdesk", "full folder path"),
    ("   ", "Choose a sync folder"),
    ("", "Choose a sync folder"),
]


@pytest.mark.parametrize(("target", "words"), HOSTILE)
def test_bad_addresses_are_one_sentence_and_nothing_is_saved(
        qloop: Any, tmp_path: Path, target: str, words: str) -> None:
    async def scenario() -> None:
        ui = await open_ui(tmp_path / "data")
        try:
            dialog, page = ui.open_page()
            page.target.setText(target)
            page.passphrase.setText(SECRET_PASSPHRASE)
            page.sync_button.click()
            assert page.problem_label.isVisible()
            text = page.problem_label.text()
            assert words in text and "\n" not in text and "Traceback" not in text
            assert len(text) < 300 and text.endswith(".")
            if target.strip():  # OK is refused too, with the same sentence
                box = dialog.findChild(QDialogButtonBox)
                assert box is not None
                box.button(QDialogButtonBox.StandardButton.Ok).click()
                assert dialog.isVisible() and dialog.error.text() == text
            await until(lambda: not ui.controller._jobs, what="jobs to end")
            assert await ui.services.store.get_setting("sync_target") is None
            assert not ui.controller.scheduled
        finally:
            await ui.close()
        assert not (tmp_path / "data" / "config" / PASSPHRASE).exists()

    run(qloop, scenario(), 60)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_webdav_refusals_and_outages_are_sentences_on_the_page(qloop: Any,
                                                               tmp_path: Path) -> None:
    data = tmp_path / "data"

    async def scenario() -> None:
        with dav_server(tmp_path / "dav-root") as dav:
            ui = await open_ui(data)
            try:
                _dialog, page = ui.open_page()
                page.use_file.setChecked(True)
                page.target.setText(f"http://127.0.0.1:{_closed_port()}/dav")
                assert not page.problem_label.isVisible()  # loopback http is allowed
                assert page.user.isEnabled() and page.password.isEnabled()
                page.user.setText(USER)
                page.password.setText("wrong password")
                page.passphrase.setText(SECRET_PASSPHRASE)
                text, failing = await press_sync(ui, page)
                assert failing and "cannot be reached" in text and "nothing was changed" in text
                page.target.setText(dav.url)
                text, failing = await press_sync(ui, page)
                assert failing and "refused the user name or password (401)" in text
                assert "Traceback" not in text and "\n" not in text
                page.password.setText(PASSWORD)
                text, failing = await press_sync(ui, page)
                assert not failing and text.startswith("Synced at "), text
                assert (dav.root / "sync.json").exists()
                dav.faults.add(Fault("PROPFIND", 1, status=507))
                text, failing = await press_sync(ui, page)
                assert failing and "full (507)" in text
            finally:
                await ui.close()
        raw = db_bytes(data) + log_bytes(data)
        for secret in (SECRET_PASSPHRASE, PASSWORD, "wrong password"):
            assert secret.encode() not in raw
        store = SecretStore(data / "config")
        assert store.read_file(WEBDAV_USER) == USER
        assert store.read_file(WEBDAV_PASSWORD) == PASSWORD

    run(qloop, scenario(), 180)


def test_sync_on_quit_runs_once_before_the_shutdown(qloop: Any, tmp_path: Path) -> None:
    remote = tmp_path / "remote"
    data = tmp_path / "data"

    async def scenario() -> None:
        await seed_repository(tmp_path, remote)
        env = {"STEPDESK_SYNC_PASSPHRASE": SHARED_PASSPHRASE}
        ui = await open_ui(data, env)
        order: list[str] = []
        started = ui.controller.statusChanged

        async def shutdown() -> None:
            order.append("shutdown")
            await ui.close()

        started.connect(lambda text, _failing: order.append(f"status:{text[:6]}"))
        try:
            await ui.setup.save(_choice(remote, on_quit=True))
            ui.controller.set_interval(30)
            await ui.controller.then(shutdown)
        except BaseException:
            await ui.close()
            raise
        assert order == ["status:Synced", "shutdown"]
        assert not ui.controller.scheduled  # the schedule stops at quit
        own = [p for p in (remote / "devices").iterdir() if (p / "head").exists()]
        assert len(own) == 2  # the laptop's folder and now ours

        ui2 = await open_ui(tmp_path / "data2", env)
        calls: list[str] = []

        async def shutdown2() -> None:
            calls.append("shutdown")
            await ui2.close()

        await ui2.setup.save(_choice(remote, on_quit=False))
        await ui2.controller.then(shutdown2)
        assert calls == ["shutdown"] and ui2.controller.status_text == ""
        assert len([p for p in (remote / "devices").iterdir() if (p / "head").exists()]) == 2

    run(qloop, scenario(), 120)


def test_a_hanging_server_never_holds_the_quit(qloop: Any, tmp_path: Path,
                                                caplog: pytest.LogCaptureFixture) -> None:
    release = threading.Event()

    async def scenario() -> None:
        with dav_server(tmp_path / "dav-root") as dav:
            env = {"STEPDESK_SYNC_PASSPHRASE": SHARED_PASSPHRASE,
                   "STEPDESK_WEBDAV_USER": USER, "STEPDESK_WEBDAV_PASSWORD": PASSWORD}
            ui = await open_ui(tmp_path / "data", env, quit_timeout_s=0.5)
            closed: list[bool] = []

            async def shutdown() -> None:
                closed.append(True)
                await ui.close()

            try:
                await ui.setup.save(_choice(dav.url, on_quit=True))
                dav.faults.add(Fault("*", 1, hold=release))
                await ui.controller.then(shutdown)
            finally:
                release.set()
                if not closed:
                    await ui.close()
            assert closed == [True]

    with caplog.at_level(logging.INFO, logger="app.ui.controllers.sync"):
        run(qloop, scenario(), 60)
    assert any("sync on quit cut short" in r.getMessage() for r in caplog.records)


def test_the_window_has_the_sync_page(qloop: Any, gui_env: dict[str, str]) -> None:
    from tests.ui.harness import close_window, open_window

    async def scenario() -> None:
        window = await open_window(gui_env)
        try:
            _args = await next_signal(window.settings_opened, window.open_settings)
            dialog = window.settings_dialog
            assert isinstance(dialog, SettingsDialog)
            titles = [dialog.tabs.tabText(i) for i in range(dialog.tabs.count())]
            assert titles == ["&General", "S&ync"]
            page = dialog.tabs.widget(1)
            assert isinstance(page, SyncPage)
            assert page.result.text() == "Sync is off: choose a target."
            dialog.reject()
            window.restore_action.trigger()  # File › Restore from…, over the window
            await until(lambda: any(w.isVisible() for w in window.findChildren(RestoreDialog)),
                        what="the restore dialog")
            restore = next(w for w in window.findChildren(RestoreDialog) if w.isVisible())
            await until(lambda: restore.status.text() not in ("", "Reading the snapshots…"),
                        what="its answer")
            assert restore.status.text() == "Choose a sync folder or a WebDAV address first."
            restore.reject()
        finally:
            await close_window(window)

    run(qloop, scenario())


def _choice(target: object, *, on_quit: bool) -> Any:
    from app.sync.runner import SyncChoice

    return SyncChoice(target=str(target), interval_minutes=0, on_quit=on_quit)


def test_secret_files_are_private(tmp_path: Path) -> None:
    from app.sync.secrets import save_secrets

    where = save_secrets(tmp_path, {PASSPHRASE: "p", WEBDAV_USER: ""}, use_keychain=False)
    assert where == "file"
    assert stat.S_IMODE(os.stat(tmp_path / PASSPHRASE).st_mode) == 0o600
    assert not (tmp_path / WEBDAV_USER).exists()  # an empty field keeps what is stored


def test_closing_the_window_syncs_once_more(qloop: Any, gui_env: dict[str, str],
                                            tmp_path: Path) -> None:
    from app.services import open_core
    from tests.ui.harness import close_window, open_window

    remote = tmp_path / "remote"
    env = {**gui_env, "STEPDESK_SYNC_PASSPHRASE": SHARED_PASSPHRASE}

    async def scenario() -> None:
        await seed_repository(tmp_path, remote)
        services = await open_core(env)
        try:
            await services.save_options({"sync_target": str(remote), "sync_on_quit": True})
        finally:
            await services.aclose()
        window = await open_window(env)
        try:
            await until(lambda: getattr(window, "sync_label", None) is not None
                        and window.sync_label.text().startswith("Synced at "),
                        what="the start-up sync")
            assert window.controllers.conversations.conversation_ids()  # the merge is listed
            device = next(d for d in (remote / "devices").iterdir()
                          if d.name != _laptop_folder(remote))
            before = {p.name for p in device.glob("snap-*")}
            assert len(before) == 1
            store = window.controllers.conversations.library.services.store
            await store.create_conversation("Written just before quitting", "m", None)
        finally:
            await close_window(window, timeout=20)
        after = {p.name for p in device.glob("snap-*")}
        assert len(after) == 2 and before < after  # one more snapshot, written at quit

    run(qloop, scenario(), 120)


def _laptop_folder(remote: Path) -> str:
    """The seeding device's folder: the one whose snapshot came first."""
    folders = sorted((remote / "devices").iterdir(), key=lambda d: (d / "head").stat().st_mtime)
    return folders[0].name
