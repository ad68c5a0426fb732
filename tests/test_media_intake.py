"""Intake: identification by content, refusals with clear messages, hashing, async, names."""

from __future__ import annotations

import asyncio
import hashlib
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from app.media import (
    CorruptMedia,
    IntakeOptions,
    MediaError,
    MediaTooLarge,
    UnsupportedMedia,
    check_message_limits,
    prepare,
    prepare_sync,
)
from tests import media_factory as mf

if TYPE_CHECKING:
    from tests.media_fixtures import MediaSet

pytest_plugins = ["tests.media_fixtures"]


def _refused(path: Path | bytes, work_dir: Path, kind: type[MediaError] = MediaError) -> str:
    with pytest.raises(kind) as info:
        prepare_sync(path, work_dir=work_dir)
    message = str(info.value)
    assert message == info.value.message
    assert "\n" not in message
    assert not list(work_dir.iterdir()), "a refused file must leave nothing behind"
    return message


def test_sha256_is_of_the_sent_bytes_and_stable(media: MediaSet, work_dir: Path) -> None:
    first = prepare_sync(media.photo, work_dir=work_dir)
    second = prepare_sync(media.photo, work_dir=work_dir)
    sent = first.path.read_bytes()
    assert first.sha256 == hashlib.sha256(sent).hexdigest() == second.sha256
    assert first.size == len(sent)
    assert first.path.parent == work_dir and first.path != second.path


def test_sniffs_content_not_extension(tmp_path: Path, work_dir: Path) -> None:
    disguised = mf.save_as(tmp_path, "really-a-png.jpg", "PNG", mf.scene())
    prepared = prepare_sync(disguised, work_dir=work_dir)
    assert (prepared.mime, prepared.ext) == ("image/png", "png")
    assert prepared.original_name == "really-a-png.jpg"


def test_pasted_bytes(media: MediaSet, work_dir: Path) -> None:
    prepared = prepare_sync(media.png_alpha.read_bytes(), work_dir=work_dir, name="clip.png")
    assert prepared.kind == "image" and prepared.original_name == "clip.png"
    assert prepared.sha256 == hashlib.sha256(prepared.path.read_bytes()).hexdigest()
    assert "“paste” is damaged" in _refused_named(b"\x89PNG\r\n\x1a\n", work_dir, "paste")


def _refused_named(data: bytes, work_dir: Path, name: str) -> str:
    with pytest.raises(CorruptMedia) as info:
        prepare_sync(data, work_dir=work_dir, name=name)
    return str(info.value)


def test_empty_file(tmp_path: Path, work_dir: Path) -> None:
    empty = tmp_path / "empty.jpg"
    empty.touch()
    assert "“empty.jpg” is empty" in _refused(empty, work_dir, CorruptMedia)
    assert "is empty" in _refused(b"", work_dir, CorruptMedia)


def test_truncated_jpeg(tmp_path: Path, work_dir: Path) -> None:
    message = _refused(mf.truncated_jpeg(tmp_path), work_dir, CorruptMedia)
    assert message.startswith("“cut.jpg” is damaged or incomplete")


def test_text_file_named_png(tmp_path: Path, work_dir: Path) -> None:
    message = _refused(mf.not_media(tmp_path)["text"], work_dir, UnsupportedMedia)
    assert message == ("“notes.png” is a text file despite its .png name, not an image or "
                       "video Step Desk can send.")


def test_decompression_bomb_is_refused_before_decoding(tmp_path: Path, work_dir: Path) -> None:
    message = _refused(mf.huge_png_header(tmp_path), work_dir, MediaTooLarge)
    assert "30000×30000" in message and "180 megapixels" in message


@pytest.mark.parametrize(("key", "label"), [
    ("pdf", "a PDF document"), ("exe", "a Windows program"), ("zip", "a ZIP archive"),
])
def test_documents_programs_archives(tmp_path: Path, work_dir: Path, key: str,
                                     label: str) -> None:
    path = mf.not_media(tmp_path)[key]
    message = _refused(path, work_dir, UnsupportedMedia)
    assert message.startswith(f"“{path.name}” is {label}")
    assert "only images and videos" in message


