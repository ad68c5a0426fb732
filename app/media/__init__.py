"""Media intake: check, convert and hash what the user attaches before anything is sent.

Qt-free and cheap to import: names resolve lazily (PEP 562), and Pillow, pi-heif and PyAV
load only when first used. That keeps the window's start-up and the transcoding child
process (which imports `app.media.transcode`) light.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

_WHERE = {
    "CorruptMedia": "errors", "MediaCancelled": "errors", "MediaError": "errors",
    "MediaTooLarge": "errors", "UnsupportedMedia": "errors", "VideoTooLong": "errors",
    "check_message_limits": "fitting", "fit_message": "fitting",
    "IntakeOptions": "intake", "PreparedMedia": "intake", "prepare": "intake",
    "prepare_sync": "intake",
    "parse_time_range": "video", "split": "video", "trim": "video",
}

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


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'app.media' has no attribute {name!r}")
    return getattr(import_module(f"app.media.{module}"), name)
