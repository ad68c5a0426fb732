"""Uploads cache (per server and account) and the content-addressed BlobStore."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from app.store import AttachmentRecord, BlobStore, Store

URL = "https://api.stepfun.ai/v1"
ACCT = "0123456789abcdef"


def sha(n: int) -> str:
    return hashlib.sha256(str(n).encode()).hexdigest()


def attachment(digest: str) -> AttachmentRecord:
    return AttachmentRecord("image", "image/png", digest, 10, 1, 1, None, "x.png", 0)


@pytest.fixture
async def store(data_dir: Path) -> AsyncIterator[Store]:
    s = await Store.open(data_dir / "stepdesk.db", owner_dir=data_dir / "owners")
    yield s
    await s.close()


async def test_lookup_remember_forget(store: Store) -> None:
    assert await store.lookup_upload(sha(1), URL, ACCT) is None
    await store.remember_upload(sha(1), URL, ACCT, "file-1", 10)
    assert await store.lookup_upload(sha(1), URL, ACCT) == "file-1"
    # Another server or another account (API key) does not share the ID.
    assert await store.lookup_upload(sha(1), "http://127.0.0.1:9/v1", ACCT) is None
    assert await store.lookup_upload(sha(1), URL, "fedcba9876543210") is None
    await store.remember_upload(sha(1), URL, ACCT, "file-1b", 10)  # re-upload replaces
    assert await store.lookup_upload(sha(1), URL, ACCT) == "file-1b"
    await store.forget_upload("file-1b")
    assert await store.lookup_upload(sha(1), URL, ACCT) is None


async def test_lookup_touches_last_used(store: Store) -> None:
    for n in range(3):
        await store.remember_upload(sha(n), URL, ACCT, f"file-{n}", 10)
        time.sleep(0.002)
    time.sleep(0.002)
    await store.lookup_upload(sha(0), URL, ACCT)
    listed = await store.list_uploads(URL, ACCT)
    assert [u.file_id for u in listed] == ["file-0", "file-2", "file-1"]
    assert listed[0].last_used_at > listed[0].uploaded_at
    assert listed[0].account == ACCT and listed[0].bytes == 10



async def test_listed_uploads_carry_the_name_they_were_attached_as(store: Store) -> None:
    conv = await store.create_conversation("c", "m", None)
    await store.add_user_message(conv.id, "a", [attachment(sha(5))], model="m", effort=None)
    await store.remember_upload(sha(5), URL, ACCT, "file-5", 10)
    await store.remember_upload(sha(6), URL, ACCT, "file-6", 10)  # no local attachment
    names = {u.file_id: u.name for u in await store.list_uploads(URL, ACCT)}
    assert names == {"file-5": "x.png", "file-6": ""}

async def test_prune_is_lru_beyond_keep(store: Store) -> None:
    conv = await store.create_conversation("c", "m", None)
    await store.add_user_message(conv.id, "uses 0", [attachment(sha(0))], model="m", effort=None)
    for n in range(4):  # file-0 is the least recently used, file-3 the most
        await store.remember_upload(sha(n), URL, ACCT, f"file-{n}", 10)
        time.sleep(0.002)
    await store.remember_upload(sha(99), URL, "other-account", "file-x", 10)
    prune = await store.uploads_to_prune(URL, ACCT, keep=2)
    assert [u.file_id for u in prune] == ["file-0", "file-1"]
    assert await store.uploads_to_prune(URL, ACCT, keep=4) == []
    assert await store.uploads_to_prune(URL, ACCT) == []  # default keep leaves room under 1000


async def test_prune_sparing_used_never_offers_files_a_conversation_uses(store: Store) -> None:
    conv = await store.create_conversation("c", "m", None)
    await store.add_user_message(conv.id, "uses 0 and 3", [attachment(sha(0)), attachment(sha(3))],
                                 model="m", effort=None)
    for n in range(6):  # file-0 is the least recently used, file-5 the most
        await store.remember_upload(sha(n), URL, ACCT, f"file-{n}", 10)
        time.sleep(0.002)

    async def prune(keep: int) -> list[str]:
        return [u.file_id for u in await store.uploads_to_prune(URL, ACCT, keep,
                                                                spare_used=True)]

    assert await prune(3) == ["file-1", "file-2", "file-4"]
    assert await prune(5) == ["file-1"]
    assert await prune(6) == []
    assert await prune(0) == ["file-1", "file-2", "file-4", "file-5"]


async def test_file_ids_only_used_by(store: Store) -> None:
    a = await store.create_conversation("a", "m", None)
    b = await store.create_conversation("b", "m", None)
    await store.add_user_message(a.id, "", [attachment(sha(1)), attachment(sha(2))],
                                 model="m", effort=None)
    await store.add_user_message(b.id, "", [attachment(sha(2))], model="m", effort=None)
    for n in (1, 2):
        await store.remember_upload(sha(n), URL, ACCT, f"file-{n}", 10)
    await store.remember_upload(sha(1), URL, "other", "file-other", 10)
    assert await store.file_ids_only_used_by(a.id, URL, ACCT) == ["file-1"]
    assert await store.file_ids_only_used_by(b.id, URL, ACCT) == []
    assert await store.file_ids_only_used_by(a.id, URL, "other") == ["file-other"]


def test_blob_adopt_dedupes_and_renames(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path / "blobs")
    data = b"\x89PNG fake image bytes"
    digest = hashlib.sha256(data).hexdigest()
    tmp = blobs.tmp_dir / "intake-1.part"
    tmp.write_bytes(data)
    inode = tmp.stat().st_ino
    path = blobs.adopt(tmp, digest, "png")
    assert path == tmp_path / "blobs" / digest[:2] / f"{digest}.png"
    assert path.read_bytes() == data and not tmp.exists()
    if os.name == "posix":
        assert path.stat().st_ino == inode  # renamed, not copied
    again = blobs.tmp_dir / "intake-2.part"
    again.write_bytes(data)
    assert blobs.adopt(again, digest, "png") == path and not again.exists()
    assert blobs.exists(digest, "png") and not blobs.exists(digest, "jpg")
    assert blobs.find(digest) == path
    with pytest.raises(ValueError):
        blobs.path("../../etc/passwd", "png")
    with pytest.raises(ValueError):
        blobs.path(digest, "png/../x")


def test_blob_put_file_hashes_while_copying(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path / "blobs")
    src = tmp_path / "Holiday.JPG"
    data = os.urandom(3 * 1024 * 1024 + 7)
    src.write_bytes(data)
    digest, path = blobs.put_file(src)
    assert digest == hashlib.sha256(data).hexdigest()
    assert path.name == f"{digest}.jpg" and path.read_bytes() == data
    assert src.exists() and list(blobs.tmp_dir.iterdir()) == []
    assert blobs.put_file(src) == (digest, path)


def test_blob_thumbnails_and_collect(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path / "blobs")
    keep, drop = hashlib.sha256(b"keep").hexdigest(), hashlib.sha256(b"drop").hexdigest()
    for digest, data in ((keep, b"keep"), (drop, b"drop")):
        tmp = blobs.tmp_dir / f"{digest}.part"
        tmp.write_bytes(data)
        blobs.adopt(tmp, digest, "png")
        blobs.put_thumbnail(digest, b"thumb-" + data)
    assert blobs.thumbnail_path(keep) is not None
    assert blobs.thumbnail_path(keep).read_bytes() == b"thumb-keep"  # type: ignore[union-attr]
    assert blobs.collect({keep}) == 1
    assert blobs.exists(keep, "png") and not blobs.exists(drop, "png")
    assert blobs.thumbnail_path(drop) is None and blobs.thumbnail_path(keep) is not None
    assert blobs.collect(set()) == 1
    assert blobs.thumbnail_path(keep) is None