def test_audio_files_are_refused(tmp_path: Path, work_dir: Path) -> None:
    import wave

    path = tmp_path / "memo.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(bytes(1600))
    assert _refused(path, work_dir, UnsupportedMedia) == (
        "“memo.wav” is an audio file; Step Desk can send only images and videos.")


def test_unknown_binary(tmp_path: Path, work_dir: Path) -> None:
    blob = tmp_path / "data.bin"
    blob.write_bytes(bytes(range(256)) * 4)
    assert "is not an image or video" in _refused(blob, work_dir, UnsupportedMedia)


def test_directory(tmp_path: Path, work_dir: Path) -> None:
    folder = tmp_path / "Holiday"
    folder.mkdir()
    assert "“Holiday” is a folder" in _refused(folder, work_dir, UnsupportedMedia)


def test_broken_symlink(tmp_path: Path, work_dir: Path) -> None:
    link = tmp_path / "gone.jpg"
    link.symlink_to(tmp_path / "deleted.jpg")
    message = _refused(link, work_dir, UnsupportedMedia)
    assert message == "“gone.jpg” is a link to a file that no longer exists."


def test_missing_file(tmp_path: Path, work_dir: Path) -> None:
    assert _refused(tmp_path / "nope.png", work_dir) == "“nope.png” does not exist."


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0,
                    reason="root reads mode-000 files anyway, so there is no refusal to see")
def test_unreadable_file(media: MediaSet, tmp_path: Path, work_dir: Path) -> None:
    locked = tmp_path / "locked.jpg"
    locked.write_bytes(media.clean_jpeg.read_bytes())
    locked.chmod(0)
    try:
        message = _refused(locked, work_dir, UnsupportedMedia)
    finally:
        locked.chmod(0o600)
    assert "not allowed to read “locked.jpg”" in message


@pytest.mark.skipif(sys.platform != "linux", reason="undecodable byte names exist on Linux")
def test_non_utf8_file_name_works(media: MediaSet, tmp_path: Path, work_dir: Path) -> None:
    raw = os.fsencode(tmp_path) + b"/caf\xff.jpg"
    with open(raw, "wb") as out:
        out.write(media.clean_jpeg.read_bytes())
    prepared = prepare_sync(Path(os.fsdecode(raw)), work_dir=work_dir)
    assert prepared.original_name == "caf\ufffd.jpg"
    prepared.original_name.encode("utf-8")  # storable in SQLite / JSON


def test_emoji_file_name_works(media: MediaSet, tmp_path: Path, work_dir: Path) -> None:
    path = tmp_path / "🐱 cat 猫.jpg"
    path.write_bytes(media.photo.read_bytes())
    assert prepare_sync(path, work_dir=work_dir).original_name == "🐱 cat 猫.jpg"


def test_sixty_one_images_in_one_message(media: MediaSet, work_dir: Path) -> None:
    one = prepare_sync(media.clean_jpeg, work_dir=work_dir)
    check_message_limits([one] * 60)
    with pytest.raises(MediaTooLarge) as info:
        check_message_limits([one] * 61)
    assert str(info.value) == ("This message has 61 images; at most 60 images can be sent in "
                               "one message.")


async def test_prepare_runs_off_the_loop(media: MediaSet, work_dir: Path) -> None:
    seen: list[float] = []
    loop_thread = asyncio.get_running_loop()
    prepared, _ = await asyncio.gather(
        prepare(media.mov, work_dir=work_dir, options=IntakeOptions(progress=seen.append)),
        asyncio.sleep(0),
    )
    assert prepared.kind == "video" and prepared.ext == "mp4"
    assert loop_thread.is_running()


def test_importing_media_loads_no_heavy_or_qt_module() -> None:
    code = ("import sys, app.media; bad = [m for m in ('PIL', 'av', 'pi_heif', 'PySide6') "
            "if m in sys.modules]; print(bad); sys.exit(bool(bad))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parents[1], check=False)
    assert done.returncode == 0, done.stdout + done.stderr
