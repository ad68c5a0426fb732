"""Per-message image limits: at most 60 images and 20 MB of images (stepfun-api.md §6.1).

`check_message_limits` only judges; `fit_message` first tries to make a message fit by
recompressing its largest images (JPEG, then smaller), and refuses only when even that fails.
Callers run `fit_message` before adopting the files into the blob store.
"""

from __future__ import annotations

import dataclasses
import io
import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from app import limits
from app.media.errors import MediaTooLarge
from app.media.hashing import unique_path, write_and_hash

if TYPE_CHECKING:
    from PIL.Image import Image

    from app.media.intake import PreparedMedia

# (quality, long side) tried in turn on the images that are over their share of the budget.
_STEPS: tuple[tuple[int, int], ...] = ((80, 4096), (75, 2560), (70, 1600), (65, 1024))
_NOTE = "recompressed to fit the 20 MB of images allowed per message"


def _totals(items: Sequence[PreparedMedia]) -> tuple[int, int]:
    pictures = [item for item in items if item.kind == "image"]
    return len(pictures), sum(item.size for item in pictures)


def check_message_limits(items: Sequence[PreparedMedia]) -> None:
    """Raise MediaTooLarge when one message carries > 60 images or > 20 MB of images."""
    count, total = _totals(items)
    if count > limits.MAX_IMAGES_PER_REQUEST:
        raise MediaTooLarge(
            f"This message has {count} images; at most {limits.MAX_IMAGES_PER_REQUEST} "
            "images can be sent in one message."
        )
    if total > limits.MAX_IMAGE_BYTES_PER_REQUEST:
        raise MediaTooLarge(
            f"The {count} images in this message add up to {total / limits.MB:.1f} MB; at "
            f"most {limits.MAX_IMAGE_BYTES_PER_REQUEST // limits.MB} MB of images can be sent "
            "in one message."
        )


def fit_message(items: Sequence[PreparedMedia], work_dir: Path) -> list[PreparedMedia]:
    """Return `items` with the largest images recompressed until the message fits.

    Images over their fair share of the 20 MB budget are re-encoded as JPEG at falling
    quality and size. A replaced item gets a new file in `work_dir` (its old file there is
    deleted), a new sha256 and a note in `changes`. Videos pass through untouched. Raises
    MediaTooLarge (via check_message_limits) when it still does not fit.
    """
    count, total = _totals(items)
    if count > limits.MAX_IMAGES_PER_REQUEST or total <= limits.MAX_IMAGE_BYTES_PER_REQUEST:
        check_message_limits(items)
        return list(items)
    result = list(items)
    budget = limits.MAX_IMAGE_BYTES_PER_REQUEST * 0.97  # headroom for rounding and framing
    for quality, side in _STEPS:
        _count, total = _totals(result)
        if total <= limits.MAX_IMAGE_BYTES_PER_REQUEST:
            break
        share = budget / count
        for index, item in enumerate(result):
            if item.kind == "image" and item.size > share:
                result[index] = _recompress(item, work_dir, quality, side)
    check_message_limits(result)
    return result


def _recompress(item: PreparedMedia, work_dir: Path, quality: int, side: int) -> PreparedMedia:
    """Re-encode one prepared image (already metadata-free, opaque, sRGB) as a smaller JPEG."""
    from app.media.images import pil

    image_mod = pil()
    with image_mod.open(item.path) as im:
        im.draft("RGB", (side, side))
        work = im.convert("RGB") if im.mode != "L" else im.copy()
    edit = item.edit
    if edit is not None and edit.redactions:
        return _shrink_redacted(item, work, work_dir, side)
    if max(work.size) > side:
        work.thumbnail((side, side), image_mod.Resampling.LANCZOS)
    buf = io.BytesIO()
    work.save(buf, "JPEG", quality=quality)
    data = buf.getvalue()
    if len(data) >= item.size:
        return item
    out = unique_path(work_dir, "fit", "jpg")
    sha256, size = write_and_hash(data, out)
    if item.path.parent.resolve() == work_dir.resolve():
        item.path.unlink(missing_ok=True)
    changes = item.changes if _NOTE in item.changes else (*item.changes, _NOTE)
    return dataclasses.replace(
        item, path=out, sha256=sha256, size=size, mime="image/jpeg", ext="jpg",
        width=work.width, height=work.height, changes=changes,
    )


def _shrink_redacted(item: PreparedMedia, work: Image, work_dir: Path, side: int
                     ) -> PreparedMedia:
    """A redacted image stays PNG (JPEG would blur the fill) and only gets smaller.

    The redactions are filled again after resampling, rounded outwards, so the smaller copy
    is as solid where it matters as the one it replaces.
    """
    from app.media.edit_steps import REDACT_FILL, Box
    from app.media.images import pil, stamp_scaled

    assert item.edit is not None
    if max(work.size) <= side:
        return item
    scale = side / max(work.size)
    size = (max(1, round(work.width * scale)), max(1, round(work.height * scale)))
    if size == work.size:
        return item
    sx, sy = size[0] / work.width, size[1] / work.height
    small = work.convert("RGB").resize(size, pil().Resampling.LANCZOS, reducing_gap=3.0)
    boxes = [(b.x, b.y, b.right, b.bottom) for b in item.edit.redactions]
    stamp_scaled(small, boxes, sx, sy, REDACT_FILL)
    buf = io.BytesIO()
    small.save(buf, "PNG", compress_level=6)
    data = buf.getvalue()
    if len(data) >= item.size:
        return item
    out = unique_path(work_dir, "fit", "png")
    sha256, size_bytes = write_and_hash(data, out)
    if item.path.parent.resolve() == work_dir.resolve():
        item.path.unlink(missing_ok=True)
    changes = item.changes if _NOTE in item.changes else (*item.changes, _NOTE)
    redactions = []
    for left, top, right, bottom in boxes:
        x0, y0 = math.floor(left * sx), math.floor(top * sy)
        box = Box(x0, y0, math.ceil(right * sx) - x0, math.ceil(bottom * sy) - y0)
        redactions.append(box.clip(*size))
    return dataclasses.replace(
        item, path=out, sha256=sha256, size=size_bytes, width=size[0], height=size[1],
        changes=changes, edit=dataclasses.replace(item.edit, redactions=tuple(redactions)),
    )
