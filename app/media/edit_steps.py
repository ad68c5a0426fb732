"""The edit-step model: what the user drew on an image, as plain data.

Both front ends produce it (the window's editor, `stepdesk ask --redact …`), SQLite keeps it
as JSON beside the attachment so "Edit again" can reopen it, and `app.media.annotate` turns it
into pixels. It is Qt-free and Pillow-free, so parsing a stored edit costs nothing.

Coordinates are always in pixels of the *whole, upright* image the steps apply to, never in
screen or crop coordinates: a crop is one step among others and is applied last, so later
steps keep meaning the same pixels. Redactions are drawn after every other mark (nothing can
be painted over them) and before the crop.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar, Literal

from app.media.errors import MediaError

SCHEMA_VERSION = 1
MAX_STEPS = 1000
MAX_POINTS = 20_000  # per freehand highlight
MAX_TEXT = 500
MAX_COORD = 1_000_000
MAX_WIDTH = 400
MAX_FONT = 600
REDACT_FILL = (0, 0, 0)
"""Redactions are opaque black: the one colour a viewer can never mistake for content."""

_COLOR_RE = re.compile(r"#[0-9a-fA-F]{6}")


class EditError(MediaError):
    """An edit that cannot be applied; the message is one sentence for the user."""


@dataclass(frozen=True, slots=True)
class Box:
    """A rectangle in image pixels: left, top, width, height (all whole numbers)."""

    x: int
    y: int
    w: int
    h: int

    @property
    def right(self) -> int:
        return self.x + self.w

    @property
    def bottom(self) -> int:
        return self.y + self.h

    def empty(self) -> bool:
        return self.w <= 0 or self.h <= 0

    def clip(self, width: int, height: int) -> Box:
        """The part of this box inside a width × height image (possibly empty)."""
        x0, y0 = max(0, self.x), max(0, self.y)
        x1, y1 = min(width, self.right), min(height, self.bottom)
        return Box(x0, y0, max(0, x1 - x0), max(0, y1 - y0))

    def text(self) -> str:
        return f"{self.x},{self.y},{self.w},{self.h}"


@dataclass(frozen=True, slots=True)
class Shape:
    """An outlined rectangle or ellipse inside `box`."""

    kind: Literal["rect", "ellipse"]
    box: Box
    color: str = "#e53935"
    width: int = 4


@dataclass(frozen=True, slots=True)
class Arrow:
    """A line from (x1, y1) with an arrowhead at (x2, y2)."""

    x1: int
    y1: int
    x2: int
    y2: int
    color: str = "#e53935"
    width: int = 4
    kind: ClassVar[str] = "arrow"


@dataclass(frozen=True, slots=True)
class Highlight:
    """A translucent freehand marker stroke through `points`."""

    points: tuple[tuple[int, int], ...]
    color: str = "#fdd835"
    width: int = 24
    kind: ClassVar[str] = "highlight"


@dataclass(frozen=True, slots=True)
class Text:
    """A text label whose top-left corner is at (x, y); `size` is the font size in pixels."""

    x: int
    y: int
    text: str
    color: str = "#e53935"
    size: int = 28
    kind: ClassVar[str] = "text"


@dataclass(frozen=True, slots=True)
class Callout:
    """A numbered marker centred on (x, y); its number is its place among the callouts.

    `label` is what the user said the marker means: drawn beside it and put in the legend
    the model reads."""

    x: int
    y: int
    label: str = ""
    color: str = "#e53935"
    size: int = 18  # radius in pixels
    kind: ClassVar[str] = "callout"


@dataclass(frozen=True, slots=True)
class Crop:
    """Keep only `box` (applied after everything else; the last crop wins)."""

    box: Box
    kind: ClassVar[str] = "crop"


@dataclass(frozen=True, slots=True)
class Redact:
    """An opaque filled rectangle (`REDACT_FILL`) over what must not leave the machine."""

    box: Box
    kind: ClassVar[str] = "redact"


Mark = Shape | Arrow | Highlight | Text | Callout
Step = Mark | Crop | Redact


@dataclass(frozen=True, slots=True)
class EditSteps:
    """Every step in the order the user made them."""

    steps: tuple[Step, ...] = ()
    hints: tuple[str, ...] = field(default=(), compare=False)  # notes from `fit_to`

    def __bool__(self) -> bool:
        return bool(self.steps)

    def marks(self) -> list[Mark]:
        return [s for s in self.steps if not isinstance(s, Crop | Redact)]

    def redactions(self) -> list[Box]:
        return [s.box for s in self.steps if isinstance(s, Redact)]

    def crop(self) -> Box | None:
        crops = [s.box for s in self.steps if isinstance(s, Crop)]
        return crops[-1] if crops else None

    def callouts(self) -> list[Callout]:
        return [s for s in self.steps if isinstance(s, Callout)]

    def destructive(self) -> bool:
        """Whether applying these steps removes pixels for good (redact or crop)."""
        return any(isinstance(s, Crop | Redact) for s in self.steps)

    def summary(self) -> str:
        """"2 marks, 1 redaction, cropped" for the tray and `--verbose`."""
        parts = []
        marks, redactions = len(self.marks()), len(self.redactions())
        if marks:
            parts.append(f"{marks} mark{'s' if marks != 1 else ''}")
        if redactions:
            parts.append(f"{redactions} redaction{'s' if redactions != 1 else ''}")
        if self.crop() is not None:
            parts.append("cropped")
        return ", ".join(parts)

    def fit_to(self, width: int, height: int) -> EditSteps:
        """Clip redactions and crops to a width × height image, drop empty ones with a hint.

        Raises EditError when the crop leaves nothing of the image.
        """
        kept: list[Step] = []
        hints: list[str] = []
        for step in self.steps:
            step = _auto_size(step, scale_for(width, height))
            if isinstance(step, Crop | Redact | Shape):
                name = {"crop": "crop", "redact": "redaction"}.get(step.kind, step.kind)
                if step.box.empty():
                    hints.append(f"ignored an empty {name} at {step.box.text()} "
                                 "(it has no width or height)")
                    continue
                if isinstance(step, Crop | Redact):
                    clipped = step.box.clip(width, height)
                    if clipped.empty():
                        if isinstance(step, Crop):
                            raise EditError(
                                f"The crop {step.box.text()} lies outside the {width}×{height} "
                                "image; nothing would be left to send.")
                        hints.append(f"ignored a redaction at {step.box.text()} outside the "
                                     f"{width}×{height} image")
                        continue
                    if clipped != step.box:
                        hints.append(f"clipped the {name} {step.box.text()} to the image "
                                     f"({clipped.text()})")
                    step = replace(step, box=clipped)
            kept.append(step)
        return EditSteps(tuple(kept), tuple(hints))

    def shifted(self, dx: int, dy: int) -> EditSteps:
        """The marks moved by (dx, dy): for steps re-based onto a cropped image."""
        return EditSteps(tuple(_shift(s, dx, dy) for s in self.steps), self.hints)

    def to_json(self) -> str:
        return json.dumps({"version": SCHEMA_VERSION,
                           "steps": [_step_dict(s) for s in self.steps]},
                          separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str | bytes) -> EditSteps:
        """Parse and validate stored or imported steps; anything odd is one EditError."""
        try:
            data = json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise EditError(f"The image edits are not valid JSON ({_short(exc)}).") from None
        if not isinstance(data, dict):
            raise EditError("The image edits must be a JSON object with a version and steps.")
        version = data.get("version")
        if type(version) is not int or version != SCHEMA_VERSION:
            raise EditError(f"The image edits have version {version!r}; this Step Desk reads "
                            f"version {SCHEMA_VERSION}.")
        steps = data.get("steps")
        if not isinstance(steps, list):
            raise EditError("The image edits have no list of steps.")
        if len(steps) > MAX_STEPS:
            raise EditError(f"The image edits have {len(steps)} steps; at most {MAX_STEPS} "
                            "are allowed.")
        return cls(tuple(_parse_step(raw, index) for index, raw in enumerate(steps, 1)))


NO_EDITS = EditSteps()


@dataclass(frozen=True, slots=True)
class EditRequest:
    """What intake is asked to apply: the steps, and whether to keep the unedited original.

    Without `keep_original` the local copy the steps are stored against has the redactions
    and the crop burnt in, so the hidden pixels exist nowhere once the image is sent."""

    steps: EditSteps
    keep_original: bool = False


def _short(exc: BaseException) -> str:
    return str(exc).split("\n")[0][:80] or type(exc).__name__


def _auto_size(step: Step, scale: int) -> Step:
    """Width or size 0 (the CLI's default) means "what suits an image this size"."""
    if isinstance(step, Shape | Arrow) and step.width == 0:
        return replace(step, width=3 * scale)
    if isinstance(step, Callout | Text) and step.size == 0:
        return replace(step, size=(14 if isinstance(step, Callout) else 24) * scale)
    return step


def _shift(step: Step, dx: int, dy: int) -> Step:
    if isinstance(step, Shape | Crop | Redact):
        return replace(step, box=Box(step.box.x + dx, step.box.y + dy, step.box.w, step.box.h))
    if isinstance(step, Arrow):
        return replace(step, x1=step.x1 + dx, y1=step.y1 + dy, x2=step.x2 + dx, y2=step.y2 + dy)
    if isinstance(step, Highlight):
        return replace(step, points=tuple((x + dx, y + dy) for x, y in step.points))
    return replace(step, x=step.x + dx, y=step.y + dy)


# -- JSON ------------------------------------------------------------------------------------


def _step_dict(step: Step) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": step.kind}
    if isinstance(step, Shape | Crop | Redact):
        out.update(x=step.box.x, y=step.box.y, w=step.box.w, h=step.box.h)
        if isinstance(step, Shape):
            out.update(color=step.color, width=step.width)
    elif isinstance(step, Arrow):
        out.update(x1=step.x1, y1=step.y1, x2=step.x2, y2=step.y2, color=step.color,
                   width=step.width)
    elif isinstance(step, Highlight):
        out.update(points=[list(p) for p in step.points], color=step.color, width=step.width)
    elif isinstance(step, Text):
        out.update(x=step.x, y=step.y, text=step.text, color=step.color, size=step.size)
    else:
        out.update(x=step.x, y=step.y, label=step.label, color=step.color, size=step.size)
    return out


class _Reader:
    """Typed, bounded field access for one step dict; failures name the step and field."""

    def __init__(self, raw: object, index: int) -> None:
        if not isinstance(raw, dict):
            raise EditError(f"Edit step {index} is not an object.")
        self.raw = raw
        self.where = f"Edit step {index} ({str(raw.get('kind'))[:20]})"

    def int(self, key: str, low: int = -MAX_COORD, high: int = MAX_COORD) -> int:
        value = self.raw.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float) or \
                (isinstance(value, float) and (not math.isfinite(value) or value != int(value))):
            raise EditError(f"{self.where}: “{key}” must be a whole number of pixels.")
        if not low <= value <= high:
            raise EditError(f"{self.where}: “{key}” is {value}, outside {low}…{high}.")
        return int(value)

    def color(self, default: str) -> str:
        value = self.raw.get("color", default)
        if not isinstance(value, str) or not _COLOR_RE.fullmatch(value):
            raise EditError(f"{self.where}: “color” must look like #rrggbb.")
        return value.lower()

    def text(self, key: str, *, required: bool) -> str:
        value = self.raw.get(key, "")
        if not isinstance(value, str) or len(value) > MAX_TEXT or (required and not value.strip()):
            raise EditError(f"{self.where}: “{key}” must be text of at most {MAX_TEXT} "
                            "characters" + (" and not empty." if required else "."))
        if any(ord(ch) < 32 and ch not in "\t" for ch in value):
            raise EditError(f"{self.where}: “{key}” may not contain control characters.")
        return value

    def box(self) -> Box:
        return Box(self.int("x"), self.int("y"), self.int("w", 0), self.int("h", 0))


