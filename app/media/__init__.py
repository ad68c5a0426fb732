"""Media intake: check, convert and hash what the user attaches before anything is sent.

Qt-free, and cheap to import: Pillow, pi-heif and PyAV load on first use.
"""

from app.media.errors import (
    CorruptMedia,
    MediaCancelled,
    MediaError,
    MediaTooLarge,
    UnsupportedMedia,
    VideoTooLong,
)
from app.media.fitting import check_message_limits, fit_message
from app.media.intake import IntakeOptions, PreparedMedia, prepare, prepare_sync
from app.media.video import parse_time_range, split, trim

__all__ = [
    "CorruptMedia",
    "IntakeOptions",
    "MediaCancelled",
    "MediaError",
    "MediaTooLarge",
    "PreparedMedia",
    "UnsupportedMedia",
    "VideoTooLong",
    "check_message_limits",
    "fit_message",
    "parse_time_range",
    "prepare",
    "prepare_sync",
    "split",
    "trim",
]
