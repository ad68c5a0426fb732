"""Benchmark: preparing a 6000×4000 phone photo (EXIF GPS, orientation 6, sRGB ICC).

Prints the time of each step of our pipeline (from a profiled run), our end-to-end time and
a bare-Pillow reference doing the same steps in the obvious order (decode, orient, sRGB,
resize, encode, hash, thumbnail), and the ratio ours / reference (target ≤ 1.3).

Run: python tests/bench/bench_media_image.py
"""

from __future__ import annotations

import cProfile
import hashlib
import io
import pstats
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from PIL import Image, ImageCms, ImageOps  # noqa: E402

from app.media import prepare_sync  # noqa: E402
from tests import media_factory as mf  # noqa: E402

CACHE = Path(tempfile.gettempdir()) / "stepdesk-bench-media"
RUNS = 5


def make_photo() -> Path:
    """A realistic 24 MP camera JPEG (texture, not flat colour), cached between runs."""
    path = CACHE / "photo-6000x4000.jpg"
    if path.exists():
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    upright = mf.scene((6000, 4000))
    noise = Image.merge("RGB", [Image.effect_noise((6000, 4000), 25 + 5 * i) for i in range(3)])
    upright = Image.blend(upright, noise, 0.25)
    exif = Image.Exif()
    exif[0x0112] = 6
    exif.get_ifd(0x8825).update(mf.GPS)
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    upright.transpose(Image.Transpose.ROTATE_90).save(
        path, "JPEG", quality=92, exif=exif, icc_profile=srgb, xmp=mf.XMP)
    return path


def reference(src: Path, out_dir: Path) -> dict[str, float]:
    """The same job written the obvious way with bare Pillow; returns seconds per step."""
    steps: dict[str, float] = {}
    t = time.perf_counter()
    Image.MAX_IMAGE_PIXELS = None
    data = src.read_bytes()
    im = Image.open(io.BytesIO(data))
    im.load()
    steps["decode"] = time.perf_counter() - t
    t = time.perf_counter()
    im = ImageOps.exif_transpose(im)
    steps["orient"] = time.perf_counter() - t
    t = time.perf_counter()
    icc = im.info.get("icc_profile")
    if icc:  # same rule as ours: an sRGB-described profile needs no transform
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if "srgb" not in ImageCms.getProfileDescription(profile).lower():
            im = ImageCms.profileToProfile(im, profile, ImageCms.createProfile("sRGB"))
    steps["sRGB"] = time.perf_counter() - t
    t = time.perf_counter()
    scale = 4096 / max(im.size)
    im = im.resize((round(im.width * scale), round(im.height * scale)),
                   Image.Resampling.LANCZOS)
    steps["resize"] = time.perf_counter() - t
    t = time.perf_counter()
    im.info = {}
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=90)
    steps["encode"] = time.perf_counter() - t
    t = time.perf_counter()
    digest = hashlib.sha256(buf.getvalue()).hexdigest()
    (out_dir / f"ref-{digest[:8]}.jpg").write_bytes(buf.getvalue())
    steps["hash+write"] = time.perf_counter() - t
    t = time.perf_counter()
    thumb = im.copy()
    thumb.thumbnail((256, 256))
    thumb.save(io.BytesIO(), "PNG")
    steps["thumbnail"] = time.perf_counter() - t
    return steps


_OURS = {  # profiled function → step name
    "load": "decode", "transpose": "orient", "_to_srgb": "sRGB", "resize": "resize",
    "_save": "encode", "write_and_hash": "hash+write", "thumbnail_png": "thumbnail",
}


def ours_steps(src: Path, work: Path) -> dict[str, float]:
    profiler = cProfile.Profile()
    profiler.enable()
    prepare_sync(src, work_dir=work)
    profiler.disable()
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    found: dict[str, float] = {}
    for (filename, _line, func), (_cc, _nc, _tt, cumulative, _callers) in stats.items():
        step = _OURS.get(func)
        if step is None or ("PIL" not in filename and "app/media" not in filename):
            continue
        if func == "resize" and "thumbnail" in found and cumulative < 0.01:
            continue
        found[step] = max(found.get(step, 0.0), cumulative)
    return found


def main() -> None:
    src = make_photo()
    work = Path(tempfile.mkdtemp(prefix="bench-img-"))
    try:
        prepare_sync(src, work_dir=work)  # warm-up: imports, plugin registration
        reference(src, work)
        ours, refs = [], []
        for _ in range(RUNS):
            t = time.perf_counter()
            prepared = prepare_sync(src, work_dir=work)
            ours.append(time.perf_counter() - t)
            t = time.perf_counter()
            ref_steps = reference(src, work)
            refs.append(time.perf_counter() - t)
        steps = ours_steps(src, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"source: {src.stat().st_size / 1e6:.1f} MB JPEG, 4000×6000 stored, orientation 6")
    print(f"result: {prepared.width}×{prepared.height} {prepared.ext}, "
          f"{prepared.size / 1e6:.2f} MB; changes: {'; '.join(prepared.changes)}")
    print(f"{'step':<14}{'ours (profiled)':>16}{'reference':>12}")
    for name in ("decode", "orient", "sRGB", "resize", "encode", "hash+write", "thumbnail"):
        mine = steps.get(name)
        ref = ref_steps.get(name)
        print(f"{name:<14}{_ms(mine):>16}{_ms(ref):>12}")
    ours_med, ref_med = statistics.median(ours), statistics.median(refs)
    print(f"whole, median of {RUNS}: ours {ours_med * 1000:.0f} ms, bare Pillow reference "
          f"{ref_med * 1000:.0f} ms, ratio {ours_med / ref_med:.2f}× (target ≤ 1.3×)")


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value * 1000:.0f} ms"


if __name__ == "__main__":
    main()
