"""Every documented API limit in one place, conservative, in bytes, pixels and seconds.

Imported by media intake, the chat engine and the test stand-in, so the three never disagree.
Sources: ../shared/stepfun-api.md §3 and §6. Where the docs say "20 MB" we read decimal
megabytes-or-less-than-mebibytes conservatively (the smaller of the two readings).
"""

from typing import Final

MB: Final = 1_000_000

# Images (per request, history included; the media pipeline applies the same per message).
IMAGE_MIMES: Final = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
MAX_IMAGES_PER_REQUEST: Final = 60
MAX_IMAGE_BYTES_PER_REQUEST: Final = 20 * MB
MAX_IMAGE_LONG_SIDE: Final = 4096
# Decompression-bomb guard: we refuse to decode anything larger than this many pixels.
MAX_DECODE_PIXELS: Final = 180_000_000

# Video.
VIDEO_MIMES: Final = frozenset({"video/mp4"})
MAX_VIDEO_BYTES: Final = 128 * MB - 1  # "< 128 MB"
MAX_VIDEO_SECONDS: Final = 300.0  # 300 s or longer is refused ("≤ 5 minutes recommended")

# Files API.
MAX_UPLOAD_BYTES: Final = 128 * MB
MAX_FILES_PER_ACCOUNT: Final = 1000

# Thumbnails shown in the UI and history.
THUMBNAIL_SIDE: Final = 256
