"""Wrong passphrase, tampered and truncated files, a snapshot from a newer schema."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import zstandard

from app.sync import layout
from app.sync.errors import WrongPassphrase
from app.sync.targets import FolderTarget
from tests.sync.devices import Device


@pytest.fixture
async def devices(tmp_path: Path):  # type: ignore[no-untyped-def]
    opened = [await Device.open(tmp_path, n) for n in ("one", "two", "three")]
    yield opened
    for d in opened:
        await d.close()


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


async def test_wrong_passphrase_changes_nothing(tmp_path: Path, devices: list[Device]) -> None:
    a, b, _ = devices
    remote = FolderTarget(tmp_path / "remote")
    await a.chat("Secret", "q", "r", image_seed=5)
    await a.engine(remote).sync()
    await b.chat("Mine", "q", "r")
    before_remote, before_local = _files(remote.root), await b.history()
    with pytest.raises(WrongPassphrase):
        await b.engine(remote, passphrase="not the passphrase").sync()
    assert _files(remote.root) == before_remote
    assert await b.history() == before_local


async def _device_of(d: Device) -> str:
    return (await d.store.sync_clock())[0]


@pytest.mark.parametrize("damage", ["flip", "truncate"])
async def test_tampered_snapshot_is_named_and_the_rest_goes_on(
        tmp_path: Path, devices: list[Device], damage: str) -> None:
    a, b, c = devices
    remote = FolderTarget(tmp_path / "remote")
    await a.chat("From A", "q", "r")
    await b.chat("From B", "q", "r")
    await b.engine(remote).sync()  # B first: B's snapshot has only B's conversation
    await a.engine(remote).sync()
    dev_a = await _device_of(a)
    head = await a.engine(remote).read_head(await a.engine(remote).keys(create=False), dev_a)
    assert head is not None
    snap = remote.root / layout.snapshot(dev_a, head.seq)
    data = bytearray(snap.read_bytes())
    if damage == "flip":
        data[len(data) // 2] ^= 0x01
    else:
        del data[len(data) // 2:]
    snap.write_bytes(bytes(data))
    report = await c.engine(remote).sync()
    assert report.problems == [f"{layout.snapshot(dev_a, head.seq)} was changed or cut short "
                               "on the storage and was skipped."]
    assert [t for t, *_ in await c.history()] == ["From B"]  # B's still merged
    # A writes a fresh snapshot: the next sync of C picks A up.
    await a.chat("A again", "q", "r")
    await a.engine(remote).sync()
    report = await c.engine(remote).sync()
    assert report.problems == []
    assert [t for t, *_ in await c.history()] == ["A again", "From A", "From B"]


async def test_snapshot_from_newer_schema_is_refused(tmp_path: Path,
                                                     devices: list[Device]) -> None:
    a, b, _ = devices
    remote = FolderTarget(tmp_path / "remote")
    await a.chat("From the future", "q", "r")
    engine = a.engine(remote)
    await engine.sync()
    keys = await engine.keys(create=False)
    dev_a = await _device_of(a)
    head = await engine.read_head(keys, dev_a)
    assert head is not None
    label = layout.snapshot(dev_a, head.seq)
    # Re-seal A's snapshot with a schema number this Step Desk does not know.
    plain = zstandard.ZstdDecompressor().decompressobj().decompress(
        keys.open((remote.root / label).read_bytes(), label))
    db = tmp_path / "future.db"
    db.write_bytes(plain)
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    packed = zstandard.ZstdCompressor().compress(db.read_bytes())
    (remote.root / label).write_bytes(keys.seal(packed, label))
    report = await b.engine(remote).sync()
    assert len(report.problems) == 1 and "newer Step Desk" in report.problems[0]
    assert await b.history() == []


async def test_api_key_and_settings_never_in_a_snapshot(tmp_path: Path,
                                                        devices: list[Device]) -> None:
    a, _, _ = devices
    remote = FolderTarget(tmp_path / "remote")
    key = "sk-this-must-never-travel-0123456789"
    await a.store.set_setting("api_key_probe", key)  # even if some code stored it by mistake
    await a.chat("Chat", "q", "r")
    engine = a.engine(remote)
    await engine.sync()
    keys = await engine.keys(create=False)
    dev_a = await _device_of(a)
    head = await engine.read_head(keys, dev_a)
    assert head is not None
    label = layout.snapshot(dev_a, head.seq)
    plain = zstandard.ZstdDecompressor().decompressobj().decompress(
        keys.open((remote.root / label).read_bytes(), label))
    assert b"Chat" in plain and key.encode() not in plain
    for raw in _files(remote.root).values():  # nor anywhere on the storage in the clear
        assert key.encode() not in raw and b"Chat" not in raw
