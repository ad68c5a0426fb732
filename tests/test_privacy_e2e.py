"""Privacy, end to end: a phone photo with GPS goes through `stepdesk ask`; the bytes the
stand-in received carry no EXIF, GPS, XMP or comment, and the picture is upright."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from tests.clihelp import ask
from tests.media_factory import MARKER, photo_jpeg


def test_gps_photo_arrives_stripped_and_upright(standin, data_dir: Path, tmp_path: Path) -> None:
    photo = photo_jpeg(tmp_path, size=(600, 400), orientation=6, gps=True)
    with Image.open(photo) as original:  # the test photo really carries what we strip
        assert original.getexif().get_ifd(0x8825)
        assert original.size == (400, 600)  # stored rotated

    result = ask(standin.base_url, data_dir, "--verbose", "--file", str(photo), "Where is this?")
    assert result.code == 0, result.err
    assert "location" in result.err.lower()  # --verbose says what was removed

    received = standin.upload_requests()[0].file_bytes
    assert received is not None
    for needle in (b"Exif", b"GPS", b"xmpmeta", b"holiday", b"PhoneMaker"):
        assert needle not in received, needle
    with Image.open(io.BytesIO(received)) as sent:
        assert not sent.getexif()
        assert "xmp" not in sent.info and "comment" not in sent.info and "exif" not in sent.info
        assert sent.size == (600, 400)  # upright: landscape again
        corner = sent.convert("RGB").getpixel((10, 10))
        assert all(abs(a - b) < 40 for a, b in zip(corner, MARKER, strict=True))
