"""Video: copy / remux / transcode decisions, limits, trim and split, cancellation."""

from __future__ import annotations

import asyncio
import hashlib
import io
import multiprocessing
from pathlib import Path
from typing import TYPE_CHECKING

import av
import pytest
from PIL import Image

from app import limits
from app.media import (
    CorruptMedia,
    IntakeOptions,
    UnsupportedMedia,
    VideoTooLong,
    parse_time_range,
    prepare,
    prepare_sync,
    split,
    trim,
)
from app.media.probe import is_faststart
from tests import media_factory as mf

if TYPE_CHECKING:
    from tests.media_fixtures import MediaSet

pytest_plugins = ["tests.media_fixtures"]


def _streams(path: Path) -> dict[str, object]:
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        audio = container.streams.audio[0] if container.streams.audio else None
        with open(path, "rb") as raw:
            faststart = is_faststart(raw)
        return {
            "format": container.format.name, "video": video.codec_context.name,
            "pix_fmt": video.codec_context.pix_fmt, "audio": audio and audio.codec_context.name,
            "streams": len(container.streams), "faststart": faststart,
            "tags": dict(container.metadata), "width": video.codec_context.width,
        }


def test_h264_aac_faststart_mp4_is_sent_as_is(media: MediaSet, work_dir: Path) -> None:
    prepared = prepare_sync(media.mp4, work_dir=work_dir)
    assert prepared.sha256 == hashlib.sha256(media.mp4.read_bytes()).hexdigest()
    assert prepared.changes == () and prepared.mime == "video/mp4"
    assert (prepared.width, prepared.height) == (64, 48)
    assert prepared.duration_s == pytest.approx(2.0, abs=0.2)
    assert prepared.thumbnail is not None and prepared.thumbnail.startswith(b"\x89PNG")


def test_mp4_without_faststart_is_remuxed(media: MediaSet, work_dir: Path) -> None:
    assert not _streams(media.mp4_slow_start)["faststart"]
    prepared = prepare_sync(media.mp4_slow_start, work_dir=work_dir)
    info = _streams(prepared.path)
    assert info["faststart"] and info["video"] == "h264" and info["audio"] == "aac"


def test_mov_is_repackaged_without_reencoding(media: MediaSet, work_dir: Path) -> None:
    prepared = prepare_sync(media.mov, work_dir=work_dir)
    assert prepared.changes == ("repackaged MOV → MP4 (no re-encoding)",)
    with av.open(str(media.mov)) as src, av.open(str(prepared.path)) as out:
        original = [bytes(p) for p in src.demux(video=0) if p.size]
        copied = [bytes(p) for p in out.demux(video=0) if p.size]
    assert copied == original
    assert _streams(prepared.path)["format"].startswith("mov,mp4")


def test_location_tags_are_removed(tmp_path: Path, work_dir: Path) -> None:
    path = mf.mp4_h264(tmp_path, metadata={"location": "+52.5200+013.4050/",
                                           "title": "at home"})
    assert "location" in _streams(path)["tags"]
    prepared = prepare_sync(path, work_dir=work_dir)
    assert "removed location data" in prepared.changes
    tags = _streams(prepared.path)["tags"]
    assert "location" not in tags and "title" not in tags


@pytest.mark.parametrize(("fixture", "note"), [
    ("mkv_hevc", "converted HEVC → H.264"),
    ("webm_vp9", "converted VP9 → H.264"),
    ("mp4_10bit", "converted H.264 10-bit → H.264"),
])
def test_other_codecs_are_transcoded(media: MediaSet, work_dir: Path, fixture: str,
                                     note: str) -> None:
    prepared = prepare_sync(getattr(media, fixture), work_dir=work_dir)
    info = _streams(prepared.path)
    assert (info["video"], info["pix_fmt"], info["audio"]) == ("h264", "yuv420p", "aac")
    assert info["faststart"] and info["streams"] == 2
    assert note in prepared.changes
    assert prepared.duration_s == pytest.approx(1.0, abs=0.2)


@pytest.mark.parametrize(("fmt", "codec"), [
    ("matroska", "libx265"),  # transcoded: the child sets the rotation and the thumbnail
    ("mov", "libx264"),  # remuxed: the display matrix is copied
    ("mp4", "libx264"),  # sent as is: the thumbnail comes from the captured keyframe
])
def test_phone_rotation_survives(tmp_path: Path, work_dir: Path, fmt: str, codec: str) -> None:
    path = tmp_path / f"portrait.{fmt}"
    faststart = {"movflags": "+faststart"} if fmt == "mp4" else {}
    with av.open(str(path), "w", format=fmt, options=faststart) as out:
        stream = out.add_stream(codec, rate=10, options={
            "preset": "ultrafast", "x265-params": "log-level=error"})
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.set_display_rotation(90)
        for index in range(5):
            mf._mux(out, stream, mf._frame((64, 48), index, False), index)
        for packet in stream.encode():
            out.mux(packet)
    prepared = prepare_sync(path, work_dir=work_dir)
    assert (prepared.changes == ()) == (fmt == "mp4")
    with av.open(str(prepared.path)) as sent:
        assert next(sent.decode(video=0)).rotation == 90
    assert prepared.thumbnail is not None
    with Image.open(io.BytesIO(prepared.thumbnail)) as thumb:
        assert thumb.size == (48, 64), "the thumbnail is shown upright"


