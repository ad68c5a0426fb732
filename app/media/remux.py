"""Stream-copy remux into a faststart MP4: the first video and audio stream, no re-encode.

Used for H.264/AAC in MOV/MKV, for MP4s carrying extra tracks or private tags (the output
gets none of the source's container tags, so location data does not survive), and for
stream-copy trims. It is I/O bound and quick, so it runs in the calling (worker) thread and
checks `cancel` between packets.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

from app.fsmodes import touch_private
from app.media.errors import CorruptMedia, MediaCancelled
from app.media.probe import av

FASTSTART = {"movflags": "+faststart"}  # the fallback when the reserved moov is too small


def keyframe_at_or_before(path: Path, seconds: float) -> float:
    """The time of the video keyframe a stream copy starting at `seconds` would start from."""
    if seconds <= 0:
        return 0.0
    pyav = av()
    with pyav.open(str(path)) as container:
        stream = container.streams.video[0]
        container.seek(round(seconds / stream.time_base), stream=stream, backward=True)
        for packet in container.demux(stream):
            if packet.pts is not None and packet.is_keyframe:
                return max(0.0, float(packet.pts * stream.time_base))
    return 0.0


def remux(
    src: Path,
    dst: Path,
    *,
    start: float | None = None,
    end: float | None = None,
    cancel: threading.Event | None = None,
    progress: Callable[[float], None] | None = None,
) -> float:
    """Copy the first video (and audio) stream of `src` into the new MP4 `dst`.

    With `start`, copying begins at the keyframe at or before it; packets at or after `end`
    are dropped. Returns the actual start time in seconds. Raises MediaCancelled when
    `cancel` is set (the partial `dst` is removed) and CorruptMedia when no frame survives.

    The moov box goes first by reserving room for it (`moov_size`) instead of `+faststart`,
    which would write the whole file, then read it back and shift it: one full read and
    write saved. If the estimate was too small, the muxer fails and we redo it with
    `+faststart`.
    """
    pyav = av()
    try:
        with pyav.open(str(src)) as inp:
            reserve = _moov_reserve(inp, start, end)
    except pyav.FFmpegError as exc:
        raise CorruptMedia(f"“{src.name}” could not be read ({exc.strerror}).") from exc
    for options in ({"moov_size": str(reserve)}, FASTSTART):
        try:
            touch_private(dst)  # the muxer keeps an existing file's 0600 mode
            with pyav.open(str(src)) as inp, pyav.open(str(dst), "w", format="mp4",
                                                        options=options) as out:
                return _copy(inp, out, start, end, cancel, progress)
        except MediaCancelled:
            dst.unlink(missing_ok=True)
            raise MediaCancelled(f"Preparing “{src.name}” was cancelled.") from None
        except CorruptMedia as exc:
            dst.unlink(missing_ok=True)
            raise CorruptMedia(f"“{src.name}” has no video frames to send.") from exc
        except pyav.FFmpegError as exc:
            dst.unlink(missing_ok=True)
            if options is FASTSTART:
                raise CorruptMedia(
                    f"“{src.name}” could not be repackaged ({exc.strerror})."
                ) from exc
    raise AssertionError("unreachable")


def _moov_reserve(inp: Any, start: float | None, end: float | None) -> int:
    """Bytes to reserve for the moov box: ~32 per packet (sizes, offsets, times, sync
    samples) with a 25 % margin, plus 64 KiB for headers."""
    length = _length(inp)
    span = ((end if end is not None else length) - (start or 0.0)) / max(length, 1e-3)
    video = inp.streams.video[0]
    packets = video.frames or length * float(video.average_rate or 60)
    for audio in inp.streams.audio[:1]:
        packets += length * (audio.codec_context.sample_rate or 48000) / 1024
    return int(65_536 + 32 * 1.25 * packets * min(max(span, 0.0), 1.0))


def _copy(inp: Any, out: Any, start: float | None, end: float | None,
          cancel: threading.Event | None, progress: Callable[[float], None] | None) -> float:
    vin = inp.streams.video[0]
    streams = [vin, *inp.streams.audio[:1]]
    outs = {s.index: out.add_stream_from_template(s) for s in streams}
    for s in outs.values():
        s.metadata.clear()  # stream tags can hold device and location data too
    t0 = 0.0
    if start:
        inp.seek(round(start / vin.time_base), stream=vin, backward=True)
        t0 = -1.0  # set from the first video keyframe
    offsets: dict[int, int] = {}
    total = (end if end is not None else _length(inp)) - (start or 0.0)
    copied = 0
    for packet in inp.demux(streams):
        if packet.dts is None:
            continue
        if cancel is not None and cancel.is_set():
            raise MediaCancelled("cancelled")  # remux() names the file
        tb: Fraction = packet.time_base
        when = float((packet.pts if packet.pts is not None else packet.dts) * tb)
        if t0 < 0:
            if packet.stream is not vin or not packet.is_keyframe:
                continue
            t0 = when
        if when < t0 - 1e-3:
            continue  # audio from before the first kept video frame
        if end is not None and when >= end:
            if packet.stream is vin and float(packet.dts * tb) >= end:
                break
            continue
        shift = offsets.setdefault(packet.stream.index, round(t0 / tb))
        if shift:
            packet.pts = packet.pts - shift if packet.pts is not None else None
            packet.dts -= shift
        is_video = packet.stream is vin
        packet.stream = outs[packet.stream.index]
        out.mux(packet)
        copied += is_video
        if progress is not None and copied % 200 == 0 and total > 0:
            progress(min(1.0, (when - t0) / total))
    if copied == 0:
        raise CorruptMedia("no frames to copy")
    return max(t0, 0.0)


def _length(container: Any) -> float:
    return container.duration / 1_000_000 if container.duration else 0.0
