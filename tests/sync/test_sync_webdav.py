"""Sync through a real WebDAV server on 127.0.0.1, and every fault the issue lists."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import pytest

from app.sync.errors import BadTarget, CredentialsRejected, TargetUnreachable
from app.sync.targets import WebDavTarget, check_url
from tests.sync.davserver import PASSWORD, USER, DavServer, Fault
from tests.sync.devices import Device


@pytest.fixture
async def devices(tmp_path: Path):  # type: ignore[no-untyped-def]
    opened = [await Device.open(tmp_path, n) for n in ("work", "home", "phone")]
    yield opened
    for d in opened:
        await d.close()


def target(dav: DavServer, *, password: str = PASSWORD, timeout: float = 30.0) -> WebDavTarget:
    return WebDavTarget(dav.url, USER, password, timeout=timeout)


def _remote_files(dav: DavServer) -> dict[str, bytes]:
    return {str(p.relative_to(dav.root)): p.read_bytes()
            for p in dav.root.rglob("*") if p.is_file()}


async def test_three_devices_converge_over_webdav(dav: DavServer, devices: list[Device]) -> None:
    a, b, c = devices
    await a.chat("Work chat", "q", "r", image_seed=10)
    await b.chat("Home chat", "q", "r", image_seed=11)
    await c.chat("Phone chat", "q", "r", image_seed=10)  # the same picture as A's
    for d in (a, b, c, a, b):
        t = target(dav)
        await d.engine(t).sync()
        await t.aclose()
    assert await a.history() == await b.history() == await c.history()
    blobs = [p for p in (dav.root / "blobs").iterdir() if not p.name.startswith(".")]
    assert len(blobs) == 2  # one sealed file per distinct picture, whoever sent it
    assert not [p for p in dav.root.rglob(".tmp-*")]


async def test_nothing_new_is_a_few_small_requests(dav: DavServer,
                                                   devices: list[Device]) -> None:
    a, b, _ = devices
    await a.chat("A", "q", "r", image_seed=12)
    for d in (a, b, a, b):
        t = target(dav)
        await d.engine(t).sync()
        await t.aclose()
    t = target(dav)
    report = await a.engine(t).sync()
    await t.aclose()
    assert report.wrote is None and report.blobs_up == 0
    assert t.traffic.sent < 2048 and t.traffic.received < 16 * 1024
    assert dav.faults.counts["PUT"] > 0


@pytest.mark.parametrize(("status", "error"), [(401, CredentialsRejected),
                                               (507, TargetUnreachable),
                                               (500, TargetUnreachable)])
async def test_server_errors_mid_upload_leave_everything_resumable(
        dav: DavServer, devices: list[Device], status: int, error: type[Exception]) -> None:
    a, b, _ = devices
    await a.chat("First", "q", "r", image_seed=13)
    t = target(dav)
    await a.engine(t).sync()
    await t.aclose()
    before = _remote_files(dav)
    await a.chat("Second", "q", "r", image_seed=14)
    local = await a.history()
    dav.faults.add(Fault("PUT", nth=2, status=status))  # after the new blob, at the snapshot
    t = target(dav)
    with pytest.raises(error) as caught:
        await a.engine(t).sync()
    await t.aclose()
    assert str(status) in str(caught.value) and "\n" not in str(caught.value)
    assert await a.history() == local  # local history untouched
    # What other devices read is still the old, whole state.
    heads = {k: v for k, v in _remote_files(dav).items() if k.endswith("/head")}
    assert heads == {k: v for k, v in before.items() if k.endswith("/head")}
    t = target(dav)
    await b.engine(t).sync()
    await t.aclose()
    assert [x for x, *_ in await b.history()] == ["First"]
    # The next sync resumes and finishes; B then gets everything.
    for d in (a, b):
        t = target(dav)
        await d.engine(t).sync()
        await t.aclose()
    assert await a.history() == await b.history()
    assert not [p for p in dav.root.rglob(".tmp-*")]


async def test_connection_dropped_mid_upload(dav: DavServer, devices: list[Device]) -> None:
    a, b, _ = devices
    await a.chat("Dropped", "q", "r", image_seed=15)
    dav.faults.add(Fault("PUT", nth=1, drop=True))
    t = target(dav)
    with pytest.raises(TargetUnreachable):
        await a.engine(t).sync()
    await t.aclose()
    for d in (a, b):
        t = target(dav)
        await d.engine(t).sync()
        await t.aclose()
    assert await a.history() == await b.history()


async def test_a_folder_made_by_another_device_meanwhile_is_no_failure(
        dav: DavServer) -> None:
    """MKCOL lost to another device's (wsgidav answers the loser 500): the folder is there,
    so that is no error; a folder that really could not be made still is one."""
    t = target(dav)
    try:
        await t.ensure_dir("race/inner")
        dav.faults.add(Fault("MKCOL", nth=1, status=500))
        await t.ensure_dir("race/inner")  # both exist: the 500 is the race, not a failure
        dav.faults.add(Fault("MKCOL", nth=1, status=500))
        with pytest.raises(TargetUnreachable, match="500 to MKCOL"):
            await t.ensure_dir("never")
    finally:
        await t.aclose()
    assert (dav.root / "race" / "inner").is_dir() and not (dav.root / "never").exists()


async def test_slow_server_times_out_in_words(dav: DavServer, devices: list[Device]) -> None:
    a, _, _ = devices
    await a.chat("Slow", "q", "r")
    release = threading.Event()
    dav.faults.add(Fault("GET", nth=1, hold=release))
    t = target(dav, timeout=0.5)
    try:
        with pytest.raises(TargetUnreachable, match="did not answer in time"):
            await a.engine(t).sync()
    finally:
        release.set()
        await t.aclose()


async def test_wrong_webdav_password_is_credentials(dav: DavServer,
                                                    devices: list[Device]) -> None:
    a, _, _ = devices
    t = target(dav, password="wrong")
    with pytest.raises(CredentialsRejected):
        await a.engine(t).sync()
    await t.aclose()


async def test_unreachable_server(devices: list[Device]) -> None:
    a, _, _ = devices
    sock = socket.socket()  # a port nobody listens on: bind, note, close
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    t = WebDavTarget(f"http://127.0.0.1:{port}/dav", USER, PASSWORD)
    with pytest.raises(TargetUnreachable, match="cannot be reached"):
        await a.engine(t).sync()
    await t.aclose()


async def test_two_devices_syncing_at_the_same_moment_converge(
        dav: DavServer, devices: list[Device]) -> None:
    import asyncio

    a, b, _ = devices
    await a.chat("A at once", "q", "r", image_seed=16)
    await b.chat("B at once", "q", "r", image_seed=16)
    ta, tb = target(dav), target(dav)
    await asyncio.gather(a.engine(ta).sync(), b.engine(tb).sync())
    await ta.aclose()
    await tb.aclose()
    for d in (a, b):
        t = target(dav)
        await d.engine(t).sync()
        await t.aclose()
    assert await a.history() == await b.history()
    assert len(await a.history()) == 2


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
