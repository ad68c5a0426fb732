"""Transcode to H.264/AAC MP4 in a child process: cancellable, with progress.

A 5-minute HEVC clip takes minutes to re-encode; doing it in a spawned process keeps the
GIL and memory of the app free and lets Stop terminate it at once. The child reports
("progress", fraction), then ("done", None) or ("error", text) on a queue.
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

from app.media.errors import CorruptMedia, MediaCancelled

_POLL_S = 0.1


@dataclass(frozen=True)
class TranscodeJob:
    """Everything the child needs (picklable): source span, size cap and quality."""

    src: str
    dst: str
    start: float
    end: float
    copy_audio: bool
    long_side: int
    crf: int
    max_bitrate: int | None = None  # bits/s; caps the video rate so the result fits
    preset: str = "veryfast"


def run_transcode(job: TranscodeJob, *, duration: float,
                  progress: Callable[[float], None] | None,
                  cancel: threading.Event | None, shown: str) -> None:
    """Run `job` in a spawned child; block until done, relaying progress; honour `cancel`."""
    ctx = multiprocessing.get_context("spawn")
    channel: Any = ctx.Queue()
    child = ctx.Process(target=child_main, args=(job, channel), daemon=True,
                        name="stepdesk-transcode")
    child.start()
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
            elif kind == "done":
                break
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
        encode(job, lambda fraction: channel.put(("progress", fraction)))
    except Exception as exc:  # reported to the parent as one line, never a traceback dump
        channel.put(("error", f"{type(exc).__name__}: {exc}"))
    else:
        channel.put(("done", None))


def _even(value: float) -> int:
    return max(2, int(value) // 2 * 2)


def _out_size(width: int, height: int, long_side: int) -> tuple[int, int]:
    scale = min(1.0, long_side / max(width, height))
    return _even(width * scale), _even(height * scale)


def encode(job: TranscodeJob, report: Callable[[float], None]) -> None:
    """Decode the first video/audio stream of job.src over [start, end]; encode H.264/AAC."""
    import av

    with av.open(job.src) as inp, av.open(job.dst, "w", format="mp4",
                                          options={"movflags": "+faststart"}) as out:
        vin = inp.streams.video[0]
        vin.thread_type = "AUTO"
        ain = inp.streams.audio[0] if inp.streams.audio else None
        width, height = _out_size(vin.codec_context.width, vin.codec_context.height,
                                  job.long_side)
        options = {"crf": str(job.crf), "preset": job.preset, "profile": "high"}
        if job.max_bitrate:
            options |= {"maxrate": str(job.max_bitrate), "bufsize": str(2 * job.max_bitrate)}
        rate = vin.average_rate or vin.guessed_rate or Fraction(30)
        vout = out.add_stream("libx264", rate=rate, options=options)
        vout.width, vout.height, vout.pix_fmt = width, height, "yuv420p"
        vout.codec_context.time_base = vin.time_base
        aout = None
        if ain is not None:
            if job.copy_audio:
                aout = out.add_stream_from_template(ain)
                aout.metadata.clear()
            else:
                layout = "stereo" if ain.codec_context.channels >= 2 else "mono"
                aout = out.add_stream("aac", rate=min(ain.codec_context.sample_rate or 48000,
                                                      48000), layout=layout)
                aout.bit_rate = 128_000
        if job.start > 0:
            inp.seek(int(job.start * 1_000_000), backward=True)
        span = max(job.end - job.start, 1e-3)
        rotation_set = False
        last_report = -1.0
        streams = [vin] + ([ain] if ain is not None else [])
        finished = False
        for packet in inp.demux(streams):
            if finished:
                break
            if packet.stream is vin:
                for frame in packet.decode():
                    if frame.time is None or frame.time < job.start - 1e-3:
                        continue
                    if frame.time >= job.end:
                        finished = True
                        break
                    if not rotation_set:
                        rotation = getattr(frame, "rotation", 0) or 0
                        if rotation:
                            vout.set_display_rotation(rotation)
                        rotation_set = True
                    _encode_video(frame, vout, out, width, height, job.start)
                    done = (frame.time - job.start) / span
                    if done - last_report >= 0.01:
                        report(min(done, 1.0))
                        last_report = done
            elif aout is not None:
                _audio(packet, aout, out, job)
        for stream in (vout, aout):
            if stream is not None and not (stream is aout and job.copy_audio):
                for pkt in stream.encode():
                    out.mux(pkt)
        report(1.0)


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
