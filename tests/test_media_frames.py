"""The frame a clicked timestamp shows: the one on screen at that time, not the keyframe."""

from __future__ import annotations

import io
from pathlib import Path

import av
import pytest
from PIL import Image

from app.media.frames import FrameError, frame_png
from tests import media_factory as mf


def reference_frames(path: Path) -> list[tuple[float, bytes]]:
    with av.open(str(path)) as container:
        return [(f.time, f.to_image().tobytes())
                for f in container.decode(container.streams.video[0])]


def pixels(png: bytes) -> bytes:
    return Image.open(io.BytesIO(png)).convert("RGB").tobytes()


def test_frame_at_time_matches_a_full_decode(tmp_path: Path) -> None:
    path = mf.mp4_h264(tmp_path, seconds=3.0, size=(64, 48), options={"g": "10"})
    frames = reference_frames(path)
    for seconds in (0.0, 0.55, 1.0, 1.26, 2.95, 60.0):
        expected = [data for time, data in frames if time <= seconds + 1e-6][-1]
        assert pixels(frame_png(path, seconds)) == expected, seconds


def test_large_frames_are_scaled_down(tmp_path: Path) -> None:
    path = mf.mp4_h264(tmp_path, seconds=0.5, size=(640, 360))
    assert Image.open(io.BytesIO(frame_png(path, 0.2, long_side=320))).size == (320, 180)


def test_unreadable_file_is_a_frame_error(tmp_path: Path) -> None:
    bad = tmp_path / "clip.mp4"
    bad.write_bytes(b"not a video")
    with pytest.raises(FrameError, match=r"clip\.mp4 cannot be read"):
        frame_png(bad, 1.0)
