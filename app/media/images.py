"""Images: verify, orient, convert to sRGB, flatten, strip metadata, downscale, re-encode.

The bytes that leave the machine must carry no EXIF (GPS!), XMP, comments or ICC profile,
must be upright, opaque, sRGB, at most 4096 px on the long side and in a format the Files
API stores (JPEG, PNG, static GIF, WebP). Anything already like that is sent byte for byte.
Pillow is imported lazily: the window must paint before we pay for it.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from app import limits
from app.media.errors import CorruptMedia, MediaTooLarge
from app.media.image_end import image_length
from app.media.jpegstrip import has_only_decoding_segments, strip_jpeg_metadata

if TYPE_CHECKING:
    from PIL.Image import Image

# Info keys that describe how to decode or display pixels, not who/where/what device.
_HARMLESS_INFO = {
    "jfif", "jfif_version", "jfif_unit", "jfif_density", "dpi", "adobe", "adobe_transform",
    "progressive", "progression", "gamma", "srgb", "aspect", "interlace", "background",
    "version", "duration", "loop", "lossless", "chromaticity",
}
_SENDABLE = {"JPEG": "jpg", "PNG": "png", "GIF": "gif", "WEBP": "webp"}
_MIME = {"jpg": "image/jpeg", "png": "image/png", "gif": "image/gif", "webp": "image/webp"}
_LOSSY_SOURCES = {"JPEG", "MPO", "HEIF", "AVIF"}  # photos: re-encode as JPEG
_FORMAT_NAMES = {"JPEG": "JPEG", "MPO": "JPEG", "HEIF": "HEIC", "WEBP": "WebP", "TIFF": "TIFF"}
_TRANSPOSE = {2: 0, 3: 3, 4: 1, 5: 5, 6: 4, 7: 6, 8: 2}  # EXIF orientation → Image.Transpose
PHOTO_QUALITY = 85
RESIZED_JPEG_QUALITY = 90
MAX_IMAGE_FILE_BYTES = 300 * limits.MB  # raw file size we are willing to read into memory


@dataclass(frozen=True, slots=True)
class ImageResult:
    """The prepared image: `data` is None when the source bytes are sent unchanged."""

    data: bytes | None
    ext: str
    mime: str
    width: int
    height: int
    changes: tuple[str, ...]
    thumbnail: bytes


_pil_ready = False


def pil() -> Any:
    """Import Pillow on first use and set it up for untrusted input.

    Pillow's own bomb guard warns below 2x its limit and raises above, so with warnings as
    errors tests and production would behave differently; we disable it and check
    `limits.MAX_DECODE_PIXELS` ourselves before decoding. HEIC support (pi-heif) registers
    here too, only when an image is first prepared.
    """
    global _pil_ready
    from PIL import Image

    if not _pil_ready:
        Image.MAX_IMAGE_PIXELS = None
        import pi_heif

        pi_heif.register_heif_opener()
        _pil_ready = True
    return Image


def open_image(data: bytes, name: str) -> Image:
    """Open (header only) and refuse decompression bombs before any pixel is decoded."""
    image_mod = pil()
    try:
        im = image_mod.open(io.BytesIO(data))
    except Exception as exc:  # Pillow raises many types for garbage; all mean "not an image"
        raise CorruptMedia(f"“{name}” is damaged or incomplete; it cannot be read as an "
                           "image.") from exc
    width, height = im.size
    if width <= 0 or height <= 0:
        raise CorruptMedia(f"“{name}” declares an empty {width}×{height} image.")
    if width * height > limits.MAX_DECODE_PIXELS:
        raise MediaTooLarge(
            f"“{name}” is {width}×{height} pixels ({width * height / 1e6:.0f} megapixels); "
            f"Step Desk refuses images over {limits.MAX_DECODE_PIXELS / 1e6:.0f} megapixels "
            "to protect your computer's memory."
        )
    return im


def _why(exc: BaseException) -> str:
    text = str(exc).strip().rstrip(".")
    return text[:120] if text else type(exc).__name__


def _fit(width: int, height: int, long_side: int) -> tuple[int, int]:
    """Scale (width, height) so the long side is at most `long_side`, keeping the aspect."""
    scale = long_side / max(width, height)
    if scale >= 1:
        return width, height
    return max(1, round(width * scale)), max(1, round(height * scale))


def _metadata_found(im: Image) -> tuple[list[str], bool, bool]:
    """(kinds of metadata to name, anything beyond pixels at all, location data) in the source.

    The second value is strict (unknown info keys count) and decides whether the bytes may be
    sent unchanged; the first names only what a user would recognise.
    """
    keys = set(im.info) - _HARMLESS_INFO
    applist = getattr(im, "applist", [])
    found: list[str] = []
    if "exif" in keys:
        found.append("EXIF")
    if keys & {"xmp", "XML:com.adobe.xmp"}:
        found.append("XMP")
    if keys & {"photoshop", "iptc"} or any(marker == "APP13" for marker, _ in applist):
        found.append("IPTC")
    if "comment" in keys or any(isinstance(im.info[k], str) for k in keys):
        found.append("comments")
    if "icc_profile" in keys:
        found.append("colour profile")
    strict = bool(keys) or not has_only_decoding_segments(applist)
    has_gps = False
    if "exif" in im.info or im.format == "TIFF":
        try:
            has_gps = bool(im.getexif().get_ifd(0x8825))
        except Exception:  # a damaged EXIF block is still metadata we drop
            has_gps = False
    return found, strict, has_gps


def _orientation(im: Image) -> int:
    try:
        value = im.getexif().get(0x0112, 1)
    except Exception:  # unreadable EXIF: treat as upright rather than refuse the photo
        return 1
    return value if value in _TRANSPOSE else 1


def _has_alpha(im: Image) -> bool:
    return im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info


def _to_srgb(im: Image, icc: bytes | None) -> tuple[Image, bool]:
    """Convert to 8-bit RGB/RGBA/L in sRGB; returns (image, colours changed by an ICC profile)."""
    from PIL import ImageCms

    if im.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        im = im.point(lambda v: v * (1 / 257)) if im.mode != "F" else im
        im = im.convert("L")
    elif im.mode == "1":
        im = im.convert("L")
    elif im.mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    elif im.mode not in ("RGB", "RGBA", "L", "LA", "CMYK"):
        im = im.convert("RGBA" if _has_alpha(im) else "RGB")
    converted = False
    if icc:
        try:
            src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            described = ImageCms.getProfileDescription(src) or ""
            if "srgb" not in described.lower() or im.mode == "CMYK":
                out_mode = {"L": "L", "LA": "LA", "RGBA": "RGBA"}.get(im.mode, "RGB")
                profiled = ImageCms.profileToProfile(
                    im, src, ImageCms.createProfile("sRGB"), outputMode=out_mode
                )
                if profiled is not None:  # None only when asked to convert in place
                    im = profiled
                converted = True
        except (ImageCms.PyCMSError, OSError, ValueError):
            converted = False  # a broken profile: fall back to assuming sRGB
    if im.mode == "CMYK":
        im = im.convert("RGB")
    return im, converted


def _flatten(im: Image) -> Image:
    """Composite onto white: the service turns transparency black (stepfun-api.md §6.1)."""
    image_mod = pil()
    if im.mode in ("LA", "La"):
        im = im.convert("RGBA")
    rgba = im if im.mode == "RGBA" else im.convert("RGBA")
    white = image_mod.new("RGBA", rgba.size, (255, 255, 255, 255))
    return image_mod.alpha_composite(white, rgba).convert("RGB")


def _looks_like_graphics(im: Image) -> bool:
    """Few distinct colours (screenshots, diagrams, text) → PNG keeps text crisp."""
    sample = im.resize((min(im.width, 256), min(im.height, 256)), 0)  # NEAREST: no new colours
    return sample.getcolors(maxcolors=2048) is not None


def thumbnail_png(im: Image, solid: Sequence[tuple[int, int, int, int]] = (),
                  fill: tuple[int, int, int] = (0, 0, 0)) -> bytes:
    """A PNG of at most `limits.THUMBNAIL_SIDE` px on the long side, made once at intake.

    `solid` boxes (left, top, right, bottom in `im` pixels) are filled again after
    resampling, rounded outwards, so a redaction stays solid at the thumbnail's scale too.
    """
    source = im if im.mode in ("RGB", "L") else im.convert("RGB")
    size = _fit(im.width, im.height, limits.THUMBNAIL_SIDE)
    # resize() returns a new image (no full-size copy first, unlike Image.thumbnail).
    thumb = source.resize(size, pil().Resampling.BICUBIC, reducing_gap=2.0)
    stamp_scaled(thumb, solid, size[0] / im.width, size[1] / im.height, fill)
    thumb.info = {}
    buf = io.BytesIO()
    thumb.save(buf, "PNG", optimize=False, compress_level=6)
    return buf.getvalue()


def stamp_scaled(im: Image, boxes: Sequence[tuple[int, int, int, int]], sx: float, sy: float,
                 fill: tuple[int, int, int]) -> None:
    """Fill `boxes` (in pixels of the unscaled image) on `im`, scaled by (sx, sy) outwards.

    Resampling blends a filled box's border with its neighbours; filling the covering box
    again afterwards makes every pixel that shows any part of it the fill colour.
    """
    for left, top, right, bottom in boxes:
        x0, y0 = max(0, math.floor(left * sx)), max(0, math.floor(top * sy))
        x1, y1 = min(im.width, math.ceil(right * sx)), min(im.height, math.ceil(bottom * sy))
        if x1 > x0 and y1 > y0:
            im.paste(fill if im.mode == "RGB" else 0, (x0, y0, x1, y1))


def decode_upright(data: bytes, name: str) -> tuple[Image, tuple[str, ...]]:
    """Every pixel of an image (its first frame) upright, opaque, sRGB, RGB: what edits apply to.

    Returns the image and human notes on what that took, including the metadata that will
    not be sent. Raises CorruptMedia / MediaTooLarge like `prepare_image`.
    """
    im = open_image(data, name)
    fmt = im.format or "image"
    notes: list[str] = []
    if getattr(im, "n_frames", 1) > 1 and fmt != "MPO":
        notes.append(f"edited the first frame of an animated {_FORMAT_NAMES.get(fmt, fmt)}")
    meta_kinds, _strict, has_gps = _metadata_found(im)
    orientation = _orientation(im)
    icc = im.info.get("icc_profile")
    try:
        im.load()
    except Exception as exc:  # truncated / damaged data: Pillow raises OSError, SyntaxError, …
        raise CorruptMedia(f"“{name}” is damaged or incomplete ({_why(exc)}).") from exc
    work, converted = _to_srgb(im, icc)
    if converted:
        notes.append("converted colours to sRGB")
    if _has_alpha(work):
        work = _flatten(work)
        notes.append("flattened transparency onto white")
    if orientation != 1:
        work = work.transpose(pil().Transpose(_TRANSPOSE[orientation]))
        notes.append("rotated upright (EXIF orientation)")
    if work.mode != "RGB":
        work = work.convert("RGB")
    work.info = {}
    return work, (*notes, *_metadata_notes(meta_kinds, has_gps))


def fit_long_side(width: int, height: int) -> tuple[int, int]:
    """The size an image of width × height is sent at (long side ≤ the API's limit)."""
    return _fit(width, height, limits.MAX_IMAGE_LONG_SIDE)


def encode(im: Image, ext: str, *, quality: int = PHOTO_QUALITY, source: Image | None = None
           ) -> bytes:
    """Encode without any metadata (Pillow writes none unless asked).

    For JPEG sources re-encoded at their own size, reuse the source's quantisation tables and
    subsampling ("keep" quality) so the second generation loses almost nothing.
    """
    buf = io.BytesIO()
    # Pillow's savers fall back to im.info for comments, ICC profiles and XMP: empty it.
    kept_info, im.info = im.info, {}
    try:
        _save(im, buf, ext, quality, source)
    finally:
        im.info = kept_info
    return buf.getvalue()


def _save(im: Image, buf: io.BytesIO, ext: str, quality: int, source: Image | None) -> None:
    if ext == "jpg":
        options: dict[str, Any] = {"quality": quality, "optimize": False}
        if source is not None and source.format in ("JPEG", "MPO") and source.size in (im.size,
                                                                              im.size[::-1]):
            from PIL import JpegImagePlugin

            sampling = JpegImagePlugin.get_sampling(source)
            options = {"qtables": getattr(source, "quantization", None)}
            if sampling >= 0:
                options["subsampling"] = sampling
        im.save(buf, "JPEG", **options)
    else:
        im.save(buf, "PNG", compress_level=6)


def prepare_image(data: bytes, name: str) -> ImageResult:
    """Run the whole image pipeline on the raw bytes of one file.

    Raises CorruptMedia for anything that does not decode fully, MediaTooLarge for bombs.
    Bytes after the end of the image are cut before anything else (`image_end`); a file whose
    end cannot be found is re-encoded rather than sent as is.
    """
    end = image_length(data)
    changes: list[str] = []
    cut = False
    if end is not None and end < len(data):
        cut = True
        changes.append(f"removed {len(data) - end:,} bytes hidden after the end of the image")
        data = data[:end]
    im = open_image(data, name)
    fmt = im.format or "image"
    n_frames = getattr(im, "n_frames", 1)
    if n_frames > 1 and fmt != "MPO":  # MPO extra frames are depth maps/previews, not animation
        changes.append(f"used the first frame of an animated {_FORMAT_NAMES.get(fmt, fmt)}")
    meta_kinds, has_meta, has_gps = _metadata_found(im)
    orientation = _orientation(im)
    icc = im.info.get("icc_profile")
    width, height = im.size
    target = _fit(width, height, limits.MAX_IMAGE_LONG_SIDE)
    if target != (width, height) and fmt in ("JPEG", "MPO"):
        im.draft("RGB", target)  # DCT-domain downscale while decoding: 2-8x less work
    try:
        im.load()
    except Exception as exc:  # truncated / damaged data: Pillow raises OSError, SyntaxError, …
        raise CorruptMedia(f"“{name}” is damaged or incomplete ({_why(exc)}).") from exc

    sendable_ext = _SENDABLE.get(fmt)
    if (sendable_ext and end is not None and n_frames == 1 and target == (width, height)
            and not has_meta and not _has_alpha(im) and im.mode in ("RGB", "L", "P")):
        return ImageResult(data if cut else None, sendable_ext, _MIME[sendable_ext], width,
                           height, tuple(changes), thumbnail_png(im))
    if (end is not None and fmt in ("JPEG", "MPO") and target == (width, height)
            and orientation == 1 and im.mode in ("RGB", "L")
            and not _icc_needs_conversion(icc)):
        stripped = strip_jpeg_metadata(data)
        if stripped is not None:
            changes += _metadata_notes(meta_kinds, has_gps)
            return ImageResult(stripped, "jpg", "image/jpeg", width, height, tuple(changes),
                               thumbnail_png(im))

    source = im
    work, icc_converted = _to_srgb(im, icc)
    if icc_converted:
        changes.append("converted colours to sRGB")
    if _has_alpha(work):
        work = _flatten(work)
        changes.append("flattened transparency onto white")
    if work.size != target:
        work = work.resize(target, pil().Resampling.LANCZOS, reducing_gap=3.0)
    if orientation != 1:
        work = work.transpose(pil().Transpose(_TRANSPOSE[orientation]))
        changes.append("rotated upright (EXIF orientation)")
    if target != (width, height):
        shown_w, shown_h = (height, width) if orientation >= 5 else (width, height)
        changes.append(f"resized {shown_w}×{shown_h} → {work.width}×{work.height}")

    if fmt in _LOSSY_SOURCES or (fmt not in ("PNG", "GIF") and not _looks_like_graphics(work)):
        ext = "jpg"
    else:
        ext = "png"
    quality = RESIZED_JPEG_QUALITY if fmt == "JPEG" else PHOTO_QUALITY
    out = encode(work, ext, quality=quality,
                 source=source if work.size in (source.size, source.size[::-1]) else None)
    if ("jpg" if fmt == "MPO" else sendable_ext) != ext:
        changes.insert(0, f"converted {_FORMAT_NAMES.get(fmt, fmt)} → {ext.upper()}"
                       .replace("JPG", "JPEG"))
    changes += _metadata_notes(meta_kinds, has_gps)
    return ImageResult(out, ext, _MIME[ext], work.width, work.height, tuple(changes),
                       thumbnail_png(work))


def _icc_needs_conversion(icc: bytes | None) -> bool:
    if not icc:
        return False
    from PIL import ImageCms

    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        return "srgb" not in (ImageCms.getProfileDescription(profile) or "").lower()
    except (ImageCms.PyCMSError, OSError, ValueError):
        return False


def _metadata_notes(kinds: list[str], has_gps: bool) -> list[str]:
    notes = ["removed location data"] if has_gps else []
    if kinds:
        notes.append(f"removed metadata ({', '.join(kinds)})")
    return notes
