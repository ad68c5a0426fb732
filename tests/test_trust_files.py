"""Privacy on disk and bytes that leave the machine.

Folders 0700 and files 0600 for everything Step Desk writes, created that way even under a
process umask of 000 (so no instant exists with wider modes) and tightened at start-up when an
earlier version left them wider; temp copies of refused turns and of killed processes go;
bytes appended after the end of an image are never uploaded.
"""

from __future__ import annotations

import io
import os
import sqlite3
import stat
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from app.fsmodes import tighten_tree, write_private_atomic
from app.media.image_end import image_length
from tests.clihelp import ask, stepdesk

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX modes")


@pytest.fixture
def open_umask() -> Iterator[None]:
    """umask 000: a file created without an explicit mode would be world-writable."""
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def _modes(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): stat.S_IMODE(p.lstat().st_mode)
            for p in [root, *root.rglob("*")] if not p.is_symlink()}


def _assert_private(root: Path) -> None:
    for name, mode in _modes(root).items():
        path = root / name
        want = 0o700 if path.is_dir() else 0o600
        assert mode == want, f"{name}: {oct(mode)}"


def _png(path: Path, colour: tuple[int, int, int] = (10, 120, 200)) -> Path:
    Image.new("RGB", (64, 48), colour).save(path, "PNG")
    return path


def test_everything_written_by_a_turn_is_private(standin, data_dir: Path, tmp_path: Path,
                                                 open_umask: None) -> None:
    os.chmod(data_dir, 0o755)  # as an earlier version (or `mkdir`) left it
    result = ask(standin.base_url, data_dir, "--file", str(_png(tmp_path / "a.png")), "hi")
    assert result.code == 0, result.err
    out = tmp_path / "exports" / "chat.md"
    assert stepdesk(standin.base_url, data_dir, "history", "export", "1", "-o",
                    str(out)).code == 0
    names = set(_modes(data_dir))
    assert {"stepdesk.db", "logs/stepdesk.log", "media/tmp"} <= names
    assert any(n.startswith("media/thumbs/") and n.endswith(".png") for n in names)
    assert any(n.endswith(".png") and n.startswith("media/") and "thumbs" not in n
               for n in names)
    _assert_private(data_dir)
    _assert_private(out.parent)  # the export, its folder and its images


def test_core_creates_private_files_without_relying_on_umask(standin, data_dir: Path,
                                                             tmp_path: Path,
                                                             open_umask: None) -> None:
    """Through the core directly (no CLI umask): the modes come from the code itself."""
    import asyncio

    from app.media.intake import prepare
    from app.services import open_core

    async def scenario() -> None:
        services = await open_core({"STEPDESK_DATA_DIR": str(data_dir),
                                    "STEP_BASE_URL": standin.base_url})
        try:
            await prepare(_png(tmp_path / "b.png"), work_dir=services.blobs.tmp_dir)
            await services.store.create_conversation("t", "m", None)
        finally:
            await services.aclose()

    asyncio.run(scenario())
    assert (data_dir / "stepdesk.db-wal").exists() or (data_dir / "stepdesk.db").exists()
    _assert_private(data_dir)


def test_start_up_tightens_what_an_earlier_version_left_wide(standin, data_dir: Path) -> None:
    assert ask(standin.base_url, data_dir, "hi").code == 0
    for path in [data_dir, *data_dir.rglob("*")]:
        os.chmod(path, 0o777 if path.is_dir() else 0o644)
    outside = data_dir.parent / "not-ours.txt"
    outside.write_text("x")
    os.chmod(outside, 0o644)
    (data_dir / "link").symlink_to(outside)  # never followed
    assert stepdesk(standin.base_url, data_dir, "history", "list").code == 0
    (data_dir / "link").unlink()
    _assert_private(data_dir)
    assert stat.S_IMODE(outside.stat().st_mode) == 0o644


