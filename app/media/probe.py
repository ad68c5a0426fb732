"""Probe a video with PyAV: container, duration, codecs, size, and whether MP4 is faststart.

The answers decide the cheapest way to a sendable MP4: copy as is, remux (no re-encode) or
transcode. Probing reads only the container header and a few packets.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.media.errors import CorruptMedia, UnsupportedMedia

COPYABLE_VIDEO = "h264"
COPYABLE_PIX_FMTS = {"yuv420p", "yuvj420p"}  # 8-bit 4:2:0
COPYABLE_AUDIO = "aac"
# Container tags that say nothing about the user; anything else (location!) is stripped.
HARMLESS_TAGS = {"major_brand", "minor_version", "compatible_brands", "encoder"}


@dataclass(frozen=True, slots=True)
class VideoProbe:
    """What a video holds; `copyable` means H.264 8-bit 4:2:0 + (AAC or no audio)."""

    duration_s: float
    width: int
    height: int
    video_codec: str
    pix_fmt: str | None
    audio_codec: str | None
    extra_streams: int  # streams beyond the first video and audio (timecode, subtitles, …)
    has_private_tags: bool  # container tags beyond the harmless ones (location, device, …)
    has_location: bool

    @property
    def copyable(self) -> bool:
        return (
            self.video_codec == COPYABLE_VIDEO
            and self.pix_fmt in COPYABLE_PIX_FMTS
            and self.audio_codec in (None, COPYABLE_AUDIO)
        )


def av() -> Any:
    """Import PyAV on first use (it loads the FFmpeg libraries; the window must not wait)."""
    import av as module

    return module


def probe(path: Path, shown: str) -> VideoProbe:
    """Probe `path`; raise CorruptMedia / UnsupportedMedia with a sentence naming `shown`."""
    pyav = av()
    try:
        container = pyav.open(str(path), "r")
    except pyav.FFmpegError as exc:
        raise CorruptMedia(f"“{shown}” is damaged or not a video PyAV can read.") from exc
    with container:
        videos = [s for s in container.streams.video if s.codec_context.width]
        audios = list(container.streams.audio)
        if not videos:
            if audios:
                raise UnsupportedMedia(
                    f"“{shown}” has no video track (it is audio only); Step Desk sends only "
                    "images and videos."
                )
            raise CorruptMedia(f"“{shown}” contains no video track.")
        stream = videos[0]
        duration = _duration(container, stream)
        empty_mp4 = container.format.name.startswith("mov") and stream.frames == 0
        if duration <= 0 or empty_mp4:
            raise CorruptMedia(f"“{shown}” has a zero-length video track.")
        tags = {k.lower(): v for k, v in container.metadata.items()}
        for s in (stream, *audios[:1]):
            tags.update({k.lower(): v for k, v in s.metadata.items()})
        private = set(tags) - HARMLESS_TAGS - {"language", "handler_name", "vendor_id"}
        ctx = stream.codec_context
        return VideoProbe(
            duration_s=duration,
            width=ctx.width,
            height=ctx.height,
            video_codec=ctx.name,
            pix_fmt=ctx.pix_fmt,
            audio_codec=audios[0].codec_context.name if audios else None,
            extra_streams=len(container.streams) - 1 - (1 if audios else 0),
            has_private_tags=bool(private),
            has_location=any("location" in key or "xyz" in key for key in tags),
        )


def _duration(container: Any, stream: Any) -> float:
    if stream.duration is not None and stream.time_base is not None:
        seconds = float(stream.duration * stream.time_base)
        if seconds > 0:
            return seconds
    if container.duration is not None:
        return container.duration / 1_000_000
    return 0.0


def is_faststart(fd: int) -> bool:
    """True when the MP4's `moov` box comes before `mdat` (players can start streaming).

    Walks the top-level boxes with positional reads of 16 bytes each, never the payload.
    """
    offset = 0
    end = os.fstat(fd).st_size
    while offset + 8 <= end:
        header = os.pread(fd, 16, offset)
        if len(header) < 8:
            return False
        size = int.from_bytes(header[0:4], "big")
        kind = header[4:8]
        if kind == b"moov":
            return True
        if kind == b"mdat":
            return False
        if size == 1 and len(header) == 16:
            size = int.from_bytes(header[8:16], "big")
        elif size == 0:
            return False
        if size < 8:
            return False
        offset += size
    return False
