"""Flattening edits into pixels with Pillow: one renderer for what is shown and what is sent.

The window's editor displays regions rendered by `render` and intake sends `flatten`'s output,
so the preview is the flattened image, not a look-alike painted by Qt. Every coordinate is
snapped to whole pixels of the full image before it is offset, so rendering a region and
rendering the whole image give identical pixels there.

Edited images are always encoded as PNG: lossy JPEG would smear the border of a redaction
and could leave redacted pixels a shade away from the fill colour; PNG keeps every redacted
pixel exactly `REDACT_FILL` and keeps marks and text crisp (screenshots, the usual case,
compress well as PNG). After any resampling (the API's long-side limit, the thumbnail) the
redactions are filled again, rounded outwards, so no copy shows a blended edge.
"""

from __future__ import annotations

import functools
import io
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from app.media import images
from app.media.edit_steps import (
    REDACT_FILL,
    Arrow,
    Box,
    Callout,
    Crop,
    EditRequest,
    EditSteps,
    Highlight,
    Mark,
    Redact,
    Shape,
    Text,
)

if TYPE_CHECKING:
    from PIL.Image import Image

HIGHLIGHT_ALPHA = 110  # of 255: a marker pen, the text underneath stays readable
PNG_LEVEL = 6
BASE_PNG_LEVEL = 1  # the local copy edits are stored against: fast to write, read rarely


@dataclass(frozen=True, slots=True)
class EditedImage:
    """An image with its edits flattened, ready to hash and send, and what "Edit again" needs.

    `base` is the PNG the `base_steps` apply to: the unedited original when the user kept
    it, otherwise the original with redactions and crop burnt in (and the marks re-based).
    `redactions` are in pixels of `data`, for whoever resamples it later.
    """

    data: bytes
    width: int
    height: int
    changes: tuple[str, ...]
    thumbnail: bytes
    redactions: tuple[Box, ...]
    base: bytes
    base_steps: EditSteps
    original_kept: bool
    hints: tuple[str, ...]


def load_base(data: bytes, name: str) -> tuple[Image, tuple[str, ...]]:
    """The image edits apply to (upright, opaque sRGB, first frame) and notes on it."""
    return images.decode_upright(data, name)


def prepare_edited(data: bytes, name: str, request: EditRequest) -> EditedImage:
    """Decode, apply the steps at full resolution, then the usual limits; encode as PNG."""
    base, notes = load_base(data, name)
    steps = request.steps.fit_to(base.width, base.height)
    flat = flatten(base, steps)
    crop = steps.crop() or Box(0, 0, base.width, base.height)
    boxes = [r.clip(base.width, base.height) for r in steps.redactions()]
    sent_boxes = [Box(b.x - crop.x, b.y - crop.y, b.w, b.h).clip(flat.width, flat.height)
                  for b in boxes]
    sent_boxes = [b for b in sent_boxes if not b.empty()]
    changes = [*notes, f"edited: {steps.summary()}" if steps else "opened in the editor",
               *steps.hints]
    target = images.fit_long_side(flat.width, flat.height)
    if target != flat.size:
        sx, sy = target[0] / flat.width, target[1] / flat.height
        changes.append(f"resized {flat.width}×{flat.height} → {target[0]}×{target[1]}")
        flat = flat.resize(target, images.pil().Resampling.LANCZOS, reducing_gap=3.0)
        images.stamp_scaled(flat, _corners(sent_boxes), sx, sy, REDACT_FILL)
        sent_boxes = [_scaled_out(b, sx, sy, flat.width, flat.height) for b in sent_boxes]
    out = _png(flat, PNG_LEVEL)
    thumb = images.thumbnail_png(flat, _corners(sent_boxes), REDACT_FILL)
    if request.keep_original or not steps.destructive():
        stored, stored_steps = base, steps
    else:
        stored = flatten(base, EditSteps(tuple(
            s for s in steps.steps if isinstance(s, Redact | Crop))))
        stored_steps = EditSteps(tuple(steps.marks())).shifted(-crop.x, -crop.y)
    return EditedImage(out, flat.width, flat.height, tuple(changes), thumb, tuple(sent_boxes),
                       _png(stored, BASE_PNG_LEVEL), stored_steps,
                       request.keep_original and steps.destructive(), steps.hints)


def flatten(base: Image, steps: EditSteps) -> Image:
    """The whole image with every step applied at full resolution (crop last)."""
    drawn = render(base, steps)
    crop = steps.crop()
    if crop is None:
        return drawn
    box = crop.clip(base.width, base.height)
    return drawn.crop((box.x, box.y, box.right, box.bottom))


