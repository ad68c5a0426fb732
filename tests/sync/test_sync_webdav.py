"""Sync through a real WebDAV server on 127.0.0.1, and every fault the issue lists."""

from __future__ import annotations

import socket
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from app.sync import layout
from app.sync.errors import (
    BadTarget,
    CredentialsRejected,
    SyncError,
    TamperedFile,
    TargetUnreachable,
)
from app.sync.targets import WebDavTarget, check_url
from tests.sync.davserver import PASSWORD, USER, DavServer, Fault
from tests.sync.devices import Device


@pytest.fixture
async def devices(tmp_path: Path):  # type: ignore[no-untyped-def]
    opened = [await Device.open(tmp_path, n) for n in ("work", "home", "phone")]
    yield opened
    for d in opened:
        await d.close()


MakeTarget = Callable[..., WebDavTarget]


@pytest.fixture
async def target(dav: DavServer) -> AsyncIterator[MakeTarget]:
    """Makes WebDAV targets and closes every one at teardown, so a failing test leaks no
    connection into a later test's garbage collection."""
    made: list[WebDavTarget] = []

    def make(*, password: str = PASSWORD, timeout: float = 30.0) -> WebDavTarget:
        made.append(WebDavTarget(dav.url, USER, password, timeout=timeout))
        return made[-1]
    yield make
    for t in made:
        await t.aclose()


def _remote_files(dav: DavServer) -> dict[str, bytes]:
    return {str(p.relative_to(dav.root)): p.read_bytes()
            for p in dav.root.rglob("*") if p.is_file()}


async def test_three_devices_converge_over_webdav(dav: DavServer, devices: list[Device],
                                                  target: MakeTarget) -> None:
    a, b, c = devices
    await a.chat("Work chat", "q", "r", image_seed=10)
    await b.chat("Home chat", "q", "r", image_seed=11)
    await c.chat("Phone chat", "q", "r", image_seed=10)  # the same picture as A's
    for d in (a, b, c, a, b):
        t = target()
        await d.engine(t).sync()
    assert await a.history() == await b.history() == await c.history()
    blobs = [p for p in (dav.root / "blobs").iterdir() if not p.name.startswith(".")]
    assert len(blobs) == 2  # one sealed file per distinct picture, whoever sent it
    assert not [p for p in dav.root.rglob(".tmp-*")]


async def test_nothing_new_is_a_few_small_requests(dav: DavServer, devices: list[Device],
                                                   target: MakeTarget) -> None:
    a, b, _ = devices
    await a.chat("A", "q", "r", image_seed=12)
    for d in (a, b, a, b):
        t = target()
        await d.engine(t).sync()
    t = target()
    report = await a.engine(t).sync()
    assert report.wrote is None and report.blobs_up == 0
    assert t.traffic.sent < 2048 and t.traffic.received < 16 * 1024
    assert dav.faults.counts["PUT"] > 0


@pytest.mark.parametrize(("status", "error"), [(401, CredentialsRejected),
                                               (507, TargetUnreachable),
                                               (500, TargetUnreachable)])
async def test_server_errors_mid_upload_leave_everything_resumable(
        dav: DavServer, devices: list[Device], target: MakeTarget, status: int,
        error: type[Exception]) -> None:
    a, b, _ = devices
    await a.chat("First", "q", "r", image_seed=13)
    t = target()
    await a.engine(t).sync()
    before = _remote_files(dav)
    await a.chat("Second", "q", "r", image_seed=14)
    local = await a.history()
    dav.faults.add(Fault("PUT", nth=2, status=status))  # after the new blob, at the snapshot
    t = target()
    with pytest.raises(error) as caught:
        await a.engine(t).sync()
    assert str(status) in str(caught.value) and "\n" not in str(caught.value)
    assert await a.history() == local  # local history untouched
    # What other devices read is still the old, whole state.
    heads = {k: v for k, v in _remote_files(dav).items() if k.endswith("/head")}
    assert heads == {k: v for k, v in before.items() if k.endswith("/head")}
    t = target()
    await b.engine(t).sync()
    assert [x for x, *_ in await b.history()] == ["First"]
    # The next sync resumes and finishes; B then gets everything.
    for d in (a, b):
        t = target()
        await d.engine(t).sync()
    assert await a.history() == await b.history()
    assert not [p for p in dav.root.rglob(".tmp-*")]


async def test_connection_dropped_mid_upload(dav: DavServer, devices: list[Device],
                                             target: MakeTarget) -> None:
    a, b, _ = devices
    await a.chat("Dropped", "q", "r", image_seed=15)
    dav.faults.add(Fault("PUT", nth=1, drop=True))
    t = target()
    with pytest.raises(TargetUnreachable):
        await a.engine(t).sync()
    for d in (a, b):
        t = target()
        await d.engine(t).sync()
    assert await a.history() == await b.history()


