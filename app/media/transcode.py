"""Transcode to H.264/AAC MP4 in a child process: cancellable, with progress.

A 5-minute HEVC clip takes minutes to re-encode; doing it in a spawned process keeps the
app's GIL and memory free and lets Stop terminate it at once. The child reports
("progress", fraction) and ("thumb", png) on a queue, then ("done", None), ("empty", None)
or ("error", text). The child imports only PyAV (no Pillow): its memory is part of the
budget of the whole process tree.
"""

from __future__ import annotations

import multiprocessing
import queue as queue_mod
import threading
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from app import limits
from app.fsmodes import touch_private
from app.media.errors import CorruptMedia, MediaCancelled

_POLL_S = 0.1
FASTSTART = {"movflags": "+faststart"}


@dataclass(frozen=True)
class TranscodeJob:
    """Everything the child needs (picklable): source span, size cap and quality.

    x264 runs with `tune=zerolatency` (no B-frames, no lookahead, sliced threads): about
    half the encoder memory of the default and faster on two cores, at a modest cost in
    compression that the CRF / bitrate cap absorb.
    """

    src: str
    dst: str
    start: float
    end: float
    copy_audio: bool
    long_side: int
    crf: int
    max_bitrate: int | None = None  # bits/s; caps the video rate so the result fits
    preset: str = "veryfast"


def run_transcode(job: TranscodeJob, *, progress: Callable[[float], None] | None,
                  cancel: threading.Event | None, shown: str) -> tuple[bytes, int] | None:
    """Run `job` in a spawned child; block until done, relaying progress; honour `cancel`.

    Returns the PNG thumbnail the child made from the frame at ~10 % and that frame's
    display rotation (or None).
    """
    ctx = multiprocessing.get_context("spawn")
    channel: Any = ctx.Queue()
    child = ctx.Process(target=child_main, args=(job, channel), daemon=True,
                        name="stepdesk-transcode")
    child.start()
    thumb: tuple[bytes, int] | None = None
    try:
        while True:
            if cancel is not None and cancel.is_set():
                raise MediaCancelled(f"Converting “{shown}” was cancelled.")
            try:
                kind, value = channel.get(timeout=_POLL_S)
            except queue_mod.Empty:
                if not child.is_alive() and child.exitcode is not None:
                    raise CorruptMedia(
                        f"Converting “{shown}” failed (the converter exited with code "
                        f"{child.exitcode})."
                    ) from None
                continue
            if kind == "progress":
                if progress is not None:
                    progress(value)
            elif kind == "thumb":
                thumb = value
            elif kind == "done":
                return thumb
            elif kind == "empty":
                raise CorruptMedia(f"“{shown}” has no video frames to send.")
            else:
                raise CorruptMedia(f"“{shown}” could not be converted ({value}).")
    except BaseException:
        if child.is_alive():
            child.terminate()
        Path(job.dst).unlink(missing_ok=True)
        raise
    finally:
        child.join(timeout=10)
        channel.close()
        channel.join_thread()


def child_main(job: TranscodeJob, channel: Any) -> None:
    """Entry point in the child process."""
    try:
        encode(job, lambda kind, value: channel.put((kind, value)))
    except NoFrames:
        channel.put(("empty", None))
    except Exception as exc:  # reported to the parent as one line, never a traceback dump
        channel.put(("error", f"{type(exc).__name__}: {exc}"))
    else:
        channel.put(("done", None))


class NoFrames(Exception):
    """The source span holds no decodable video frame."""


