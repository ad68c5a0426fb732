"""Generators of real media files for the media tests and benchmarks.

Every function writes a genuine file (encoded by Pillow or PyAV, or a hand-built header where
the point is a lie, such as a PNG declaring 30000×30000) into `dest` and returns its path.
"""

from __future__ import annotations

import io
import os
import struct
import zipfile
import zlib
from fractions import Fraction
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

MARKER = (220, 20, 20)  # the top-left block of every "upright" test photo
GPS = {1: "N", 2: (52.0, 31.0, 12.0), 3: "E", 4: (13.0, 24.0, 0.0)}
XMP = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/'
       b'22-rdf-syntax-ns#"><rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" '
       b'exif:GPSLatitude="52,31.2N"/></rdf:RDF></x:xmpmeta>')


def scene(size: tuple[int, int] = (600, 400)) -> Image.Image:
    """An upright landscape test picture: gradient, a red block marking the top-left corner."""
    width, height = size
    im = Image.linear_gradient("L").resize(size).convert("RGB")
    im = Image.merge("RGB", (im.getchannel(0), im.getchannel(0).transpose(0),
                             Image.new("L", size, 120)))
    draw = ImageDraw.Draw(im)
    draw.rectangle((0, 0, width // 6, height // 6), fill=MARKER)
    return im


def photo_jpeg(dest: Path, *, size: tuple[int, int] = (600, 400), orientation: int = 6,
               gps: bool = True, name: str = "photo.jpg", quality: int = 90) -> Path:
    """A camera-style JPEG: EXIF orientation, GPS, XMP and a comment.

    The pixels are stored rotated so that applying `orientation` shows `scene(size)` upright.
    """
    upright = scene(size)
    stored = {1: upright, 3: upright.transpose(Image.Transpose.ROTATE_180),
              6: upright.transpose(Image.Transpose.ROTATE_90),
              8: upright.transpose(Image.Transpose.ROTATE_270)}[orientation]
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "PhoneMaker"
    if gps:
        exif.get_ifd(0x8825).update(GPS)
    path = dest / name
    stored.save(path, "JPEG", quality=quality, exif=exif, xmp=XMP, comment=b"holiday")
    return path


def clean_jpeg(dest: Path, *, size: tuple[int, int] = (600, 400), name: str = "clean.jpg"
               ) -> Path:
    """A JPEG with no metadata at all: sendable byte for byte."""
    path = dest / name
    scene(size).save(path, "JPEG", quality=85)
    return path


def screenshot(size: tuple[int, int] = (480, 320)) -> Image.Image:
    """A few-colour RGBA "screenshot": text-like bars on white, a transparent strip."""
    im = Image.new("RGBA", size, (255, 255, 255, 255))
    draw = ImageDraw.Draw(im)
    for row in range(10, size[1] - 40, 18):
        draw.text((12, row), "Step Desk keeps text crisp 0123456789", fill=(20, 20, 20, 255))
    draw.rectangle((0, size[1] - 30, size[0], size[1]), fill=(0, 0, 0, 0))
    return im


def png_alpha(dest: Path, name: str = "screenshot.png") -> Path:
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "someone")
    path = dest / name
    screenshot().save(path, "PNG", pnginfo=info)
    return path


def save_as(dest: Path, name: str, fmt: str, im: Image.Image | None = None, **kw: Any) -> Path:
    """Save `im` (default: the photo scene) in any Pillow format: TIFF, BMP, WEBP, AVIF, …"""
    path = dest / name
    (im if im is not None else scene()).save(path, fmt, **kw)
    return path


def animated_gif(dest: Path, name: str = "meme.gif", frames: int = 4) -> Path:
    images = [Image.new("P", (80, 60), i * 40) for i in range(frames)]
    for index, frame in enumerate(images):
        frame.putpalette([v for i in range(256) for v in (i, 255 - i, (i * 7) % 256)])
        ImageDraw.Draw(frame).rectangle((index * 10, 10, index * 10 + 20, 30), fill=255)
    path = dest / name
    images[0].save(path, "GIF", save_all=True, append_images=images[1:], duration=100, loop=0)
    return path


def huge_png_header(dest: Path, side: int = 30000, name: str = "bomb.png") -> Path:
    """A PNG whose IHDR claims side×side pixels; only a few bytes of data, nothing allocated."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    ihdr = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    body = zlib.compress(b"\x00" * 64)
    path = dest / name
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", body)
                     + chunk(b"IEND", b""))
    return path


def truncated_jpeg(dest: Path, name: str = "cut.jpg") -> Path:
    full = io.BytesIO()
    scene((800, 600)).save(full, "JPEG", quality=90)
    path = dest / name
    path.write_bytes(full.getvalue()[: len(full.getvalue()) // 2])
    return path


def not_media(dest: Path) -> dict[str, Path]:
    """Files with real magic bytes of things we refuse: PDF, EXE, ZIP, and text named .png."""
    pdf = dest / "report.pdf"
    pdf.write_bytes(b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n")
    exe = dest / "setup.exe"
    exe.write_bytes(b"MZ\x90\x00" + b"\x00" * 56 + struct.pack("<I", 64) + b"PE\x00\x00"
                    + b"\x00" * 200)
    archive = dest / "photos.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("a.txt", "hello")
    text = dest / "notes.png"
    text.write_text("These are my notes, not a picture.\n", encoding="utf-8")
    return {"pdf": pdf, "exe": exe, "zip": archive, "text": text}


# --- video -------------------------------------------------------------------------------


def make_video(path: Path, *, vcodec: str = "libx264", fmt: str | None = None,
               size: tuple[int, int] = (64, 48), fps: int = 10, seconds: float = 1.0,
               pix_fmt: str = "yuv420p", audio: str | None = "aac", faststart: bool = True,
               noise: bool = False, metadata: dict[str, str] | None = None,
               options: dict[str, str] | None = None, video: bool = True,
               frames: int | None = None) -> Path:
    """Encode a real video with PyAV: moving bars (or noise, for big files) and silence.

    `frames` overrides the video frame count (0 gives a video track with no frames).
    """
    import av

    container_options = {"movflags": "+faststart"} if faststart and fmt in (None, "mp4",
                                                                           "mov") else {}
    with av.open(str(path), "w", format=fmt, options=container_options) as out:
        if metadata:
            out.metadata.update(metadata)
        vout = None
        if video:
            if vcodec.startswith("libx26"):
                codec_options = {"preset": "ultrafast", **(options or {})}
            else:
                codec_options = options or {"deadline": "realtime", "cpu-used": "8"}
            vout = out.add_stream(vcodec, rate=fps, options=codec_options)
            vout.width, vout.height, vout.pix_fmt = size[0], size[1], pix_fmt
        aout = None
        if audio:
            rate = 48000 if audio == "libopus" else 44100
            aout = out.add_stream(audio, rate=rate, layout="stereo")
        count = round(seconds * fps) if frames is None else frames
        for index in range(count if vout is not None else 0):
            _mux(out, vout, _frame(size, index, noise), index)
        if aout is not None:
            _audio(out, aout, seconds)
        for stream in (vout, aout):
            if stream is not None:
                for packet in stream.encode():
                    out.mux(packet)
    return path


def _frame(size: tuple[int, int], index: int, noise: bool) -> Any:
    import av

    frame = av.VideoFrame(size[0], size[1], "yuv420p")
    for number, plane in enumerate(frame.planes):
        if noise:
            plane.update(os.urandom(plane.buffer_size))
        else:
            line = bytes((x * 3 + index * 8 + number * 60) % 256 for x in range(plane.line_size))
            plane.update(line * (plane.buffer_size // plane.line_size))
    return frame


def _mux(out: Any, stream: Any, frame: Any, index: int) -> None:
    frame.pts = index
    frame.time_base = Fraction(1, int(stream.average_rate or 10))
    for packet in stream.encode(frame):
        out.mux(packet)


def _audio(out: Any, stream: Any, seconds: float) -> None:
    import av

    rate = stream.codec_context.sample_rate
    fmt = "fltp" if stream.codec_context.name == "aac" else "s16"
    chunk = 1024 if fmt == "fltp" else 960
    done = 0
    while done < seconds * rate:
        frame = av.AudioFrame(format=fmt, layout="stereo", samples=chunk)
        for plane in frame.planes:
            plane.update(bytes(plane.buffer_size))
        frame.sample_rate = rate
        frame.pts = done
        frame.time_base = Fraction(1, rate)
        done += chunk
        for packet in stream.encode(frame):
            out.mux(packet)


def mp4_h264(dest: Path, name: str = "clip.mp4", **kw: Any) -> Path:
    return make_video(dest / name, fmt="mp4", **kw)


def mov_h264(dest: Path, name: str = "clip.mov", **kw: Any) -> Path:
    return make_video(dest / name, fmt="mov", **kw)


def mkv_hevc(dest: Path, name: str = "phone.mkv", **kw: Any) -> Path:
    return make_video(dest / name, fmt="matroska", vcodec="libx265",
                      options={"preset": "ultrafast", "x265-params": "log-level=error"}, **kw)


def webm_vp9(dest: Path, name: str = "clip.webm", **kw: Any) -> Path:
    return make_video(dest / name, fmt="webm", vcodec="libvpx-vp9", audio="libopus", **kw)


def mp4_10bit(dest: Path, name: str = "tenbit.mp4", **kw: Any) -> Path:
    return make_video(dest / name, fmt="mp4", pix_fmt="yuv420p10le", **kw)


def audio_only_m4a(dest: Path, name: str = "voice.mp4") -> Path:
    """An MP4 (isom brand, so only probing can tell) with one AAC track and no video."""
    return make_video(dest / name, fmt="mp4", video=False, seconds=1.0)


def long_tiny_video(dest: Path, seconds: float = 360.0, name: str = "long.mp4") -> Path:
    """A 6-minute 64×48 video at 1 fps without audio: cheap to make, long enough to refuse."""
    return make_video(dest / name, fmt="mp4", fps=1, seconds=seconds, audio=None)


# --- HEIC --------------------------------------------------------------------------------


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def _fullbox(kind: bytes, version: int, payload: bytes) -> bytes:
    return _box(kind, struct.pack(">I", version << 24) + payload)


def heic(dest: Path, name: str = "iphone.heic", im: Image.Image | None = None) -> Path | None:
    """A real single-image HEIC: one HEVC intra frame (libx265 via PyAV) in HEIF boxes.

    pi-heif can only decode, so the HEIF container (ftyp, meta: hdlr/pitm/iinf/iloc/iprp,
    mdat) is written by hand around the hvcC record and sample of a one-frame MP4.
    Returns None when this FFmpeg build has no HEVC encoder.
    """
    import av

    if "libx265" not in av.codecs_available:
        return None
    picture = im if im is not None else scene((320, 240))
    width, height = picture.size
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as out:
        stream = out.add_stream("libx265", rate=1, options={
            "preset": "ultrafast",
            "x265-params": "log-level=error:pools=none:frame-threads=1"})  # deterministic
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        frame = av.VideoFrame.from_image(picture.convert("RGB")).reformat(format="yuv420p")
        frame.pts = 0
        for packet in [*stream.encode(frame), *stream.encode()]:
            # libx265 with frame threads sometimes hands back the lone frame with an
            # uninitialised dts (a huge negative number), which the MP4 muxer refuses
            # (PatchWelcomeError: ~1 run in 10 under load). One intra frame: dts is its pts.
            packet.dts = packet.pts
            out.mux(packet)
    mp4 = buf.getvalue()
    at = mp4.index(b"hvcC") - 4
    hvcc = mp4[at : at + int.from_bytes(mp4[at : at + 4], "big")]
    at = mp4.index(b"mdat") - 4
    sample = mp4[at + 8 : at + int.from_bytes(mp4[at : at + 4], "big")]

    def meta(offset: int) -> bytes:
        infe = _fullbox(b"infe", 2, struct.pack(">HH", 1, 0) + b"hvc1\x00")
        ispe = _fullbox(b"ispe", 0, struct.pack(">II", width, height))
        iloc = _fullbox(b"iloc", 0, b"\x44\x00" + struct.pack(">HHHHII", 1, 1, 0, 1, offset,
                                                              len(sample)))
        ipma = _fullbox(b"ipma", 0, struct.pack(">IHB", 1, 1, 2) + b"\x81\x02")
        return _fullbox(b"meta", 0, b"".join((
            _fullbox(b"hdlr", 0, b"\x00" * 4 + b"pict" + b"\x00" * 13),
            _fullbox(b"pitm", 0, struct.pack(">H", 1)),
            _fullbox(b"iinf", 0, struct.pack(">H", 1) + infe),
            iloc,
            _box(b"iprp", _box(b"ipco", hvcc + ispe) + ipma),
        )))

    ftyp = _box(b"ftyp", b"heic\x00\x00\x00\x00mif1heic")
    path = dest / name
    path.write_bytes(ftyp + meta(len(ftyp) + len(meta(0)) + 8) + _box(b"mdat", sample))
    return path
