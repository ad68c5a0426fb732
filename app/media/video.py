"""Video: probe, then the cheapest way to a sendable MP4 (< 128 MB, < 300 s, H.264/AAC).

1. Already a faststart MP4 with only H.264 8-bit 4:2:0 + AAC and no private tags: copy the
   bytes while hashing them (one read of the source).
2. Copyable streams in another container (MOV, MKV) or with extras (timecode tracks,
   location tags): remux the first video and audio stream into MP4, no re-encode.
3. Anything else (HEVC, 10-bit, VP9, AV1): transcode to H.264/AAC in a child process.
Too large after that: transcode down (≤ 1280 px wide, CRF 28, bitrate capped) until it fits.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from app import limits
from app.media import remux as remuxing
from app.media.errors import CorruptMedia, MediaError, MediaTooLarge, VideoTooLong, fmt_duration
from app.media.hashing import copy_and_hash, hash_file, unique_path
from app.media.probe import VideoProbe, av, is_faststart, probe
from app.media.sniff import sniff
from app.media.transcode import TranscodeJob, run_transcode

ACCEPTED = {"mp4", "mov", "mkv", "webm"}
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
    info = probe(path, shown)
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
    size = stream.seek(0, 2)
    stream.seek(len(head))
    if (trim is None and fmt == "mp4" and info.copyable and info.extra_streams == 0
            and not info.has_private_tags and size <= limits.MAX_VIDEO_BYTES
            and is_faststart(stream.fileno())):
        out = unique_path(work_dir, "video", "mp4")
        sha256, sent = copy_and_hash(
            stream, out, head=head,
            progress=(lambda done: progress(done / size)) if progress else None,
        )
        return VideoResult(out, sha256, sent, info.width, info.height, duration, (),
                           thumbnail(out, duration))
    out = unique_path(work_dir, "video", "mp4")
    try:
        out_info = _convert(path, out, info, fmt, start, end, trim is not None, changes,
                            progress, cancel, shown)
        sha256, sent = hash_file(out)
    except BaseException:
        out.unlink(missing_ok=True)
        raise
    return VideoResult(out, sha256, sent, out_info.width, out_info.height, out_info.duration_s,
                       tuple(changes), thumbnail(out, out_info.duration_s))


def _clamp_trim(trim: tuple[float, float], duration: float, shown: str) -> tuple[float, float]:
    start, end = trim
    end = min(end, duration)
    if start >= end:
        raise MediaError(
            f"The trim range starts after the end of “{shown}” ({fmt_duration(duration)} long)."
        )
    if end - start >= limits.MAX_VIDEO_SECONDS:
        raise VideoTooLong(too_long_message(shown, end - start), end - start)
    return start, end


def _convert(
    src: Path, out: Path, info: VideoProbe, fmt: str, start: float, end: float, trimmed: bool,
    changes: list[str], progress: Callable[[float], None] | None,
    cancel: threading.Event | None, shown: str,
) -> VideoProbe:
    """Remux or transcode into `out`, shrinking until it fits; appends to `changes`."""
    if trimmed:
        changes.append(f"trimmed to {fmt_duration(start)}–{fmt_duration(end)}")
    if info.copyable:
        remuxing.remux(src, out, start=start if trimmed else None, end=end if trimmed else None,
                       cancel=cancel, progress=progress)
        if fmt != "mp4":
            changes.append(f"repackaged {fmt.upper()} → MP4 (no re-encoding)")
        elif info.extra_streams:
            changes.append("kept only the first video and audio track")
    else:
        job = TranscodeJob(src=str(src), dst=str(out), start=start, end=end,
                           copy_audio=info.audio_codec == "aac", long_side=1920, crf=23)
        run_transcode(job, duration=end - start, progress=progress, cancel=cancel, shown=shown)
        depth = " 10-bit" if info.pix_fmt and "10" in info.pix_fmt else ""
        changes.append(f"converted {info.video_codec.upper()}{depth} → H.264")
    result = probe(out, shown)
    attempt = 0
    while out.stat().st_size > limits.MAX_VIDEO_BYTES:
        attempt += 1
        if attempt > 3:
            raise MediaTooLarge(
                f"“{shown}” is still over {limits.MAX_VIDEO_BYTES // limits.MB} MB after "
                "compression; send a shorter part with --trim or use --split."
            )
        budget_bits = limits.MAX_VIDEO_BYTES * 8 * (0.9 - 0.1 * attempt)
        bitrate = max(100_000, int(budget_bits / max(result.duration_s, 1.0)) - 128_000)
        smaller = out.with_name(out.stem + f"-fit{attempt}.mp4")
        job = TranscodeJob(src=str(out), dst=str(smaller), start=0.0, end=result.duration_s,
                           copy_audio=True, long_side=1280 if attempt == 1 else 854,
                           crf=28 + 2 * (attempt - 1), max_bitrate=bitrate)
        try:
            run_transcode(job, duration=result.duration_s, progress=progress, cancel=cancel,
                          shown=shown)
        except BaseException:
            smaller.unlink(missing_ok=True)
            raise
        smaller.replace(out)
        result = probe(out, shown)
        note = f"compressed to {result.width}×{result.height} to stay under 128 MB"
        changes[:] = [c for c in changes if not c.startswith("compressed to")] + [note]
    return result


def thumbnail(path: Path, duration: float) -> bytes | None:
    """A PNG of a frame at about 10 % of the video, long side ≤ limits.THUMBNAIL_SIDE."""
    from app.media.images import pil, thumbnail_png

    pil()
    pyav = av()
    try:
        with pyav.open(str(path)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            target = duration * 0.1
            if target > 0.5:
                container.seek(int(target * 1_000_000), backward=True)
            first = None
            for frame in container.decode(stream):
                first = first or frame
                if frame.time is None or frame.time >= target:
                    first = frame
                    break
            if first is None:
                return None
            return thumbnail_png(first.to_image())
    except (pyav.FFmpegError, IndexError):
        return None


def trim(path: Path, start: float, end: float, out: Path) -> Path:
    """Write [start, end] of `path` as an MP4 at `out`: a stream copy when the codecs allow
    (the start snaps back to the keyframe at or before `start`), a transcode otherwise."""
    shown = out.name
    info = probe(path, path.name)
    end = min(end, info.duration_s)
    if info.copyable:
        remuxing.remux(path, out, start=start, end=end)
    else:
        job = TranscodeJob(src=str(path), dst=str(out), start=start, end=end,
                           copy_audio=info.audio_codec == "aac", long_side=1920, crf=23)
        run_transcode(job, duration=end - start, progress=None, cancel=None, shown=shown)
    return out


def split(path: Path, max_seconds: float, out_dir: Path) -> list[tuple[Path, float, float]]:
    """Cut `path` into parts of at most `max_seconds`; returns (part, start, end) in order."""
    info = probe(path, path.name)
    if info.duration_s <= 0:
        raise CorruptMedia(f"“{path.name}” has a zero-length video track.")
    out_dir.mkdir(parents=True, exist_ok=True)
    parts: list[tuple[Path, float, float]] = []
    start = 0.0
    index = 1
    stem = path.stem or "video"
    while start < info.duration_s - 0.05:
        end = min(start + max_seconds, info.duration_s)
        part = out_dir / f"{stem}-part{index:02d}.mp4"
        trim(path, start, end, part)
        parts.append((part, start, end))
        start = end
        index += 1
    return parts