async def test_a_folder_made_by_another_device_meanwhile_is_no_failure(
        dav: DavServer, target: MakeTarget) -> None:
    """MKCOL lost to another device's (wsgidav answers the loser 500): the folder is there,
    so that is no error; a folder that really could not be made still is one."""
    t = target()
    await t.ensure_dir("race/inner")
    dav.faults.add(Fault("MKCOL", nth=1, status=500))
    await t.ensure_dir("race/inner")  # both exist: the 500 is the race, not a failure
    dav.faults.add(Fault("MKCOL", nth=1, status=500))
    with pytest.raises(TargetUnreachable, match="500 to MKCOL"):
        await t.ensure_dir("never")
    assert (dav.root / "race" / "inner").is_dir() and not (dav.root / "never").exists()


async def test_slow_server_times_out_in_words(dav: DavServer, devices: list[Device],
                                              target: MakeTarget) -> None:
    a, _, _ = devices
    await a.chat("Slow", "q", "r")
    release = threading.Event()
    dav.faults.add(Fault("GET", nth=1, hold=release))
    t = target(timeout=0.5)
    try:
        with pytest.raises(TargetUnreachable, match="did not answer in time"):
            await a.engine(t).sync()
    finally:
        release.set()


async def test_wrong_webdav_password_is_credentials(dav: DavServer, devices: list[Device],
                                                    target: MakeTarget) -> None:
    a, _, _ = devices
    t = target(password="wrong")
    with pytest.raises(CredentialsRejected):
        await a.engine(t).sync()


async def test_unreachable_server(devices: list[Device]) -> None:
    a, _, _ = devices
    sock = socket.socket()  # a port nobody listens on: bind, note, close
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    t = WebDavTarget(f"http://127.0.0.1:{port}/dav", USER, PASSWORD)
    try:
        with pytest.raises(TargetUnreachable, match="cannot be reached"):
            await a.engine(t).sync()
    finally:
        await t.aclose()


async def test_two_devices_syncing_at_the_same_moment_converge(
        dav: DavServer, devices: list[Device], target: MakeTarget) -> None:
    import asyncio

    a, b, _ = devices
    await a.chat("A at once", "q", "r", image_seed=16)
    await b.chat("B at once", "q", "r", image_seed=16)
    ta, tb = target(), target()
    await asyncio.gather(a.engine(ta).sync(), b.engine(tb).sync())
    for d in (a, b):
        t = target()
        await d.engine(t).sync()
    assert await a.history() == await b.history()
    assert len(await a.history()) == 2


def _pictures(d: Device) -> set[str]:
    return {p.name.split(".")[0] for p in d.blobs.root.rglob("*.png")}


async def _lose_the_creation_race(t: WebDavTarget, winner: Device) -> None:
    """What a server that checks `Overwrite: F` and moves in two steps lets happen: another
    device also "creates" the repository, and its file is the one that stays."""
    await t.delete(layout.CONFIG)
    await winner.engine(t).backup()


async def _unreadable_files(dav: DavServer, d: Device, t: WebDavTarget) -> list[str]:
    """The files on the server that the repository which stayed cannot open: what was
    sealed under the replaced one's keys and left behind."""
    keys = await d.engine(t).keys(create=False)
    unreadable = []
    for path in sorted(dav.root.rglob("*")):
        label = path.relative_to(dav.root).as_posix()
        if not path.is_file() or label == layout.CONFIG or "/tmp/" in label:
            continue
        try:
            keys.open(path.read_bytes(), label)
        except TamperedFile:
            unreadable.append(label)
    return unreadable


async def test_a_device_whose_repository_was_replaced_writes_its_history_again(
        dav: DavServer, devices: list[Device], target: MakeTarget) -> None:
    a, b, _ = devices
    await a.chat("A's", "q", "r", image_seed=17)
    await b.chat("B's", "q", "r", image_seed=18)
    await a.engine(target()).sync()  # A's repository, A's snapshot and picture
    await _lose_the_creation_race(target(), b)  # B's repository replaces it
    stale = await _unreadable_files(dav, b, target())
    assert any("/snap-" in f for f in stale) and any(f.startswith("blobs/") for f in stale)
    reports = [await d.engine(target()).sync() for d in (a, b)]
    assert [r.problems for r in reports] == [[], []]
    assert await a.history() == await b.history() and len(await a.history()) == 2
    assert _pictures(a) == _pictures(b) and len(_pictures(a)) == 2
    assert await _unreadable_files(dav, a, target()) == []  # A's files under lost keys: gone