def _even(value: float) -> int:
    return max(2, int(value) // 2 * 2)


def fit_size(width: int, height: int, long_side: int) -> tuple[int, int]:
    """Even dimensions with the long side at most `long_side`, aspect kept."""
    scale = min(1.0, long_side / max(width, height))
    return _even(width * scale), _even(height * scale)


def png_thumbnail(frame: Any, long_side: int = limits.THUMBNAIL_SIDE) -> bytes:
    """Encode a video frame as a PNG of at most `long_side` px with PyAV alone."""
    import av

    width, height = fit_size(frame.width, frame.height, long_side)
    small = frame.reformat(width=width, height=height, format="rgb24", interpolation="AREA")
    codec = av.CodecContext.create("png", "w")
    codec.width, codec.height, codec.pix_fmt = width, height, "rgb24"
    codec.time_base = Fraction(1, 1)
    small.pts = 0
    return b"".join(bytes(packet) for packet in [*codec.encode(small), *codec.encode(None)])


def encode(job: TranscodeJob, send: Callable[[str, Any], None]) -> None:
    """Decode the first video/audio stream of job.src over [start, end]; encode H.264/AAC."""
    import av

    touch_private(Path(job.dst))  # the muxer keeps an existing file's 0600 mode
    with av.open(job.src) as inp, av.open(job.dst, "w", format="mp4",
                                          options=FASTSTART) as out:
        vin = inp.streams.video[0]
        vin.thread_type = "AUTO"
        ain = inp.streams.audio[0] if inp.streams.audio else None
        width, height = fit_size(vin.codec_context.width, vin.codec_context.height,
                                 job.long_side)
        options = {"crf": str(job.crf), "preset": job.preset, "tune": "zerolatency",
                   "profile": "high"}
        if job.max_bitrate:
            options |= {"maxrate": str(job.max_bitrate), "bufsize": str(2 * job.max_bitrate)}
        vout = out.add_stream("libx264", rate=vin.average_rate or vin.guessed_rate or 30,
                              options=options)
        vout.width, vout.height, vout.pix_fmt = width, height, "yuv420p"
        if vin.time_base is not None:
            vout.codec_context.time_base = vin.time_base
        aout = _audio_stream(out, ain, job.copy_audio)
        if job.start > 0:
            inp.seek(int(job.start * 1_000_000), backward=True)
        span = max(job.end - job.start, 1e-3)
        encoded, last_report, thumb_done = 0, -1.0, False
        for packet in inp.demux([vin] + ([ain] if ain is not None else [])):
            if packet.stream is not vin:
                if aout is not None:
                    _audio(packet, aout, out, job)
                continue
            for frame in packet.decode():
                if not isinstance(frame, av.VideoFrame):  # a video packet decodes to video
                    continue
                if frame.time is None or frame.time < job.start - 1e-3:
                    continue
                if frame.time >= job.end:
                    break
                if encoded == 0 and frame.rotation:
                    vout.set_display_rotation(frame.rotation)
                done = (frame.time - job.start) / span
                if encoded == 0 or (not thumb_done and done >= 0.1):
                    # The first frame, then the one at ~10 %; upright-ing needs Pillow,
                    # which the parent has and the child need not load.
                    send("thumb", (png_thumbnail(frame), int(frame.rotation or 0)))
                    thumb_done = done >= 0.1
                _encode_video(frame, vout, out, width, height, job.start)
                encoded += 1
                if done - last_report >= 0.01:
                    send("progress", min(done, 1.0))
                    last_report = done
            else:
                continue
            break  # reached job.end
        if not encoded:
            raise NoFrames
        for stream in (vout, aout if not job.copy_audio else None):
            if stream is not None:
                for pkt in stream.encode():
                    out.mux(pkt)
        send("progress", 1.0)


def _audio_stream(out: Any, ain: Any, copy: bool) -> Any:
    if ain is None:
        return None
    if copy:
        stream = out.add_stream_from_template(ain)
        stream.metadata.clear()
        return stream
    layout = "stereo" if ain.codec_context.channels >= 2 else "mono"
    stream = out.add_stream("aac", rate=min(ain.codec_context.sample_rate or 48000, 48000),
                            layout=layout)
    stream.bit_rate = 128_000
    return stream


def _encode_video(frame: Any, vout: Any, out: Any, width: int, height: int,
                  start: float) -> None:
    pts, time_base = frame.pts, frame.time_base
    frame = frame.reformat(width=width, height=height, format="yuv420p")
    frame.pts = pts - round(start / time_base)
    frame.time_base = time_base
    for pkt in vout.encode(frame):
        out.mux(pkt)


def _audio(packet: Any, aout: Any, out: Any, job: TranscodeJob) -> None:
    if packet.dts is None or packet.pts is None:
        return
    when = float(packet.pts * packet.time_base)
    if when < job.start - 1e-3 or when >= job.end:
        return
    if job.copy_audio:
        shift = round(job.start / packet.time_base)
        packet.pts -= shift
        packet.dts -= shift
        packet.stream = aout
        out.mux(packet)
        return
    for frame in packet.decode():
        rate = frame.sample_rate
        frame.pts = round((frame.time - job.start) * rate)
        frame.time_base = Fraction(1, rate)
        for pkt in aout.encode(frame):
            out.mux(pkt)
