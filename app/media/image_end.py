"""Where an image file really ends: bytes after it (an appended zip or script) never leave.

Decoders stop at the end of the image and ignore what follows, so "polyglot" files (a PNG
with a zip glued on, a JPEG carrying a script after its EOI marker) look like ordinary
pictures. We send images byte for byte when they need no change, so the bytes after the end
must be cut first. Each walker follows the container's own structure (PNG chunks up to IEND,
JPEG segments and entropy-coded scans up to EOI, GIF blocks up to the trailer, WebP's RIFF
size) and returns None when the structure is not what it should be: Pillow then decides.
Every loop advances by at least one byte per step, so the walk is linear in the file size.
"""

from __future__ import annotations

import struct


def image_length(data: bytes) -> int | None:
    """Length of the image at the start of `data` (PNG, JPEG, GIF, WebP), or None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return _png(data)
    if data.startswith(b"\xff\xd8\xff"):
        return _jpeg(data)
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return _gif(data)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        size = struct.unpack("<I", data[4:8])[0] + 8
        size += size & 1
        return size if 12 <= size <= len(data) else None
    return None


def _png(data: bytes) -> int | None:
    pos = 8
    while pos + 12 <= len(data):
        length = struct.unpack(">I", data[pos:pos + 4])[0]
        kind = data[pos + 4:pos + 8]
        pos += 12 + length
        if kind == b"IEND":
            return pos if pos <= len(data) else None
    return None


def _jpeg(data: bytes) -> int | None:
    pos, size = 2, len(data)
    while pos + 1 < size:
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0xD9:  # EOI
            return pos + 2
        if marker in (0x01, *range(0xD0, 0xD8)):  # no length field
            pos += 2
            continue
        if pos + 4 > size:
            return None
        length = struct.unpack(">H", data[pos + 2:pos + 4])[0]
        if length < 2:
            return None
        pos += 2 + length
        if marker == 0xDA:  # start of scan: entropy-coded data up to the next real marker
            scan_end = _scan_end(data, pos)
            if scan_end is None:
                return None
            pos = scan_end
    return None


def _scan_end(data: bytes, pos: int) -> int | None:
    """Position of the first marker after entropy-coded data (FF00 and RSTn belong to it)."""
    while True:
        pos = data.find(b"\xff", pos)
        if pos < 0 or pos + 1 >= len(data):
            return None
        following = data[pos + 1]
        if following == 0x00 or 0xD0 <= following <= 0xD7 or following == 0xFF:
            pos += 1 if following == 0xFF else 2
            continue
        return pos


def _gif(data: bytes) -> int | None:
    size = len(data)
    if size < 13:
        return None
    flags = data[10]
    pos = 13 + (3 * 2 ** ((flags & 7) + 1) if flags & 0x80 else 0)
    while pos < size:
        block = data[pos]
        if block == 0x3B:  # trailer
            return pos + 1
        after: int | None
        if block == 0x21:  # extension: label, then sub-blocks
            after = _sub_blocks(data, pos + 2)
        elif block == 0x2C:  # image descriptor, optional local table, LZW size, sub-blocks
            if pos + 10 > size:
                return None
            local = data[pos + 9]
            pos += 10 + (3 * 2 ** ((local & 7) + 1) if local & 0x80 else 0)
            after = _sub_blocks(data, pos + 1)
        else:
            return None
        if after is None:
            return None
        pos = after
    return None


def _sub_blocks(data: bytes, pos: int) -> int | None:
    while pos < len(data):
        length = data[pos]
        pos += 1 + length
        if length == 0:
            return pos
    return None
