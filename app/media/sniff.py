"""Identify a file by its first bytes, never by its extension.

A screenshot saved as `.jpg` that is really a PNG, or a text file renamed `.png`, must be
recognised for what it is. `sniff()` looks at the first `HEAD_BYTES` bytes only, so it costs
nothing extra: intake reads that head anyway as the first chunk of its single pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

HEAD_BYTES = 64

Kind = Literal["image", "video", "refused"]


@dataclass(frozen=True, slots=True)
class Sniffed:
    """What the head bytes say: a kind, a short format id and a human label."""

    kind: Kind
    fmt: str  # "jpeg", "png", "gif", "webp", "bmp", "tiff", "heif", "avif", "mp4", "mov", "mkv", …
    label: str  # "a PDF document", "a PNG image", … used in messages


_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}
_AVIF_BRANDS = {b"avif", b"avis"}
_AUDIO_BRANDS = {b"M4A ", b"M4B ", b"M4P ", b"F4A ", b"F4B "}
_QT_ATOMS = {b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"}


def _iso_bmff(head: bytes) -> Sniffed | None:
    """ISO base media files (MP4, MOV, HEIC, AVIF, M4A) share the `ftyp` box; its brands tell."""
    if head[4:8] != b"ftyp":
        if head[4:8] in _QT_ATOMS:  # old QuickTime files start straight with an atom
            return Sniffed("video", "mov", "a QuickTime movie")
        return None
    size = int.from_bytes(head[0:4], "big")
    brands = {head[8:12]} | {head[i : i + 4] for i in range(16, min(size, len(head)), 4)}
    major = head[8:12]
    if major in _AVIF_BRANDS or (major == b"mif1" and brands & _AVIF_BRANDS):
        return Sniffed("image", "avif", "an AVIF image")
    if major in _HEIF_BRANDS or (brands & _HEIF_BRANDS and not brands & {b"isom", b"mp42"}):
        return Sniffed("image", "heif", "a HEIC/HEIF image")
    if major in _AUDIO_BRANDS:
        return Sniffed("refused", "m4a", "an audio file")
    if major == b"qt  ":
        return Sniffed("video", "mov", "a QuickTime movie")
    return Sniffed("video", "mp4", "an MP4 video")


# (prefix, offset, Sniffed) checked in order; the first match wins.
_MAGIC: tuple[tuple[bytes, int, Sniffed], ...] = (
    (b"\xff\xd8\xff", 0, Sniffed("image", "jpeg", "a JPEG image")),
    (b"\x89PNG\r\n\x1a\n", 0, Sniffed("image", "png", "a PNG image")),
    (b"GIF87a", 0, Sniffed("image", "gif", "a GIF image")),
    (b"GIF89a", 0, Sniffed("image", "gif", "a GIF image")),
    (b"II*\x00", 0, Sniffed("image", "tiff", "a TIFF image")),
    (b"MM\x00*", 0, Sniffed("image", "tiff", "a TIFF image")),
    (b"\x00\x00\x01\x00", 0, Sniffed("image", "ico", "an icon")),
    (b"qoif", 0, Sniffed("image", "qoi", "a QOI image")),
    (b"\x1aE\xdf\xa3", 0, Sniffed("video", "mkv", "a Matroska video")),
    (b"%PDF-", 0, Sniffed("refused", "pdf", "a PDF document")),
    (b"PK\x03\x04", 0, Sniffed("refused", "zip", "a ZIP archive (or an Office document)")),
    (b"PK\x05\x06", 0, Sniffed("refused", "zip", "an empty ZIP archive")),
    (b"\x1f\x8b", 0, Sniffed("refused", "gzip", "a gzip archive")),
    (b"7z\xbc\xaf\x27\x1c", 0, Sniffed("refused", "7z", "a 7-Zip archive")),
    (b"Rar!\x1a\x07", 0, Sniffed("refused", "rar", "a RAR archive")),
    (b"MZ", 0, Sniffed("refused", "exe", "a Windows program")),
    (b"\x7fELF", 0, Sniffed("refused", "elf", "a Linux program")),
    (b"\xcf\xfa\xed\xfe", 0, Sniffed("refused", "macho", "a macOS program")),
    (b"ID3", 0, Sniffed("refused", "mp3", "an audio file")),
    (b"fLaC", 0, Sniffed("refused", "flac", "an audio file")),
    (b"OggS", 0, Sniffed("refused", "ogg", "an Ogg audio file")),
    (b"SQLite format 3\x00", 0, Sniffed("refused", "sqlite", "a database file")),
)


def sniff(head: bytes) -> Sniffed | None:
    """Return what `head` (the first bytes of a file) is, or None when it has no known magic.

    None means "ask Pillow": some formats Pillow reads (TGA, PCX, …) carry no magic at all.
    """
    if head[:4] == b"RIFF":
        sub = head[8:12]
        if sub == b"WEBP":
            return Sniffed("image", "webp", "a WebP image")
        if sub == b"WAVE":
            return Sniffed("refused", "wav", "an audio file")
        if sub == b"AVI ":
            return Sniffed("refused", "avi", "an AVI video (convert it to MP4 first)")
        return None
    if (found := _iso_bmff(head)) is not None:
        return found
    if head[:2] == b"BM" and len(head) >= 18 and head[6:10] == b"\x00\x00\x00\x00":
        return Sniffed("image", "bmp", "a BMP image")
    if len(head) >= 3 and head[0:1] == b"P" and head[1:2] in b"123456" and head[2:3].isspace():
        return Sniffed("image", "ppm", "a PNM image")
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0 and head[1] != 0xFF:
        return Sniffed("refused", "mp3", "an audio file")
    for prefix, offset, found in _MAGIC:
        if head[offset : offset + len(prefix)] == prefix:
            if found.fmt == "mkv" and b"webm" in head:
                return Sniffed("video", "webm", "a WebM video")
            return found
    return None


def looks_like_text(head: bytes) -> bool:
    """True for heads that are plain text (UTF-8 / ASCII, no NUL): for a clearer refusal."""
    if not head or b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut off at the end of the head is still text.
        return exc.start >= len(head) - 3
    return True
