"""An image opened for editing: the pixels the editor shows and how to redraw a part of them.

The window's editor keeps no drawing code of its own: every pixel it shows comes from
`annotate.render` through `rgbx_pieces` (or, for a shape or arrow added last, from where
`annotate.ink_mask` says its one colour goes), so what is on screen is what intake will send
(the crop aside, which the editor shows as a frame). Huge images are shown reduced to at most
`EDIT_MAX_PIXELS`; step coordinates stay in full-resolution pixels either way.
Qt-free: the widget turns the raw bytes into QImages itself.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from app.media import annotate
from app.media.edit_steps import (
    NO_EDITS,
    Arrow,
    Box,
    Callout,
    Crop,
    EditSteps,
    Highlight,
    Redact,
    Shape,
    Step,
    Text,
)

if TYPE_CHECKING:
    from PIL.Image import Image

EDIT_MAX_PIXELS = 4096 * 4096
"""Above this the editor shows a reduced copy: a 50-megapixel photo would make every
repaint and every region render slow, and nobody marks up single pixels of it."""


@dataclass(slots=True)
class EditSession:
    """`view` is the image as shown (`scale` view pixels per full pixel)."""

    full_width: int
    full_height: int
    view: Image
    scale: float
    notes: tuple[str, ...]
    steps: EditSteps

    @classmethod
    def open(cls, data: bytes, name: str, steps: EditSteps = NO_EDITS) -> EditSession:
        """Decode (blocking: call from a worker) the image that `steps` apply to."""
        base, notes = annotate.load_base(data, name)
        return cls.for_image(base, notes, steps)

    @classmethod
    def for_pixels(cls, pixels: bytes | bytearray | memoryview, width: int, height: int,
                   stride: int, layout: str, steps: EditSteps = NO_EDITS) -> EditSession:
        """An image already decoded elsewhere (the window's decoder): `pixels` holds `height`
        rows of `stride` bytes, four per pixel in `layout` ("BGRX", "XRGB", …); copied."""
        base = annotate.images.pil().frombuffer("RGB", (width, height), pixels, "raw", layout,
                                                stride, 1)
        return cls.for_image(base, (), steps)

    @classmethod
    def for_image(cls, base: Image, notes: tuple[str, ...] = (),
                  steps: EditSteps = NO_EDITS) -> EditSession:
        width, height = base.size
        scale = 1.0
        view = base
        if width * height > EDIT_MAX_PIXELS:
            scale = math.sqrt(EDIT_MAX_PIXELS / (width * height))
            size = (max(1, int(width * scale)), max(1, int(height * scale)))
            view = base.resize(size, annotate.images.pil().Resampling.BILINEAR,
                               reducing_gap=2.0)
            scale = size[0] / width
            notes = (*notes, f"shown at {size[0]}×{size[1]} for editing; edits apply to all "
                             f"{width}×{height} pixels")
        return cls(width, height, view, scale, notes, steps.fit_to(width, height)
                   if steps else steps)

    def rgbx(self, steps: EditSteps, box: Box | None = None) -> tuple[bytes, Box]:
        """RGBX bytes of `box` (view pixels; default all) with `steps` drawn, and the box."""
        region = (box or Box(0, 0, self.view.width, self.view.height)).clip(
            self.view.width, self.view.height)
        if region.empty():
            return b"", region
        if not steps and region == Box(0, 0, self.view.width, self.view.height):
            return self.view.tobytes("raw", "RGBX"), region  # opening: no copy to draw on
        [piece] = self.rgbx_pieces(steps, [region])
        return piece

    def rgbx_pieces(self, steps: EditSteps, boxes: list[Box]) -> list[tuple[bytes, Box]]:
        """`rgbx` of each box (view pixels) that is not empty once clipped to the view.

        Each piece draws only the steps that can touch it; their bounds are worked out once
        for all the pieces, as a large ellipse is redrawn as some fifty bands."""
        reach = [(s, None if isinstance(s, Callout) else bounds(s)) for s in steps.steps]
        out = []
        for box in boxes:
            region = box.clip(self.view.width, self.view.height)
            if region.empty():
                continue
            # Callouts all stay: their numbers are their places among the callouts.
            full = self._full_box(region)
            touching = EditSteps(tuple(s for s, b in reach if b is None or _meets(b, full)))
            drawn = annotate.render(self.view, touching, region=region, scale=self.scale)
            out.append((drawn.tobytes("raw", "RGBX"), region))
        return out

    def ink_pieces(self, mark: Shape | Arrow, boxes: list[Box]) -> list[tuple[bytes, Box]]:
        """For each box (view pixels) not empty once clipped, one byte a pixel: 1 where
        `mark` puts its ink (`annotate.ink_mask`), else 0. One mask is drawn for them all."""
        regions = [r for r in (b.clip(self.view.width, self.view.height) for b in boxes)
                   if not r.empty()]
        whole = union(regions)
        if whole is None:
            return []
        mask = annotate.ink_mask(mark, whole, self.scale)
        return [(mask.crop((r.x - whole.x, r.y - whole.y, r.right - whole.x,
                            r.bottom - whole.y)).tobytes(), r)
                for r in regions]

    def _full_box(self, region: Box) -> Box:
        """A view-pixel region in full-resolution pixels, with a margin for rounding."""
        return Box(math.floor(region.x / self.scale) - 2, math.floor(region.y / self.scale) - 2,
                   math.ceil(region.w / self.scale) + 4, math.ceil(region.h / self.scale) + 4)

    def view_box(self, box: Box, margin: int = 2) -> Box:
        """A full-resolution box in view pixels, rounded outwards (and `margin` more),
        clipped to the view. With no margin, a redaction's box is exactly the view pixels
        `annotate` fills for it."""
        x0, y0 = math.floor(box.x * self.scale), math.floor(box.y * self.scale)
        x1, y1 = math.ceil(box.right * self.scale), math.ceil(box.bottom * self.scale)
        return Box(x0 - margin, y0 - margin, x1 - x0 + 2 * margin,
                   y1 - y0 + 2 * margin).clip(self.view.width, self.view.height)


def bounds(step: Step, number: int = 1) -> Box:
    """A box (full-resolution pixels) that holds every pixel `step` can touch, generously."""
    if isinstance(step, Crop | Redact):
        return step.box
    if isinstance(step, Shape):
        pad = step.width + 2
        return _grow(step.box, pad)
    if isinstance(step, Arrow):
        pad = max(4 * step.width, 12) + step.width + 2
        return _span([(step.x1, step.y1), (step.x2, step.y2)], pad)
    if isinstance(step, Highlight):
        return _span(list(step.points), step.width // 2 + 4)
    if isinstance(step, Text):
        left, top, right, bottom = annotate.font(step.size).getbbox(step.text)
        pad = step.size // 7 + 4
        return Box(step.x + left - pad, step.y + top - pad, right - left + 2 * pad,
                   bottom - top + 2 * pad)
    return _callout_bounds(step, number)


def _callout_bounds(step: Callout, number: int) -> Box:
    radius = step.size
    right = step.x + radius + 2
    height = radius
    if step.label.strip():
        size = max(6, round(radius * 1.2))
        right += max(2, radius // 2) + int(annotate.font(size).getlength(step.label.strip()))
        right += size // 7 + 4
        height = max(radius, size)
    pad = 4 + max(1, radius // 7)
    return Box(step.x - radius - pad, step.y - height - pad, right - (step.x - radius) + 2 * pad,
               2 * height + 2 * pad)


def _grow(box: Box, pad: int) -> Box:
    return Box(box.x - pad, box.y - pad, box.w + 2 * pad, box.h + 2 * pad)


def _span(points: list[tuple[int, int]], pad: int) -> Box:
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    return Box(min(xs) - pad, min(ys) - pad, max(xs) - min(xs) + 2 * pad + 1,
               max(ys) - min(ys) + 2 * pad + 1)


def _meets(a: Box, b: Box) -> bool:
    return a.x < b.right and b.x < a.right and a.y < b.bottom and b.y < a.bottom


def union(boxes: list[Box]) -> Box | None:
    boxes = [b for b in boxes if not b.empty()]
    if not boxes:
        return None
    x0, y0 = min(b.x for b in boxes), min(b.y for b in boxes)
    x1, y1 = max(b.right for b in boxes), max(b.bottom for b in boxes)
    return Box(x0, y0, x1 - x0, y1 - y0)


PIECE = 160
"""Long thin marks are split into pieces about this long: a rectangle round a whole 4K
screenshot changes a frame of pixels, and re-rendering only that frame keeps a stroke
within a frame's time."""


def dirty_boxes(step: Step, number: int = 1) -> list[Box]:
    """Boxes (full-resolution pixels, generous) that together hold every pixel `step` can
    touch: its `bounds`, or for a large outline or a long arrow, pieces along it."""
    whole = bounds(step, number)
    if whole.w * whole.h <= 4 * PIECE * PIECE:
        return [whole]
    if isinstance(step, Shape):
        return (_frame if step.kind == "rect" else _ellipse_bands)(step, whole)
    if isinstance(step, Arrow):
        head = max(4 * step.width, 12) + step.width + 2
        return [_span([(step.x2, step.y2)], head),
                *_along([(step.x1, step.y1), (step.x2, step.y2)], step.width // 2 + 4)]
    return [whole]  # a highlight is one mask from its first corner: pieces cost as much


def _frame(step: Shape, whole: Box) -> list[Box]:
    band = 2 * (step.width + 2) + step.width  # the outline drawn inwards, plus the margin
    if 2 * band >= min(whole.w, whole.h):
        return [whole]
    return [Box(whole.x, whole.y, whole.w, band), Box(whole.x, whole.bottom - band, whole.w, band),
            Box(whole.x, whole.y, band, whole.h), Box(whole.right - band, whole.y, band, whole.h)]


def _ellipse_bands(step: Shape, whole: Box) -> list[Box]:
    """Horizontal bands; in each, the part between the outer edge of the margin and the
    inside of the drawn outline (one piece across, or one each side)."""
    pad = step.width + 2
    cx, cy = step.box.x + step.box.w / 2, step.box.y + step.box.h / 2
    outer_a, outer_b = step.box.w / 2 + pad, step.box.h / 2 + pad
    inner_a, inner_b = step.box.w / 2 - step.width - pad, step.box.h / 2 - step.width - pad
    out = []
    for top in range(whole.y, whole.bottom, PIECE // 2):
        bottom = min(whole.bottom, top + PIECE // 2)
        near = min(abs(top - cy), abs(bottom - cy)) if not top <= cy <= bottom else 0.0
        far = max(abs(top - cy), abs(bottom - cy))
        reach = _half_width(outer_a, outer_b, near)
        hole = _half_width(inner_a, inner_b, far) if inner_a > 0 and inner_b > 0 else 0.0
        x0, x1 = math.floor(cx - reach) - 1, math.ceil(cx + reach) + 1
        if hole < 2:
            out.append(Box(x0, top, x1 - x0, bottom - top))
            continue
        h0, h1 = math.ceil(cx - hole) + 1, math.floor(cx + hole) - 1
        out += [Box(x0, top, h0 - x0, bottom - top), Box(h1, top, x1 - h1, bottom - top)]
    return out


def _half_width(a: float, b: float, dy: float) -> float:
    return a * math.sqrt(max(0.0, 1 - (dy / b) ** 2)) if dy < b else 0.0


def _along(points: list[tuple[int, int]], pad: int) -> list[Box]:
    """Boxes round consecutive runs of a polyline, each run at most about `PIECE` long."""
    out = []
    run = [points[0]]
    for a, b in itertools.pairwise(points):
        steps = max(1, math.ceil(math.hypot(b[0] - a[0], b[1] - a[1]) / PIECE))
        for k in range(1, steps + 1):
            point = (round(a[0] + (b[0] - a[0]) * k / steps),
                     round(a[1] + (b[1] - a[1]) * k / steps))
            run.append(point)
            xs, ys = [p[0] for p in run], [p[1] for p in run]
            if max(xs) - min(xs) >= PIECE or max(ys) - min(ys) >= PIECE:
                out.append(_span(run, pad))
                run = [point]
    if len(run) > 1 or not out:
        out.append(_span(run, pad))
    return out


def changed_boxes(before: EditSteps, after: EditSteps) -> list[Box]:
    """Full-resolution boxes that together hold every pixel that differs between two step
    lists: those of the steps in one list and not the other, plus every callout when the
    callouts changed (their numbers depend on their order)."""
    old, new = list(before.steps), list(after.steps)
    changed = [s for s in old if s not in new] + [s for s in new if s not in old]
    if not changed:
        changed = old[len(new):] + new[len(old):]
    boxes = [b for s in changed if not isinstance(s, Crop) for b in dirty_boxes(s)]
    if before.callouts() != after.callouts():
        boxes += [bounds(c) for c in before.callouts() + after.callouts()]
    return [b for b in boxes if not b.empty()]
