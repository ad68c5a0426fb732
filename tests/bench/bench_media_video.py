"""Benchmark: big videos through intake — bytes read, peak memory, remux speed.

1. A ~120 MB H.264/AAC faststart MP4 (sent as is): bytes read end to end (intake's
   copy+hash into the work dir, then an upload simulated by reading the blob once in 1 MiB
   chunks) against the file size (target ≤ 2×), and peak RSS against idle (≤ idle + 100 MB).
2. A ~140 MB MP4 that must be compressed under 128 MB (transcode in a child process): peak
   RSS of the process tree (parent peak + largest child peak, an upper bound).
3. Remuxing a ~100 MB H.264 MOV to faststart MP4: our remux step against a bare PyAV
   stream-copy loop, the in-process equivalent of `ffmpeg -c copy -movflags +faststart`
   (there is no ffmpeg CLI on this machine). Target ≤ 1.2×. Our whole intake (which also
   hashes the output and makes a thumbnail) is printed beside it.

Every measurement runs in a fresh child interpreter so generation and earlier runs do not
pollute its counters. Videos are cached in the temp dir between runs.
Run: python tests/bench/bench_media_video.py
"""

from __future__ import annotations

import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

CACHE = Path(tempfile.gettempdir()) / "stepdesk-bench-media"
MB = 1_000_000


def _proc(field_file: str, key: str) -> int:
    for line in Path(f"/proc/self/{field_file}").read_text().splitlines():
        if line.startswith(key):
            return int(line.split()[1]) * (1024 if field_file == "status" else 1)
    raise KeyError(key)


def make(name: str, megabytes: int, fmt: str) -> Path:
    """About `megabytes` of 1280×720 noise (x264 ultrafast barely compresses it) + silent AAC.

    A 15-frame calibration clip gives the bytes per frame, hence the frame count.
    """
    from tests import media_factory as mf

    path = CACHE / name
    if path.exists():
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    probe = mf.make_video(CACHE / "calibrate.mp4", fmt="mp4", size=(1280, 720), fps=30,
                          seconds=0.5, noise=True, audio=None)
    per_frame = probe.stat().st_size / 15
    partial = path.with_suffix(".part" + path.suffix)
    mf.make_video(partial, fmt=fmt, size=(1280, 720), fps=30,
                  seconds=round(megabytes * MB / per_frame) / 30, noise=True,
                  faststart=name.endswith(".mp4"))
    partial.replace(path)
    return path


# --- measurements, each run in a child interpreter ----------------------------------------


def measure_intake(src: str) -> dict[str, float]:
    """Intake then a simulated upload; counters from /proc/self/io and /proc/self/status."""
    from app.media import prepare_sync
    from app.media.images import pil
    from app.media.probe import av

    pil()
    av()  # idle = the app with its media libraries loaded
    work = Path(tempfile.mkdtemp(prefix="bench-video-"))
    prepare_sync(_warm_up_clip(work), work_dir=work)  # a running app has its codecs warm
    try:
        idle = _proc("status", "VmRSS")
        rchar0, disk0 = _proc("io", "rchar"), _proc("io", "read_bytes")
        t = time.perf_counter()
        prepared = prepare_sync(Path(src), work_dir=work)
        took = time.perf_counter() - t
        rchar1 = _proc("io", "rchar")
        with open(prepared.path, "rb", buffering=0) as blob:  # the upload reads it once
            while blob.read(1 << 20):
                pass
        rchar2, disk2 = _proc("io", "rchar"), _proc("io", "read_bytes")
        children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
        return {"size": Path(src).stat().st_size, "sent": prepared.size, "seconds": took,
                "intake_read": rchar1 - rchar0, "total_read": rchar2 - rchar0,
                "disk_read": disk2 - disk0, "idle_rss": idle,
                "peak_rss": _proc("status", "VmHWM"), "child_peak_rss": children,
                "changes": "; ".join(prepared.changes) or "sent as is"}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def measure_bare_remux(src: str) -> dict[str, float]:
    """`ffmpeg -i src -map 0:v:0 -map 0:a:0 -c copy -movflags +faststart out.mp4`, in PyAV."""
    out = Path(tempfile.mkdtemp(prefix="bench-bare-")) / "out.mp4"
    _bare_remux(str(_warm_up_clip(out.parent)), out.with_name("warm.mp4"))
    t = time.perf_counter()
    _bare_remux(src, out)
    took = time.perf_counter() - t
    shutil.rmtree(out.parent, ignore_errors=True)
    return {"seconds": took}


