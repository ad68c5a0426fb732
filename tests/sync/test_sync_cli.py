"""`stepdesk sync | sync status | backup | restore` as real processes against real targets."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.sync.davserver import PASSWORD, USER, DavServer
from tests.sync.devices import PASSPHRASE, Device

ROOT = Path(__file__).resolve().parents[2]


def _env(data: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STEPDESK_")}
    env.update({"STEPDESK_DATA_DIR": str(data), "STEPDESK_SYNC_PASSPHRASE": PASSPHRASE,
                "STEPDESK_WEBDAV_USER": USER, "STEPDESK_WEBDAV_PASSWORD": PASSWORD,
                "PYTHONPATH": str(ROOT), **extra})
    return env


def stepdesk(data: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "app", *args], env=_env(data, **extra),
                          capture_output=True, text=True, timeout=120, cwd=ROOT)


def _seed(root: Path, name: str, title: str, seed: int | None = None) -> Path:
    async def go() -> Path:
        d = await Device.open(root, name)
        try:
            await d.chat(title, "q", "r", image_seed=seed)
        finally:
            await d.close()
        return d.data_dir
    return asyncio.run(go())


def _history(data: Path) -> list[tuple[object, ...]]:
    async def go() -> list[tuple[object, ...]]:
        d = await Device.open(data.parent, data.name)
        try:
            return await d.history()
        finally:
            await d.close()
    return asyncio.run(go())


def test_sync_folder_remembers_target_and_status(tmp_path: Path) -> None:
    a = _seed(tmp_path, "a", "Chat on A", 1)
    b = _seed(tmp_path, "b", "Chat on B")
    remote = tmp_path / "remote"
    first = stepdesk(a, "sync", "--target", str(remote))
    assert first.returncode == 0, first.stderr
    assert "wrote snapshot" in first.stdout
    assert stepdesk(b, "sync", "--target", str(remote)).returncode == 0
    again = stepdesk(a, "sync")  # target remembered
    assert again.returncode == 0 and "merged 1 device" in again.stdout
    assert _history(a) == _history(b)
    status = stepdesk(a, "sync", "status")
    assert status.returncode == 0
    assert "last successful sync: 20" in status.stdout
    listed = [ln for ln in status.stdout.splitlines()[3:] if ln]
    assert any("(this device)" in ln for ln in listed)  # A's snapshots (the last few)
    assert any("(this device)" not in ln for ln in listed)  # and B's


def test_exit_codes(tmp_path: Path, dav: DavServer) -> None:
    a = _seed(tmp_path, "a", "x")
    none = stepdesk(a, "sync")
    assert none.returncode == 2 and "No sync target" in none.stderr
    http = stepdesk(a, "sync", "--target", "http://example.com/dav")
    assert http.returncode == 2 and "https" in http.stderr
    ok = stepdesk(a, "sync", "--target", dav.url)
    assert ok.returncode == 0, ok.stderr
    wrong = stepdesk(a, "sync", STEPDESK_SYNC_PASSPHRASE="nope")
    assert wrong.returncode == 4 and "passphrase is wrong" in wrong.stderr
    creds = stepdesk(a, "sync", STEPDESK_WEBDAV_PASSWORD="nope")
    assert creds.returncode == 4 and "401" in creds.stderr
    assert PASSWORD not in creds.stderr and "nope" not in creds.stderr
    no_pass = stepdesk(a, "sync", STEPDESK_SYNC_PASSPHRASE="")
    assert no_pass.returncode == 4 and "passphrase" in no_pass.stderr
    dav.stop()
    down = stepdesk(a, "sync")
    assert down.returncode == 3 and "cannot be reached" in down.stderr
    for result in (none, http, wrong, creds, no_pass, down):
        assert "Traceback" not in result.stderr and len(result.stderr.splitlines()) == 1


def test_backup_and_restore_into_a_fresh_history(tmp_path: Path) -> None:
    a = _seed(tmp_path, "a", "Precious", 7)
    remote = tmp_path / "backups"
    assert stepdesk(a, "backup", "--to", str(remote)).returncode == 0
    kept = _history(a)
    # Later work on A, then a restore of the backup on a new machine and on A itself.
    fresh = tmp_path / "new-machine"
    fresh.mkdir()
    status = stepdesk(a, "sync", "status", "--target", str(remote))
    ref = next(ln.split()[0] for ln in status.stdout.splitlines()[3:] if "(this device)" in ln)
    restored = stepdesk(fresh, "restore", ref, "--from", str(remote))
    assert restored.returncode == 0, restored.stderr
    assert "1 media files fetched" in restored.stdout
    assert _history(fresh) == kept
    assert list(fresh.glob("stepdesk.db.before-restore-*"))
    _seed(tmp_path, "a", "Newer work")
    back = stepdesk(a, "restore", ref, "--from", str(remote))
    assert back.returncode == 0 and "older than the history" in back.stderr
    assert _history(a) == kept
    bad = stepdesk(a, "restore", "ffff/1", "--from", str(remote))
    assert bad.returncode == 2


def test_sigkill_mid_upload_leaves_both_sides_whole(tmp_path: Path, dav: DavServer) -> None:
    a = _seed(tmp_path, "a", "First", 20)
    assert stepdesk(a, "sync", "--target", dav.url).returncode == 0
    heads_before = {p: p.read_bytes() for p in dav.root.rglob("head")}
    _seed(tmp_path, "a", "Second", 21)
    local = _history(a)
    puts = 0
    killed = threading.Event()
    proc = subprocess.Popen([sys.executable, "-m", "app", "sync"], env=_env(a), cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def on_request(method: str, path: str) -> None:
        nonlocal puts
        if method == "PUT":
            puts += 1
            if puts == 2:  # the new blob went up; the snapshot is on its way: kill now
                os.kill(proc.pid, signal.SIGKILL)
                killed.set()

    dav.faults.on_request = on_request
    proc.communicate(timeout=120)
    dav.faults.on_request = None
    assert killed.is_set() and proc.returncode == -signal.SIGKILL
    assert {p: p.read_bytes() for p in dav.root.rglob("head")} == heads_before
    assert _history(a) == local
    resumed = stepdesk(a, "sync")
    assert resumed.returncode == 0, resumed.stderr
    assert not list(dav.root.rglob(".tmp-*"))
    b = tmp_path / "b"
    b.mkdir()
    assert stepdesk(b, "sync", "--target", dav.url).returncode == 0
    assert _history(b) == local


@pytest.mark.parametrize("args", [["sync", "nonsense"], ["restore"], ["backup", "--to"]])
def test_usage_errors_exit_2(tmp_path: Path, args: list[str]) -> None:
    result = stepdesk(tmp_path, *args)
    assert result.returncode == 2 and "Traceback" not in result.stderr