def test_key_file_and_migration_backup_are_private(tmp_path: Path, open_umask: None) -> None:
    from app.config import read_key_file, resolve_paths, store_api_key
    from app.store.db import open_database

    paths = resolve_paths({"STEPDESK_DATA_DIR": str(tmp_path / "d")})
    assert store_api_key("sk-file-key-123456", paths, use_keychain=False) == "key file"
    assert stat.S_IMODE(paths.key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(paths.config_dir.stat().st_mode) == 0o700
    assert read_key_file(paths) == "sk-file-key-123456"

    old = tmp_path / "old.db"
    con = sqlite3.connect(old)
    con.execute("CREATE TABLE t(x)")
    con.execute("PRAGMA user_version = 1")
    con.close()
    os.chmod(old, 0o600)
    try:
        opened = open_database(old, use_fts=True, recover_corrupt=False)
    except Exception:
        opened = None
    backups = list(tmp_path.glob("old.db.bak-*"))
    assert backups, "a migration backup is made first"
    for backup in backups:
        assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    if opened is not None:
        opened.db.close()


def test_refused_turn_leaves_no_temp_copy(standin, data_dir: Path, tmp_path: Path) -> None:
    good = _png(tmp_path / "good.png")
    bad = tmp_path / "notes.txt"
    bad.write_text("not an image")
    result = ask(standin.base_url, data_dir, "--file", str(good), "--file", str(bad), "hi")
    assert result.code == 2
    no_key = ask(standin.base_url, data_dir, "--file", str(good), "hi", key=None)
    assert no_key.code == 4
    assert list((data_dir / "media" / "tmp").iterdir()) == []


def test_killed_process_leftovers_collected_at_start(standin, data_dir: Path) -> None:
    assert stepdesk(standin.base_url, data_dir, "history", "list").code == 0
    tmp = data_dir / "media" / "tmp"
    dead = tmp / "img-999999999-abcdef.jpg"  # no such pid
    live = tmp / f"img-{os.getpid()}-abcdef.jpg"  # this process: still in use
    for path in (dead, live):
        path.write_bytes(b"\xff\xd8partial")
    assert stepdesk(standin.base_url, data_dir, "history", "list").code == 0
    assert not dead.exists() and live.exists()


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("secret.txt", "PAYLOAD-AFTER-THE-IMAGE " * 10)
    return buf.getvalue() + b"#!/bin/sh\necho PAYLOAD-SCRIPT\n"


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF", "WEBP"])
def test_bytes_after_the_image_never_leave(standin, data_dir: Path, tmp_path: Path,
                                           fmt: str) -> None:
    buf = io.BytesIO()
    im = Image.new("RGB", (64, 48), (30, 160, 90))
    im.save(buf, fmt, **({"lossless": True} if fmt == "WEBP" else {}))
    clean = buf.getvalue()
    assert image_length(clean) == len(clean)
    polyglot = tmp_path / f"picture.{fmt.lower()}"
    polyglot.write_bytes(clean + _zip())
    result = ask(standin.base_url, data_dir, "--verbose", "--file", str(polyglot), "what?")
    assert result.code == 0, result.err
    assert "after the end of the image" in result.err
    [upload] = standin.upload_requests()
    sent = upload.file_bytes
    assert sent is not None and b"PAYLOAD" not in sent and b"PK\x03\x04" not in sent
    assert sent == clean  # exactly the image, byte for byte


@pytest.mark.parametrize("data", [
    b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\x0dIHDR",  # cut inside the header chunk
    b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\xff" * 50,  # fill bytes, no EOI
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00",  # cut inside the colour table
    b"RIFF\xff\xff\xff\x7fWEBPVP8 ",  # size far past the end
    b"\xff\xd8\xff\xda\x00\x02" + b"\xff\x00" * 10_000,  # scan without an end
])
def test_image_end_walkers_refuse_damaged_structure(data: bytes) -> None:
    assert image_length(data) is None


def test_atomic_write_never_overwrites_or_leaves_half_files(tmp_path: Path) -> None:
    target = tmp_path / "out.md"
    target.write_text("precious")
    with pytest.raises(FileExistsError):
        write_private_atomic(target, b"new", overwrite=False)
    assert target.read_text() == "precious"
    write_private_atomic(target, b"new", overwrite=True)
    assert target.read_bytes() == b"new" and stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["out.md"]


def test_tighten_tree_skips_missing_roots(tmp_path: Path) -> None:
    assert tighten_tree([tmp_path / "missing"]) == 0