def _parse_step(raw: object, index: int) -> Step:
    r = _Reader(raw, index)
    kind = r.raw.get("kind")
    if kind in ("rect", "ellipse"):
        return Shape(kind, r.box(), r.color("#e53935"), r.int("width", 1, MAX_WIDTH))
    if kind == "arrow":
        return Arrow(r.int("x1"), r.int("y1"), r.int("x2"), r.int("y2"), r.color("#e53935"),
                     r.int("width", 1, MAX_WIDTH))
    if kind == "highlight":
        points = r.raw.get("points")
        if not isinstance(points, list) or not 1 <= len(points) <= MAX_POINTS:
            raise EditError(f"{r.where}: “points” must be a list of 1…{MAX_POINTS} points.")
        parsed = []
        for point in points:
            if not isinstance(point, list) or len(point) != 2:
                raise EditError(f"{r.where}: each point must be [x, y].")
            pr = _Reader({"kind": "highlight", "x": point[0], "y": point[1]}, index)
            parsed.append((pr.int("x"), pr.int("y")))
        return Highlight(tuple(parsed), r.color("#fdd835"), r.int("width", 1, MAX_WIDTH))
    if kind == "text":
        return Text(r.int("x"), r.int("y"), r.text("text", required=True), r.color("#e53935"),
                    r.int("size", 6, MAX_FONT))
    if kind == "callout":
        return Callout(r.int("x"), r.int("y"), r.text("label", required=False),
                       r.color("#e53935"), r.int("size", 4, MAX_FONT))
    if kind == "crop":
        return Crop(r.box())
    if kind == "redact":
        return Redact(r.box())
    raise EditError(f"Edit step {index} has an unknown kind {str(kind)[:20]!r}.")


