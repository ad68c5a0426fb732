"""Images: privacy (no EXIF/GPS/XMP leaves), orientation, formats, alpha, size, limits."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from PIL import Image, ImageCms

from app import limits
from app.media import MediaTooLarge, check_message_limits, fit_message, prepare_sync
from tests import media_factory as mf

if TYPE_CHECKING:
    from tests.media_fixtures import MediaSet

pytest_plugins = ["tests.media_fixtures"]


def _open_sent(path: Path) -> Image.Image:
    im = Image.open(path)
    im.load()
    return im


def _assert_no_metadata(im: Image.Image) -> None:
    assert not im.getexif(), "EXIF left in the sent bytes"
    assert not set(im.info) & {"exif", "xmp", "XML:com.adobe.xmp", "comment", "icc_profile",
                               "photoshop"}
    for marker, _ in getattr(im, "applist", []):
        assert marker in ("APP0", "APP14"), marker


def _colour_noise(size: tuple[int, int]) -> Image.Image:
    return Image.merge("RGB", [Image.effect_noise(size, 90 + 10 * i) for i in range(3)])


def _close(a: tuple[int, ...], b: tuple[int, ...], tolerance: int = 24) -> bool:
    return all(abs(x - y) <= tolerance for x, y in zip(a, b, strict=True))


def test_gps_photo_comes_out_clean_and_upright(media: MediaSet, work_dir: Path) -> None:
    with Image.open(media.photo) as source:
        assert source.getexif().get_ifd(0x8825), "the fixture must carry GPS"
        assert source.size == (400, 600) and source.getexif()[0x0112] == 6

    prepared = prepare_sync(media.photo, work_dir=work_dir)

    raw = prepared.path.read_bytes()
    assert b"Exif" not in raw and b"xmpmeta" not in raw and b"holiday" not in raw
    sent = _open_sent(prepared.path)
    _assert_no_metadata(sent)
    assert sent.size == (600, 400) == (prepared.width, prepared.height)
    assert _close(sent.getpixel((10, 10)), mf.MARKER), "marker must be at the top-left"
    assert not _close(sent.getpixel((590, 390)), mf.MARKER)
    assert "removed location data" in prepared.changes
    assert "rotated upright (EXIF orientation)" in prepared.changes
    assert (prepared.mime, prepared.ext) == ("image/jpeg", "jpg")


def test_clean_jpeg_is_sent_byte_for_byte(media: MediaSet, work_dir: Path) -> None:
    prepared = prepare_sync(media.clean_jpeg, work_dir=work_dir)
    assert prepared.sha256 == hashlib.sha256(media.clean_jpeg.read_bytes()).hexdigest()
    assert prepared.changes == ()


def test_upright_jpeg_with_exif_is_stripped_losslessly(tmp_path: Path, work_dir: Path) -> None:
    path = mf.photo_jpeg(tmp_path, orientation=1)
    prepared = prepare_sync(path, work_dir=work_dir)
    sent = _open_sent(prepared.path)
    _assert_no_metadata(sent)
    assert sent.tobytes() == _open_sent(path).tobytes(), "pixels must be untouched"
    assert prepared.changes == ("removed location data",
                                "removed metadata (EXIF, XMP, comments)")


def test_screenshot_alpha_is_flattened_onto_white_png(media: MediaSet, work_dir: Path) -> None:
    prepared = prepare_sync(media.png_alpha, work_dir=work_dir)
    sent = _open_sent(prepared.path)
    assert prepared.ext == "png" and sent.mode == "RGB"
    assert sent.getpixel((5, sent.height - 5)) == (255, 255, 255)
    assert "flattened transparency onto white" in prepared.changes
    _assert_no_metadata(sent)


def test_animated_gif_first_frame(media: MediaSet, work_dir: Path) -> None:
    prepared = prepare_sync(media.animated_gif, work_dir=work_dir)
    assert "used the first frame of an animated GIF" in prepared.changes
    assert prepared.ext == "png"
    assert getattr(_open_sent(prepared.path), "n_frames", 1) == 1


def test_static_gif_and_webp_pass_through(tmp_path: Path, work_dir: Path) -> None:
    for path in (mf.save_as(tmp_path, "a.gif", "GIF", mf.scene().convert("P")),
                 mf.save_as(tmp_path, "a.webp", "WEBP")):
        prepared = prepare_sync(path, work_dir=work_dir)
        assert prepared.sha256 == hashlib.sha256(path.read_bytes()).hexdigest(), path.name
        assert prepared.ext == path.suffix[1:]


@pytest.mark.parametrize(("fmt", "name", "ext"), [
    ("TIFF", "scan.tiff", "png"), ("BMP", "paint.bmp", "png"), ("ICO", "app.ico", "png"),
    ("PPM", "raw.ppm", "png"), ("AVIF", "photo.avif", "jpg"),
])
def test_other_formats_are_converted(tmp_path: Path, work_dir: Path, fmt: str, name: str,
                                     ext: str) -> None:
    image = mf.screenshot().convert("RGB") if ext == "png" else mf.scene()
    path = mf.save_as(tmp_path, name, fmt, image)
    prepared = prepare_sync(path, work_dir=work_dir)
    assert prepared.ext == ext
    assert prepared.changes[0].startswith("converted ")
    _assert_no_metadata(_open_sent(prepared.path))


def test_photo_tiff_becomes_jpeg(tmp_path: Path, work_dir: Path) -> None:
    noisy = _colour_noise((400, 300))
    prepared = prepare_sync(mf.save_as(tmp_path, "scan.tif", "TIFF", noisy), work_dir=work_dir)
    assert prepared.ext == "jpg" and prepared.changes[0] == "converted TIFF → JPEG"


def test_heic_photo(tmp_path: Path, work_dir: Path) -> None:
    path = mf.heic(tmp_path)
    if path is None:
        pytest.skip("no HEIC encoder here: pi-heif only decodes and no x265 muxing is possible")
    prepared = prepare_sync(path, work_dir=work_dir)
    assert prepared.changes[0] == "converted HEIC → JPEG" and prepared.ext == "jpg"


def test_long_side_is_capped(tmp_path: Path, work_dir: Path) -> None:
    path = mf.save_as(tmp_path, "panorama.jpg", "JPEG", mf.scene((5000, 300)))
    prepared = prepare_sync(path, work_dir=work_dir)
    assert (prepared.width, prepared.height) == (4096, 246)
    assert "resized 5000×300 → 4096×246" in prepared.changes


def test_rotated_photo_is_resized_and_reported_upright(tmp_path: Path, work_dir: Path) -> None:
    path = mf.photo_jpeg(tmp_path, size=(5000, 300), name="wide.jpg")
    prepared = prepare_sync(path, work_dir=work_dir)
    assert (prepared.width, prepared.height) == (4096, 246)
    assert "resized 5000×300 → 4096×246" in prepared.changes
    assert _close(_open_sent(prepared.path).getpixel((5, 5)), mf.MARKER)


def test_cmyk_and_sixteen_bit_are_normalised(tmp_path: Path, work_dir: Path) -> None:
    cmyk = prepare_sync(mf.save_as(tmp_path, "print.jpg", "JPEG", mf.scene().convert("CMYK")),
                        work_dir=work_dir)
    assert _open_sent(cmyk.path).mode == "RGB"
    deep = Image.linear_gradient("L").resize((300, 200)).convert("I;16")
    sixteen = prepare_sync(mf.save_as(tmp_path, "deep.png", "PNG", deep), work_dir=work_dir)
    assert _open_sent(sixteen.path).mode == "L"


def test_icc_profile_is_applied_then_removed(tmp_path: Path, work_dir: Path) -> None:
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    path = mf.save_as(tmp_path, "tagged.jpg", "JPEG", mf.scene(), icc_profile=srgb)
    prepared = prepare_sync(path, work_dir=work_dir)
    _assert_no_metadata(_open_sent(prepared.path))
    assert any("colour profile" in change for change in prepared.changes)


def test_thumbnail_is_a_small_png(media: MediaSet, work_dir: Path) -> None:
    prepared = prepare_sync(media.photo, work_dir=work_dir)
    assert prepared.thumbnail is not None
    thumb = Image.open(io.BytesIO(prepared.thumbnail))
    assert thumb.format == "PNG" and max(thumb.size) == limits.THUMBNAIL_SIDE
    assert thumb.size == (256, 171)


def test_message_over_20_mb_is_recompressed_to_fit(tmp_path: Path, work_dir: Path) -> None:
    path = mf.save_as(tmp_path, "noise.png", "PNG", _colour_noise((1800, 1500)))
    items = [prepare_sync(path, work_dir=work_dir) for _ in range(4)]
    assert sum(item.size for item in items) > limits.MAX_IMAGE_BYTES_PER_REQUEST
    with pytest.raises(MediaTooLarge, match="at most 20 MB of images"):
        check_message_limits(items)
    fitted = fit_message(items, work_dir)
    check_message_limits(fitted)
    assert all(item.ext == "jpg" for item in fitted)
    assert all("recompressed to fit" in item.changes[-1] for item in fitted)
    assert not any(item.path.exists() for item in items), "replaced files are removed"
    assert {p.name for p in work_dir.iterdir()} == {item.path.name for item in fitted}
