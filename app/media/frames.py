"""The frame of a video at a timestamp, as PNG bytes: what a clicked `01:23` shows.

Runs in a worker thread (it decodes video); Qt-free, so the window only turns the bytes into
a pixmap. Seeks to the keyframe before the moment and decodes forward to the frame showing at
that time, so the picture is the one a player would show, not the nearest keyframe.
"""

from __future__ import annotations

from pathlib import Path

from app.media.transcode import png_thumbnail

PREVIEW_SIDE = 1280  # long side of the preview image, in pixels


class FrameError(Exception):
    """The video cannot be read; `str(err)` names the file, for a person."""


def frame_png(path: Path, seconds: float, *, long_side: int = PREVIEW_SIDE) -> bytes:
    """PNG of the frame on screen at `seconds` (the last frame if past the end)."""
    import av

    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            if seconds > 0 and stream.time_base:
                container.seek(int(seconds / stream.time_base), stream=stream, backward=True)
            shown = None
            for frame in container.decode(stream):
                if shown is not None and frame.time is not None and frame.time > seconds:
                    break
                shown = frame
    except (av.FFmpegError, IndexError, OSError) as exc:
        raise FrameError(f"{path.name} cannot be read as a video ({exc}).") from None
    if shown is None:
        raise FrameError(f"{path.name} has no video frames.")
    return png_thumbnail(shown, long_side)