# -- defaults that scale with the image ------------------------------------------------------


def scale_for(width: int, height: int) -> int:
    """Stroke and font sizes grow with the image: 1 up to 1080 px on the short side, 2 at 4K."""
    return max(1, round(min(width, height) / 1080))


def callout_legend(images: Sequence[tuple[int, EditSteps]]) -> str:
    """The note that tells the model what the numbered markers on the images mean.

    `images` pairs each sent image's number in its message (1-based) with its steps. With
    one marked image, `#N` in the user's text means marker N on it.
    """
    lines = []
    marked = [(n, steps.callouts()) for n, steps in images if steps.callouts()]
    for number, callouts in marked:
        count = len(callouts)
        span = "marker 1" if count == 1 else f"numbered markers 1–{count}"
        labels = "; ".join(f"{i} = {c.label.strip()}" if c.label.strip() else str(i)
                           for i, c in enumerate(callouts, 1))
        lines.append(f"Image {number} has {span} drawn on it by the user: {labels}.")
    if not lines:
        return ""
    if len(marked) == 1:
        lines.append("In the message, #1 refers to this marker." if len(marked[0][1]) == 1
                     else "In the message, #1, #2, … refer to these markers.")
    else:
        lines.append("Markers are numbered per image; “image 2 #1” means marker 1 on image 2.")
    return "\n".join(lines)
