"""Video: probe, then the cheapest way to a sendable MP4 (< 128 MB, < 300 s, H.264/AAC).

1. Already a faststart MP4 with only H.264 8-bit 4:2:0 + AAC and no private tags: copy the
   bytes while hashing them (one read of the source).
2. Copyable streams in another container (MOV, MKV) or with extras (timecode tracks,
   location tags): remux the first video and audio stream into MP4, no re-encode.
3. Anything else (HEVC, 10-bit, VP9, AV1): transcode to H.264/AAC in a child process.
Too large after that: transcode down (≤ 1280 px wide, CRF 28, bitrate capped) until it fits.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from app import limits
from app.fsmodes import private_dir
from app.media import remux as remuxing
from app.media.errors import CorruptMedia, MediaError, MediaTooLarge, VideoTooLong, fmt_duration
from app.media.hashing import Capture, GrewWhileRead, copy_and_hash, hash_file, unique_path
from app.media.probe import Keyframe, VideoProbe, av, is_faststart, probe, probe_head
from app.media.sniff import sniff
from app.media.transcode import TranscodeJob, png_thumbnail, run_transcode

ACCEPTED = {"mp4", "mov", "mkv", "webm"}
PROBE_AHEAD = 4 << 20  # bytes of an MP4 read ahead (and copied, not re-read) to probe it
MAX_KEYFRAME_SNAP_S = 1.0  # a trim may start this much early; further away we re-encode
_TIME = re.compile(r"^\s*(?:(\d+):)?(\d+):(\d{1,2}(?:\.\d+)?)\s*$|^\s*(\d+(?:\.\d+)?)\s*$")


@dataclass(frozen=True, slots=True)
class VideoResult:
    path: Path
    sha256: str
    size: int
    width: int
    height: int
    duration_s: float
    changes: tuple[str, ...]
    thumbnail: bytes | None


def parse_time(text: str) -> float:
    """`4:59` → 299.0, `1:02:03` → 3723.0, `75.5` → 75.5; ValueError otherwise."""
    match = _TIME.match(text)
    if not match:
        raise ValueError(f"“{text}” is not a time like 4:59 or 1:02:03")
    if match.group(4) is not None:
        return float(match.group(4))
    hours = int(match.group(1) or 0)
    minutes = int(match.group(2))
    seconds = float(match.group(3))
    if seconds >= 60 or (match.group(1) is not None and minutes >= 60):
        raise ValueError(f"“{text}” is not a time like 4:59 or 1:02:03")
    return hours * 3600 + minutes * 60 + seconds


def parse_time_range(text: str) -> tuple[float, float]:
    """`0:00-4:59` → (0.0, 299.0). Raises ValueError with a readable message."""
    start_text, sep, end_text = text.partition("-")
    if not sep:
        raise ValueError(f"“{text}” is not a time range like 0:00-4:59")
    start, end = parse_time(start_text), parse_time(end_text)
    if end <= start:
        raise ValueError(f"the range “{text}” ends before it starts")
    return start, end


def too_long_message(shown: str, duration: float) -> str:
    """The refusal for videos of 300 s or more, with both ways forward."""
    last = fmt_duration(limits.MAX_VIDEO_SECONDS - 1)
    return (
        f"“{shown}” is {fmt_duration(duration)} long and videos must be shorter than "
        f"{fmt_duration(limits.MAX_VIDEO_SECONDS)}; send a part with --trim 0:00-{last} or "
        "send it in parts with --split."
    )


def prepare_video(
    path: Path,
    stream: BinaryIO,
    head: bytes,
    shown: str,
    work_dir: Path,
    *,
    trim: tuple[float, float] | None = None,
    progress: Callable[[float], None] | None = None,
    cancel: threading.Event | None = None,
) -> VideoResult:
    """Produce the MP4 to send from `path`; `stream` is open on it after `head` was read."""
    found = sniff(head)
    fmt = found.fmt if found else "unknown"
    if fmt not in ACCEPTED:
        label = found.label if found else "not a video format Step Desk knows"
        raise MediaError(f"“{shown}” is {label}; Step Desk accepts MP4, MOV, MKV and WebM.")
    size = os.fstat(stream.fileno()).st_size
    ahead, probed = head, None
    if fmt == "mp4" and trim is None and size <= limits.MAX_VIDEO_BYTES:
        # It may go out as is: probe it from the bytes we are about to copy anyway.
        ahead = head + stream.read(max(0, min(PROBE_AHEAD, size) - len(head)))
        probed = probe_head(ahead, shown)
    info, keyframe = probed if probed is not None else (probe(path, shown), None)
    duration = info.duration_s
    if trim is not None:
        start, end = _clamp_trim(trim, duration, shown)
    elif duration >= limits.MAX_VIDEO_SECONDS:
        raise VideoTooLong(too_long_message(shown, duration), duration)
    else:
        start, end = 0.0, duration

    changes: list[str] = []
    if info.has_location:
        changes.append("removed location data")
    out = unique_path(work_dir, "video", "mp4")
    if (trim is None and fmt == "mp4" and info.copyable and info.extra_streams == 0
            and not info.has_private_tags and size <= limits.MAX_VIDEO_BYTES
            and (probed is not None or is_faststart(stream))):
        capture = Capture(keyframe.pos, keyframe.size) if keyframe is not None else None
        try:
            sha256, sent = copy_and_hash(
                stream, out, head=ahead, capture=capture, limit=size,
                progress=(lambda done: progress(done / size)) if progress else None,
            )
        except GrewWhileRead:
            raise CorruptMedia(f"“{shown}” grew while it was read (is it still being "
                               "written?); attach it again when it is complete.") from None
        thumb = None
        if keyframe is not None and capture is not None:
            thumb = _decode_keyframe(keyframe, bytes(capture.data))
            thumb = thumb and upright_png(thumb, keyframe.rotation)
        return VideoResult(out, sha256, sent, info.width, info.height, duration, (),
                           thumb or thumbnail(out, duration))
    try:
        result, made = _convert(path, out, info, fmt, size, (start, end), trim is not None,
                                changes, progress, cancel, shown)
        sha256, sent = hash_file(out)
        thumb = upright_png(*made) if made else thumbnail(out, result.duration_s)
    except BaseException:
        out.unlink(missing_ok=True)
        raise
    return VideoResult(out, sha256, sent, result.width, result.height, result.duration_s,
                       tuple(changes), thumb)


def _clamp_trim(trim: tuple[float, float], duration: float, shown: str) -> tuple[float, float]:
    start, end = trim
    end = min(end, duration)
    if start >= end:
        raise MediaError(
            f"The trim range starts after the end of “{shown}” ({fmt_duration(duration)} long)."
        )
    if end - start >= limits.MAX_VIDEO_SECONDS:
        raise VideoTooLong(
            f"The part {fmt_duration(start)}–{fmt_duration(end)} of “{shown}” is "
            f"{fmt_duration(end - start)} long and videos must be shorter than "
            f"{fmt_duration(limits.MAX_VIDEO_SECONDS)}; choose a shorter --trim range.",
            end - start,
        )
    return start, end


def _budget_bps(seconds: float, attempt: int) -> int:
    """Video bits per second that keep `seconds` of H.264 + 128 kb/s AAC under the limit."""
    total = limits.MAX_VIDEO_BYTES * 8 * 0.92 * (0.8**attempt) / max(seconds, 1.0)
    return int(min(max(total - 160_000, 150_000), 25_000_000))


def _convert(
    src: Path, out: Path, info: VideoProbe, fmt: str, size: int, span: tuple[float, float],
    trimmed: bool, changes: list[str], progress: Callable[[float], None] | None,
    cancel: threading.Event | None, shown: str,
) -> tuple[VideoProbe, tuple[bytes, int] | None]:
    """Remux or transcode into `out`, shrinking until it fits; appends to `changes`.

    Returns the probe of `out` and, after a transcode, the child's (thumbnail, rotation).
    """
    start, end = span
    seconds = end - start
    if trimmed:
        changes.append(f"trimmed to {fmt_duration(start)}–{fmt_duration(end)}")
    expected = size * seconds / max(info.duration_s, 1e-3)
    too_big = expected > limits.MAX_VIDEO_BYTES * 0.97
    thumb = None
    if info.copyable and not too_big and (not trimmed or _copy_cut_ok(src, start)):
        remuxing.remux(src, out, start=start if trimmed else None,
                       end=end if trimmed else None, cancel=cancel, progress=progress)
        if fmt != "mp4":
            changes.append(f"repackaged {fmt.upper()} → MP4 (no re-encoding)")
        elif info.extra_streams:
            changes.append("kept only the first video and audio track")
    else:
        job = TranscodeJob(src=str(src), dst=str(out), start=start, end=end,
                           copy_audio=info.audio_codec == "aac",
                           long_side=1280 if too_big else 1920, crf=28 if too_big else 23,
                           max_bitrate=_budget_bps(seconds, 0))
        thumb = run_transcode(job, progress=progress, cancel=cancel, shown=shown)
        if not info.copyable:
            depth = " 10-bit" if info.pix_fmt and "10" in info.pix_fmt else ""
            changes.append(f"converted {_codec_name(info.video_codec)}{depth} → H.264")
    result = probe(out, shown)
    attempt = 0
    while out.stat().st_size > limits.MAX_VIDEO_BYTES:
        attempt += 1
        if attempt > 3:
            raise MediaTooLarge(
                f"“{shown}” is still over {limits.MAX_VIDEO_BYTES // limits.MB} MB after "
                "compression; send a shorter part with --trim or use --split."
            )
        smaller = out.with_name(out.stem + f"-fit{attempt}.mp4")
        job = TranscodeJob(src=str(out), dst=str(smaller), start=0.0, end=result.duration_s,
                           copy_audio=True, long_side=1280 if attempt == 1 else 854,
                           crf=28 + 2 * (attempt - 1),
                           max_bitrate=_budget_bps(result.duration_s, attempt))
        try:
            thumb = run_transcode(job, progress=progress, cancel=cancel, shown=shown)
        except BaseException:
            smaller.unlink(missing_ok=True)
            raise
        smaller.replace(out)
        result = probe(out, shown)
        too_big = True
    if too_big:
        changes.append(f"compressed to {result.width}×{result.height} to stay under "
                       f"{limits.MAX_VIDEO_BYTES // limits.MB + 1} MB")
    elif (result.width, result.height) != (info.width, info.height):
        changes.append(f"resized {info.width}×{info.height} → {result.width}×{result.height}")
    return result, thumb


def _copy_cut_ok(path: Path, start: float) -> bool:
    """A stream copy starts at a keyframe: fine if one lies within a second before `start`."""
    return start - remuxing.keyframe_at_or_before(path, start) <= MAX_KEYFRAME_SNAP_S


def _codec_name(codec: str) -> str:
    return {"h264": "H.264", "hevc": "HEVC", "vp9": "VP9", "vp8": "VP8", "av1": "AV1",
            "mpeg4": "MPEG-4", "prores": "ProRes"}.get(codec, codec.upper())


def _decode_keyframe(keyframe: Keyframe, data: bytes) -> bytes | None:
    """Decode one captured keyframe packet on its own (codec + extradata) into a PNG."""
    pyav = av()
    try:
        codec = pyav.CodecContext.create(keyframe.codec, "r")
        codec.extradata = keyframe.extradata
        for frame in [*codec.decode(pyav.Packet(data)), *codec.decode(None)]:
            return png_thumbnail(frame)
    except pyav.FFmpegError:
        return None
    return None


def thumbnail(path: Path, duration: float) -> bytes | None:
    """A PNG of the keyframe at or before ~10 % of the video, long side ≤ THUMBNAIL_SIDE.

    Decoding only that keyframe (not every frame up to 10 %) keeps the extra read to about
    one packet; PyAV encodes the PNG, so the video path never loads Pillow.
    """
    pyav = av()
    try:
        with pyav.open(str(path)) as container:
            stream = container.streams.video[0]
            if duration * 0.1 > 0.5:
                container.seek(int(duration * 0.1 * 1_000_000), backward=True)
            for frame in container.decode(stream):
                return upright_png(png_thumbnail(frame), int(frame.rotation or 0))
    except (pyav.FFmpegError, IndexError):
        return None
    return None


def upright_png(png: bytes, rotation: int) -> bytes:
    """Turn a thumbnail upright for a video whose display matrix rotates it.

    PyAV reports the rotation counter-clockwise, like Pillow's ROTATE_90/270; Pillow is
    loaded only for rotated videos.
    """
    turn = {90: 2, 180: 3, 270: 4}.get(rotation % 360)  # Image.Transpose.ROTATE_*
    if turn is None:
        return png
    import io

    from app.media.images import pil

    with pil().open(io.BytesIO(png)) as im:
        buf = io.BytesIO()
        im.transpose(turn).save(buf, "PNG")
    return buf.getvalue()


def trim(path: Path, start: float, end: float, out: Path) -> Path:
    """Write [start, end] of `path` as an MP4 at `out`.

    A stream copy when the codecs allow and a keyframe lies at most MAX_KEYFRAME_SNAP_S
    before `start` (the cut starts there); a transcode otherwise.
    """
    shown = out.name
    info = probe(path, path.name)
    end = min(end, info.duration_s)
    if info.copyable and _copy_cut_ok(path, start):
        remuxing.remux(path, out, start=start, end=end)
    else:
        job = TranscodeJob(src=str(path), dst=str(out), start=start, end=end,
                           copy_audio=info.audio_codec == "aac", long_side=1920, crf=23,
                           max_bitrate=_budget_bps(end - start, 0))
        run_transcode(job, progress=None, cancel=None, shown=shown)
    return out


def split(path: Path, max_seconds: float, out_dir: Path) -> list[tuple[Path, float, float]]:
    """Cut `path` into parts of at most `max_seconds`; returns (part, start, end) in order."""
    info = probe(path, path.name)
    if info.duration_s <= 0:
        raise CorruptMedia(f"“{path.name}” has a zero-length video track.")
    private_dir(out_dir)
    parts: list[tuple[Path, float, float]] = []
    start = 0.0
    index = 1
    tag = f"part-{os.getpid()}-{os.urandom(4).hex()}"  # pid: leftovers of a killed run are found
    while start < info.duration_s - 0.05:
        end = min(start + max_seconds, info.duration_s)
        part = out_dir / f"{tag}-{index:02d}.mp4"
        trim(path, start, end, part)
        parts.append((part, start, end))
        start = end
        index += 1
    return parts