def render(base: Image, steps: EditSteps, *, region: Box | None = None,
           scale: float = 1.0) -> Image:
    """Marks, then redactions, drawn on a copy of `base` (or of `region` of it); no crop.

    `base` may be the image scaled by `scale` (the editor shows huge images smaller);
    `region` is in `base` pixels; step coordinates are always full-resolution pixels.
    """
    region = region or Box(0, 0, base.width, base.height)
    out = base.crop((region.x, region.y, region.right, region.bottom))
    if out.mode != "RGB":
        out = out.convert("RGB")
    pen = _Pen(out, region.x, region.y, scale)
    number = 0
    for mark in steps.marks():
        if isinstance(mark, Callout):
            number += 1
            pen.callout(mark, number)
        else:
            pen.mark(mark)
    for box in steps.redactions():
        pen.redact(box)
    return out


def ink_mask(mark: Shape | Arrow, region: Box, scale: float = 1.0) -> Image:
    """Where `mark` puts its ink in `region` (as in `render`): 1 there, 0 elsewhere ("L").

    A rectangle, ellipse or arrow is one opaque colour with no blending, so drawing it last
    over a picture sets exactly these pixels to its colour: the editor adds one to what it
    shows without drawing the image and every mark under it again."""
    out = images.pil().new("L", (region.w, region.h), 0)
    _Pen(out, region.x, region.y, scale, ink=1).mark(mark)
    return out


def to_png(im: Image) -> bytes:
    return _png(im, PNG_LEVEL)


# -- drawing -----------------------------------------------------------------------------


def _snap(value: float) -> int:
    return math.floor(value + 0.5)


def _corners(boxes: list[Box]) -> list[tuple[int, int, int, int]]:
    return [(b.x, b.y, b.right, b.bottom) for b in boxes]


def _scaled_out(box: Box, sx: float, sy: float, width: int, height: int) -> Box:
    x0, y0 = math.floor(box.x * sx), math.floor(box.y * sy)
    x1, y1 = math.ceil(box.right * sx), math.ceil(box.bottom * sy)
    return Box(x0, y0, x1 - x0, y1 - y0).clip(width, height)


def _runs_meeting(points: list[tuple[int, int]], pad: int, area: tuple[int, int, int, int]
                  ) -> list[list[tuple[int, int]]]:
    """The parts of a polyline that can touch `area` (left, top, right, bottom), each with
    one more segment either side, so every joint drawn there is drawn as in the whole line.

    Pillow draws each segment of a wide line on its own and each joint from its two
    segments only, so drawing these parts gives the pixels drawing the whole line gives,
    and a small region of a long highlighter stroke costs a few segments, not all."""
    left, top, right, bottom = area

    def meets(a: tuple[int, int], b: tuple[int, int]) -> bool:
        return (min(a[0], b[0]) - pad < right and max(a[0], b[0]) + pad >= left
                and min(a[1], b[1]) - pad < bottom and max(a[1], b[1]) + pad >= top)

    runs: list[list[tuple[int, int]]] = []
    start = None
    for index in range(len(points)):  # segment `index` joins points index and index + 1
        touching = index + 1 < len(points) and meets(points[index], points[index + 1])
        if touching and start is None:
            start = index
        elif not touching and start is not None:
            runs.append(points[max(0, start - 1):index + 2])
            start = None
    return runs


def _png(im: Image, level: int) -> bytes:
    buf = io.BytesIO()
    im.info = {}
    im.save(buf, "PNG", compress_level=level)
    return buf.getvalue()


@functools.lru_cache(maxsize=64)
def font(size: int) -> Any:
    """Pillow's bundled scalable font: the same glyphs on every machine, no system lookup."""
    from PIL import ImageFont

    return ImageFont.load_default(size=max(4, size))


def _rgb(color: str) -> tuple[int, int, int]:
    return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)


def _contrast(rgb: tuple[int, int, int]) -> tuple[int, int, int]:
    """White behind dark ink, black behind light ink: labels stay readable on any background."""
    r, g, b = rgb
    return (0, 0, 0) if 0.299 * r + 0.587 * g + 0.114 * b > 150 else (255, 255, 255)