async def test_leftovers_of_a_replaced_repository_that_fail_to_delete_go_next_time(
        dav: DavServer, devices: list[Device], target: MakeTarget) -> None:
    a, b, _ = devices
    await a.chat("A's", "q", "r", image_seed=21)
    await b.chat("B's", "q", "r", image_seed=22)
    await a.engine(target()).sync()
    await _lose_the_creation_race(target(), b)
    dav.faults.add(Fault("DELETE", nth=1, status=500))
    with pytest.raises(SyncError):
        await a.engine(target()).sync()
    assert await _unreadable_files(dav, b, target())  # the failed delete left them
    assert (await a.engine(target()).sync()).problems == []
    assert await _unreadable_files(dav, b, target()) == []
    assert (await b.engine(target()).sync()).merged  # A's history, under the keys that stayed
    assert await a.history() == await b.history() and len(await a.history()) == 2


class _RivalFirstTarget(WebDavTarget):
    """A real WebDAV target where another device acts (`rival`) just before this device's
    first write of a file that `first` picks; with `refuse_move`, the server then answers our
    move with 500, as wsgidav did when two moves met."""

    def __init__(self, dav: DavServer, first: Callable[[str], bool],
                 rival: Callable[[], Awaitable[object]], *, refuse_move: bool = False) -> None:
        super().__init__(dav.url, USER, PASSWORD)
        self._dav, self._first, self._refuse_move = dav, first, refuse_move
        self._rival: Callable[[], Awaitable[object]] | None = rival

    async def _before_write(self, path: str) -> None:
        if self._rival is not None and self._first(path):
            rival, self._rival = self._rival, None
            await rival()
            if self._refuse_move:
                self._dav.faults.add(Fault("MOVE", nth=1, status=500))

    async def put(self, path: str, data: bytes, *, tmp_dir: str) -> None:
        await self._before_write(path)
        await super().put(path, data, tmp_dir=tmp_dir)

    async def put_new(self, path: str, data: bytes, *, tmp_dir: str) -> bool:
        await self._before_write(path)
        return await super().put_new(path, data, tmp_dir=tmp_dir)


async def test_a_repository_replaced_during_a_sync_is_caught_by_that_sync(
        dav: DavServer, devices: list[Device], target: MakeTarget) -> None:
    a, b, _ = devices
    await a.chat("A's", "q", "r", image_seed=19)
    await b.chat("B's", "q", "r", image_seed=20)
    raced = _RivalFirstTarget(dav, lambda path: path.endswith("/head"),
                              lambda: _lose_the_creation_race(target(), b))
    try:
        first = await a.engine(raced).sync()
    finally:
        await raced.aclose()
    assert first.merged  # the sync started again under B's repository and merged B
    second = await b.engine(target()).sync()
    assert second.problems == [] and second.merged
    assert await a.history() == await b.history() and len(await a.history()) == 2
    assert _pictures(a) == _pictures(b) and len(_pictures(a)) == 2
    assert await _unreadable_files(dav, a, target()) == []


async def test_a_repository_two_devices_create_at_once_is_the_one_that_stayed(
        dav: DavServer, devices: list[Device], target: MakeTarget) -> None:
    a, b, _ = devices
    await a.chat("A's", "q", "r", image_seed=24)
    await b.chat("B's", "q", "r", image_seed=25)
    raced = _RivalFirstTarget(dav, lambda path: path == layout.CONFIG,
                              lambda: b.engine(target()).sync(), refuse_move=True)
    try:
        report = await a.engine(raced).sync()
    finally:
        await raced.aclose()
    assert report.problems == [] and report.merged and report.wrote
    await b.engine(target()).sync()
    assert await a.history() == await b.history() and len(await a.history()) == 2


async def test_a_picture_two_devices_upload_at_once_is_kept_once(
        dav: DavServer, devices: list[Device], target: MakeTarget) -> None:
    a, b, _ = devices
    await a.chat("A's", "q", "r", image_seed=23)
    await b.engine(target()).sync()  # the repository exists; B has nothing of A's yet
    await b.chat("B's", "q", "r", image_seed=23)  # the same picture
    raced = _RivalFirstTarget(dav, lambda path: path.startswith(f"{layout.BLOBS}/"),
                              lambda: b.engine(target()).sync(), refuse_move=True)
    try:
        report = await a.engine(raced).sync()
    finally:
        await raced.aclose()
    assert report.problems == [] and report.wrote
    assert len(list((dav.root / layout.BLOBS).iterdir())) == 1
    for d in (b, a):  # B wrote during A's sync, after A had merged
        await d.engine(target()).sync()
    assert await a.history() == await b.history() and len(await a.history()) == 2


@pytest.mark.parametrize("url", ["http://example.com/dav", "ftp://x/y", "https://u:p@h/dav",
                                 "http:///nohost"])
def test_bad_urls_are_refused(url: str) -> None:
    with pytest.raises(BadTarget):
        check_url(url)


@pytest.mark.parametrize("url", ["https://cloud.example.com/remote.php/dav/files/me/stepdesk",
                                 "http://127.0.0.1:8080/dav", "http://localhost/x",
                                 "http://[::1]:9/d"])
def test_good_urls_pass(url: str) -> None:
    check_url(url)
