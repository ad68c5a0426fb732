"""Lossless metadata removal for JPEG: drop the APPn/COM segments, keep the pixels bit-exact.

A phone photo that is already upright, small enough and sRGB only needs its EXIF (GPS!),
XMP, IPTC and comments removed. Re-encoding would cost quality and time; cutting the
segments out of the byte stream costs neither.
"""

from __future__ import annotations

# APP0 (JFIF) and APP14 (Adobe colour transform) describe how to decode the pixels; keep them.
_KEEP_APP = {0xE0, 0xEE}
_STANDALONE = {0x01, *range(0xD0, 0xD8)}  # TEM, RST0-7: markers without a length


def strip_jpeg_metadata(data: bytes) -> bytes | None:
    """Return `data` without APP1–APP13/APP15 and COM segments, or None if it cannot be parsed.

    Only the header up to the first SOS (start of scan) is rewritten; the entropy-coded data
    after it is copied untouched.
    """
    if data[:2] != b"\xff\xd8":
        return None
    out = bytearray(b"\xff\xd8")
    pos = 2
    end = len(data)
    while pos + 4 <= end:
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in _STANDALONE:
            out += data[pos : pos + 2]
            pos += 2
            continue
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        if length < 2 or pos + 2 + length > end:
            return None
        segment = data[pos : pos + 2 + length]
        if marker == 0xDA:  # SOS: image data up to the first EOI (0xFF is stuffed inside it)
            eoi = data.find(b"\xff\xd9", pos + 2 + length)
            if eoi < 0:
                return None
            # Cut at EOI: MPO secondary images and vendor trailers after it are metadata too.
            out += data[pos : eoi + 2]
            return bytes(out)
        is_metadata = (0xE0 <= marker <= 0xEF and marker not in _KEEP_APP) or marker == 0xFE
        if not is_metadata:
            out += segment
        pos += 2 + length
    return None


def has_only_decoding_segments(applist: list[tuple[str, bytes]]) -> bool:
    """True when Pillow's `applist` holds no metadata segment (only JFIF/Adobe, or nothing)."""
    return all(marker in ("APP0", "APP14") for marker, _ in applist)
