"""Probe a video with PyAV: container, duration, codecs, size, and whether MP4 is faststart.

The answers decide the cheapest way to a sendable MP4: copy as is, remux (no re-encode) or
transcode. Probing reads only the container header and a few packets.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

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


@dataclass(frozen=True, slots=True)
class Keyframe:
    """Where the thumbnail keyframe lies in the file, and how to decode it on its own."""

    pos: int
    size: int
    codec: str
    extradata: bytes
    rotation: int  # display rotation, degrees counter-clockwise (phones record sideways)


def probe(path: Path, shown: str) -> VideoProbe:
    """Probe `path`; raise CorruptMedia / UnsupportedMedia with a sentence naming `shown`."""
    pyav = av()
    try:
        container = pyav.open(str(path), "r")
    except pyav.FFmpegError as exc:
        raise CorruptMedia(f"“{shown}” is damaged or not a video PyAV can read.") from exc
    with container:
        return _describe(container, shown)


def probe_head(head: bytes, shown: str) -> tuple[VideoProbe, Keyframe | None] | None:
    """Probe a faststart MP4 from its first bytes, already in memory: no extra file read.

    Returns None when `head` does not hold the whole moov box and the first keyframe (the
    demuxer reads one to fill in stream parameters); the caller then probes the file. Also
    locates the keyframe at or before ~10 % for the thumbnail, to be captured while copying.
    """
    end = moov_end(head)
    if end is None:
        return None
    pyav = av()
    try:
        container = pyav.open(io.BytesIO(head), "r")
    except pyav.FFmpegError:
        return None
    with container:
        streams = container.streams.video
        if not streams or not len(streams[0].index_entries):
            return None
        entries = streams[0].index_entries
        if entries[0].pos + entries[0].size > len(head):
            return None
        info = _describe(container, shown)
        stream = streams[0]
        target = info.duration_s * 0.1
        chosen = None
        for entry in entries:
            if entry.is_keyframe and (chosen is None or
                                      entry.timestamp * stream.time_base <= target):
                chosen = entry
        if chosen is None:
            return info, None
        try:  # the first frame is in `head` already: decoding it reads nothing more
            rotation = int(next(container.decode(stream)).rotation or 0)
        except (pyav.FFmpegError, StopIteration):
            rotation = 0
        return info, Keyframe(chosen.pos, chosen.size, stream.codec_context.name,
                              bytes(stream.codec_context.extradata or b""), rotation)


def _describe(container: Any, shown: str) -> VideoProbe:
    pyav = av()
    cover = pyav.stream.Disposition.attached_pic  # album art in audio files
    videos = [s for s in container.streams.video if not s.disposition & cover]
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
    if duration <= 0 or empty_mp4 or not stream.codec_context.width:
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


def is_faststart(stream: BinaryIO) -> bool:
    """True when the MP4's `moov` box comes before `mdat` (players can start streaming).

    Walks the top-level boxes reading 16-byte headers, never a payload; restores the
    stream position afterwards.
    """
    position = stream.tell()
    try:
        end = stream.seek(0, os.SEEK_END)
        offset = 0
        while offset + 8 <= end:
            stream.seek(offset)
            header = stream.read(16)
            size = int.from_bytes(header[0:4], "big")
            kind = header[4:8]
            if kind in (b"moov", b"mdat"):
                return kind == b"moov"
            if size == 1 and len(header) == 16:
                size = int.from_bytes(header[8:16], "big")
            if size < 8:  # 0 means "to the end of the file": no moov ahead
                return False
            offset += size
        return False
    finally:
        stream.seek(position)


def moov_end(head: bytes) -> int | None:
    """End offset of the `moov` box when it precedes `mdat` and lies wholly inside `head`."""
    offset = 0
    while offset + 8 <= len(head):
        size = int.from_bytes(head[offset : offset + 4], "big")
        kind = head[offset + 4 : offset + 8]
        if size == 1 and offset + 16 <= len(head):
            size = int.from_bytes(head[offset + 8 : offset + 16], "big")
        if kind == b"mdat" or size < 8:
            return None
        if kind == b"moov":
            return offset + size if offset + size <= len(head) else None
        offset += size
    return None