def measure_our_remux(src: str) -> dict[str, float]:
    """Our remux step alone (app.media.remux.remux), the like-for-like comparison."""
    from app.media.remux import remux

    out = Path(tempfile.mkdtemp(prefix="bench-ours-")) / "out.mp4"
    remux(_warm_up_clip(out.parent), out.with_name("warm.mp4"))
    t = time.perf_counter()
    remux(Path(src), out)
    took = time.perf_counter() - t
    shutil.rmtree(out.parent, ignore_errors=True)
    return {"seconds": took}


def _bare_remux(src: str, out: Path) -> None:
    import av

    with av.open(src) as inp, av.open(str(out), "w", format="mp4",
                                      options={"movflags": "+faststart"}) as dst:
        streams = [inp.streams.video[0], inp.streams.audio[0]]
        outs = {s.index: dst.add_stream_from_template(s) for s in streams}
        for packet in inp.demux(streams):
            if packet.dts is None:
                continue
            packet.stream = outs[packet.stream.index]
            dst.mux(packet)


def _warm_up_clip(folder: Path) -> Path:
    from tests import media_factory as mf

    return mf.mov_h264(folder, name="warm-up.mov")


def _child(kind: str, src: Path) -> dict[str, float]:
    done = subprocess.run([sys.executable, __file__, "--measure", kind, str(src)],
                          capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    t = time.perf_counter()
    sendable = make("big-120MB.mp4", 120, "mp4")
    mov = make("big-100MB.mov", 100, "mov")
    oversized = make("big-140MB.mp4", 140, "mp4")
    print(f"(videos ready in {time.perf_counter() - t:.1f} s, cached in {CACHE})")

    for label, path in (("sent as is", sendable), ("remux MOV", mov),
                        ("compress to fit", oversized)):
        r = _child("intake", path)
        tree = r["peak_rss"] + r["child_peak_rss"]
        print(f"\n[{label}] {path.name}: {r['size'] / MB:.1f} MB → sent {r['sent'] / MB:.1f} MB "
              f"in {r['seconds']:.2f} s ({r['changes']})")
        print(f"  bytes read: intake {r['intake_read'] / MB:.1f} MB, + upload = "
              f"{r['total_read'] / MB:.1f} MB = {r['total_read'] / r['size']:.3f}× the file "
              f"(target ≤ 2×; from storage: {r['disk_read'] / MB:.1f} MB)")
        print(f"  memory: idle {r['idle_rss'] / MB:.0f} MB, peak {r['peak_rss'] / MB:.0f} MB "
              f"(+{(r['peak_rss'] - r['idle_rss']) / MB:.0f} MB); transcode child peak "
              f"{r['child_peak_rss'] / MB:.0f} MB; tree ≤ idle + "
              f"{(tree - r['idle_rss']) / MB:.0f} MB (target ≤ +100 MB)")

    runs: dict[str, list[float]] = {"bare": [], "remux": [], "intake": []}
    for _ in range(5):
        for kind, times in runs.items():
            times.append(_child(kind, mov)["seconds"])
    bare, remux, intake = (statistics.median(runs[k]) for k in ("bare", "remux", "intake"))
    print(f"\n[remux speed] {mov.name}, median of 5 (no ffmpeg CLI here: the baseline is a "
          "bare PyAV stream-copy loop with +faststart, i.e. `ffmpeg -c copy`)")
    print(f"  bare loop {bare:.3f} s; our remux step {remux:.3f} s → ratio {remux / bare:.2f}× "
          "(target ≤ 1.2×)")
    print(f"  our whole intake (probe + remux + sha256 of the output + thumbnail) {intake:.3f} s"
          f" = {intake / bare:.2f}× the bare remux alone")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--measure":
        measure = {"intake": measure_intake, "bare": measure_bare_remux,
                   "remux": measure_our_remux}[sys.argv[2]]
        print(json.dumps(measure(sys.argv[3])))
    else:
        main()