class _Pen:
    """Draws steps onto `out`, which shows the base image from (ox, oy) at `scale`.

    `ink`: draw shapes and arrows in this value instead of their colour (a mask)."""

    def __init__(self, out: Image, ox: int, oy: int, scale: float,
                 ink: int | None = None) -> None:
        from PIL import ImageDraw

        self.out = out
        self.ox, self.oy, self.scale = ox, oy, scale
        self.draw = ImageDraw.Draw(out)
        self._ink = ink

    def ink(self, color: str) -> int | tuple[int, int, int]:
        return _rgb(color) if self._ink is None else self._ink

    def x(self, value: float) -> int:
        return _snap(value * self.scale) - self.ox

    def y(self, value: float) -> int:
        return _snap(value * self.scale) - self.oy

    def size(self, value: int) -> int:
        return max(1, _snap(value * self.scale))

    def mark(self, mark: Mark) -> None:
        if isinstance(mark, Shape):
            box = (self.x(mark.box.x), self.y(mark.box.y),
                   self.x(mark.box.right) - 1, self.y(mark.box.bottom) - 1)
            if box[2] < box[0] or box[3] < box[1]:
                return
            draw = self.draw.rectangle if mark.kind == "rect" else self.draw.ellipse
            draw(box, outline=self.ink(mark.color), width=self.size(mark.width))
        elif isinstance(mark, Arrow):
            self._arrow(mark)
        elif isinstance(mark, Highlight):
            self._highlight(mark)
        elif isinstance(mark, Text):
            size = self.size(mark.size)
            ink = _rgb(mark.color)
            self.draw.text((self.x(mark.x), self.y(mark.y)), mark.text, fill=ink,
                           font=font(size), stroke_width=max(1, size // 14),
                           stroke_fill=_contrast(ink))

    def _arrow(self, arrow: Arrow) -> None:
        dx, dy = arrow.x2 - arrow.x1, arrow.y2 - arrow.y1
        length = math.hypot(dx, dy)
        ink = self.ink(arrow.color)
        if length < 1:
            return
        ux, uy = dx / length, dy / length
        head = min(max(4 * arrow.width, 12), length)
        bx, by = arrow.x2 - ux * head, arrow.y2 - uy * head
        half = head * 0.5
        # Snapped in full-resolution pixels first, so any region renders the same head.
        wings = [(_snap(bx - uy * half), _snap(by + ux * half)),
                 (_snap(bx + uy * half), _snap(by - ux * half))]
        tip = (arrow.x2, arrow.y2)
        neck = (_snap(bx + ux * head * 0.3), _snap(by + uy * head * 0.3))
        self.draw.line([(self.x(arrow.x1), self.y(arrow.y1)), (self.x(neck[0]), self.y(neck[1]))],
                       fill=ink, width=self.size(arrow.width))
        self.draw.polygon([(self.x(px), self.y(py)) for px, py in (tip, *wings)], fill=ink)

    def _highlight(self, stroke: Highlight) -> None:
        from PIL import Image, ImageDraw

        width = self.size(stroke.width)
        points = [(self.x(px), self.y(py)) for px, py in stroke.points]
        pad = width // 2 + 2
        # The mask starts where the stroke starts, even left of or above `out`: the points
        # then have the same mask coordinates whichever region is drawn, so Pillow rounds
        # them the same way and a region gets exactly the whole image's pixels.
        sx, sy = min(p[0] for p in points) - pad, min(p[1] for p in points) - pad
        x0, y0 = max(0, sx), max(0, sy)
        x1 = min(self.out.width, max(p[0] for p in points) + pad + 1)
        y1 = min(self.out.height, max(p[1] for p in points) + pad + 1)
        if x1 <= x0 or y1 <= y0:
            return
        # One mask per stroke: where the stroke crosses itself it is not darker.
        mask = Image.new("L", (x1 - sx, y1 - sy), 0)
        pen = ImageDraw.Draw(mask)
        local = [(px - sx, py - sy) for px, py in points]
        for run in _runs_meeting(local, pad, (x0 - sx, y0 - sy, x1 - sx, y1 - sy)):
            pen.line(run, fill=HIGHLIGHT_ALPHA, width=width, joint="curve")
        radius = width / 2
        for px, py in (local[0], local[-1]):  # round caps
            pen.ellipse((px - radius, py - radius, px + radius, py + radius),
                        fill=HIGHLIGHT_ALPHA)
        self.out.paste(_rgb(stroke.color), (x0, y0, x1, y1),
                       mask.crop((x0 - sx, y0 - sy, x1 - sx, y1 - sy)))

    def callout(self, callout: Callout, number: int) -> None:
        radius = self.size(callout.size)
        cx, cy = self.x(callout.x), self.y(callout.y)
        ink = _rgb(callout.color)
        self.draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=ink,
                          outline=(255, 255, 255), width=max(1, radius // 7))
        self.draw.text((cx, cy), str(number), fill=_contrast(ink),
                       font=font(round(radius * (1.2 if number < 10 else 0.95))), anchor="mm")
        label = callout.label.strip()
        if label:
            size = max(6, round(radius * 1.2))
            self.draw.text((cx + radius + max(2, radius // 2), cy), label, fill=ink,
                           font=font(size), anchor="lm", stroke_width=max(1, size // 14),
                           stroke_fill=_contrast(ink))

    def redact(self, box: Box) -> None:
        x0 = max(0, math.floor(box.x * self.scale) - self.ox)
        y0 = max(0, math.floor(box.y * self.scale) - self.oy)
        x1 = min(self.out.width, math.ceil(box.right * self.scale) - self.ox)
        y1 = min(self.out.height, math.ceil(box.bottom * self.scale) - self.oy)
        if x1 > x0 and y1 > y0:
            self.out.paste(REDACT_FILL, (x0, y0, x1, y1))
