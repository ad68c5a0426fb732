"""Media errors: every refusal is one human sentence that names the file.

The CLI prints `str(err)` on one line and the GUI shows it in a banner, so the message must
stand on its own: which file, what is wrong, and (where there is one) what the user can do.
"""

from __future__ import annotations


class MediaError(Exception):
    """A file cannot be sent; `message` is one human sentence naming the file."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UnsupportedMedia(MediaError):
    """Not an image or video we can read (PDF, archive, program, text, audio, …)."""


class CorruptMedia(MediaError):
    """The file claims to be media but does not decode (truncated, damaged, empty stream)."""


class MediaTooLarge(MediaError):
    """Over a size, pixel or per-message limit even after everything we can do to shrink it."""


class VideoTooLong(MediaError):
    """A video of 300 s or more without a trim; the message offers `--trim` and `--split`."""

    def __init__(self, message: str, duration_s: float) -> None:
        super().__init__(message)
        self.duration_s = duration_s


class MediaCancelled(MediaError):
    """Preparation was cancelled by the user (the transcoding child was terminated)."""


def display_name(name: str) -> str:
    """Make a file name safe to show and store.

    Linux file names are bytes; `os.fsdecode` turns undecodable bytes into lone surrogates,
    which SQLite, JSON and most terminals reject. Replace them with U+FFFD instead.
    """
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def fmt_duration(seconds: float) -> str:
    """`372.4` → `6:12` (minutes:seconds), the form `--trim` accepts."""
    total = int(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes}:{secs:02d}"