def test_audio_only_is_refused(media: MediaSet, work_dir: Path) -> None:
    with pytest.raises(UnsupportedMedia) as info:
        prepare_sync(media.audio_only, work_dir=work_dir)
    assert str(info.value).startswith("“voice.mp4” has no video track (it is audio only)")


def test_six_minutes_is_refused_with_options(media: MediaSet, work_dir: Path) -> None:
    with pytest.raises(VideoTooLong) as info:
        prepare_sync(media.long_video, work_dir=work_dir)
    assert info.value.duration_s == pytest.approx(360, abs=2)
    assert str(info.value) == (
        "“long.mp4” is 6:00 long and videos must be shorter than 5:00; send a part with "
        "--trim 0:00-4:59 or send it in parts with --split.")
    assert not list(work_dir.iterdir())


def test_six_minutes_with_trim_is_accepted(media: MediaSet, work_dir: Path) -> None:
    prepared = prepare_sync(media.long_video, work_dir=work_dir,
                            options=IntakeOptions(trim=parse_time_range("1:00-2:30")))
    assert prepared.duration_s == pytest.approx(90, abs=1.5)
    assert "trimmed to 1:00–2:30" in prepared.changes


def test_trim_longer_than_the_limit_is_refused(media: MediaSet, work_dir: Path) -> None:
    with pytest.raises(VideoTooLong) as info:
        prepare_sync(media.long_video, work_dir=work_dir, options=IntakeOptions(trim=(0, 330)))
    assert str(info.value).startswith("The part 0:00–5:30 of “long.mp4” is 5:30 long")


def test_split_returns_parts_with_ranges(media: MediaSet, tmp_path: Path) -> None:
    parts = split(media.long_video, 150, tmp_path / "parts")
    assert [(round(a), round(b)) for _, a, b in parts] == [(0, 150), (150, 300), (300, 360)]
    for path, start, end in parts:
        with av.open(str(path)) as part:
            assert float(part.duration / 1e6) == pytest.approx(end - start, abs=1.5)


def test_trim_writes_an_mp4(media: MediaSet, tmp_path: Path) -> None:
    out = trim(media.mkv_hevc, 0.2, 0.7, tmp_path / "cut.mp4")
    info = _streams(out)
    assert info["video"] == "h264" and info["faststart"]


@pytest.mark.parametrize(("text", "expected"), [
    ("0:00-4:59", (0.0, 299.0)), ("1:02:03-1:03:00", (3723.0, 3780.0)),
    ("10-20.5", (10.0, 20.5)), (" 0:30 - 1:00 ", (30.0, 60.0)),
])
def test_parse_time_range(text: str, expected: tuple[float, float]) -> None:
    assert parse_time_range(text) == expected


@pytest.mark.parametrize("text", ["4:59", "5:00-4:00", "a-b", "0:75-1:00", ""])
def test_parse_time_range_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_time_range(text)


def test_corrupt_video_is_refused(media: MediaSet, tmp_path: Path, work_dir: Path) -> None:
    broken = tmp_path / "broken.mp4"
    data = media.mp4_slow_start.read_bytes()
    broken.write_bytes(data[:48] + bytes(2000))
    with pytest.raises(CorruptMedia) as info:
        prepare_sync(broken, work_dir=work_dir)
    assert str(info.value).startswith("“broken.mp4”")


def test_zero_length_video_track_is_refused(tmp_path: Path, work_dir: Path) -> None:
    path = mf.make_video(tmp_path / "empty.mkv", fmt="matroska", seconds=1, frames=0)
    with pytest.raises(CorruptMedia) as info:
        prepare_sync(path, work_dir=work_dir)
    assert str(info.value) == "“empty.mkv” has no video frames to send."


def test_oversized_video_is_compressed_until_it_fits(
    tmp_path: Path, work_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = mf.mp4_h264(tmp_path, size=(320, 240), seconds=3, noise=True)
    limit = path.stat().st_size // 3
    monkeypatch.setattr(limits, "MAX_VIDEO_BYTES", limit)
    seen: list[float] = []
    prepared = prepare_sync(path, work_dir=work_dir, options=IntakeOptions(progress=seen.append))
    assert prepared.size <= limit
    assert any(change.startswith("compressed to 320×240") for change in prepared.changes)
    assert seen and seen[-1] == 1.0
    assert [p.name for p in work_dir.iterdir()] == [prepared.path.name]


async def test_cancelling_a_transcode_terminates_the_child(tmp_path: Path,
                                                           work_dir: Path) -> None:
    path = mf.mp4_10bit(tmp_path, size=(320, 240), fps=30, seconds=60, audio=None)
    started = asyncio.Event()
    task = asyncio.create_task(prepare(
        path, work_dir=work_dir, options=IntakeOptions(progress=lambda _: started.set())))
    await asyncio.wait_for(started.wait(), timeout=30)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not multiprocessing.active_children()
    assert not list(work_dir.iterdir())


def test_remux_falls_back_to_faststart_when_the_moov_reserve_is_short(
    media: MediaSet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.media import remux

    monkeypatch.setattr(remux, "_moov_reserve", lambda *_: 64)  # far too small on purpose
    out = tmp_path / "out.mp4"
    remux.remux(media.mov, out)
    info = _streams(out)
    assert info["faststart"] and info["video"] == "h264"
