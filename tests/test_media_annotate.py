"""Edit steps and their flattening: JSON, hostile input, clipping, pixel-exact redactions."""

from __future__ import annotations

import io
import itertools
import json
import math
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from app.media import annotate
from app.media.edit_steps import (
    REDACT_FILL,
    Arrow,
    Box,
    Callout,
    Crop,
    EditError,
    EditRequest,
    EditSteps,
    Highlight,
    Redact,
    Shape,
    Text,
    callout_legend,
)
from app.media.errors import UnsupportedMedia
from app.media.fitting import fit_message
from app.media.intake import IntakeOptions, prepare_sync
from tests.media_factory import mp4_h264


def screenshot(size: tuple[int, int] = (1280, 800), seed: int = 0) -> Image.Image:
    """A screenshot-like image: light background, lines of dark text, a coloured bar."""
    im = Image.new("RGB", size, (246, 246, 248))
    draw = ImageDraw.Draw(im)
    draw.rectangle((0, 0, size[0], 40), fill=(40, 90, 200))
    for row, y in enumerate(range(60, size[1], 24)):
        draw.text((16, y), f"user{row + seed}@example.com  token=sk-{row * 7919:08x}  "
                           "password: hunter2 " * 3, fill=(20, 20, 20), font=annotate.font(16))
    return im


def png_bytes(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def every_pixel(im: Image.Image, box: tuple[int, int, int, int]) -> set[tuple[int, ...]]:
    """The distinct colours of the pixels in `box` (left, top, right, bottom)."""
    region = im.convert("RGB").crop(box)
    return {colour for _count, colour in region.getcolors(maxcolors=region.width * region.height)}


ALL_KINDS = EditSteps((
    Shape("rect", Box(100, 100, 300, 200), "#e53935", 4),
    Shape("ellipse", Box(500, 100, 300, 200), "#1e88e5", 6),
    Arrow(900, 600, 1100, 450, "#43a047", 5),
    Highlight(((80, 500), (300, 510), (520, 495)), "#fdd835", 20),
    Text(120, 650, "Look here", "#e53935", 28),
    Callout(700, 400, "login button"),
    Callout(760, 460),
    Redact(Box(16, 60, 400, 30)),
    Crop(Box(0, 0, 1200, 760)),
))


def test_json_round_trip_keeps_every_kind() -> None:
    text = ALL_KINDS.to_json()
    assert json.loads(text)["version"] == 1
    assert EditSteps.from_json(text) == ALL_KINDS


HOSTILE = [
    ("not json", "not valid JSON"),
    ("[]", "JSON object"),
    ('{"steps": []}', "version None"),
    ('{"version": 2, "steps": []}', "version 2"),
    ('{"version": true, "steps": []}', "version True"),
    ('{"version": 1}', "no list of steps"),
    ('{"version": 1, "steps": [1]}', "step 1 is not an object"),
    ('{"version": 1, "steps": [{"kind": "laser"}]}', "unknown kind"),
    ('{"version": 1, "steps": [{"kind": "redact", "x": 1, "y": 1, "w": -5, "h": 3}]}',
     "outside 0"),
    ('{"version": 1, "steps": [{"kind": "redact", "x": "1", "y": 1, "w": 5, "h": 3}]}',
     "whole number"),
    ('{"version": 1, "steps": [{"kind": "redact", "x": 1.5, "y": 1, "w": 5, "h": 3}]}',
     "whole number"),
    ('{"version": 1, "steps": [{"kind": "redact", "x": 1e400, "y": 1, "w": 5, "h": 3}]}',
     "whole number"),
    ('{"version": 1, "steps": [{"kind": "redact", "x": 99999999999, "y": 1, "w": 5, "h": 3}]}',
     "outside"),
    ('{"version": 1, "steps": [{"kind": "rect", "x": 1, "y": 1, "w": 5, "h": 3, '
     '"color": "red", "width": 2}]}', "#rrggbb"),
    ('{"version": 1, "steps": [{"kind": "rect", "x": 1, "y": 1, "w": 5, "h": 3, '
     '"width": 0}]}', "outside 1"),
    ('{"version": 1, "steps": [{"kind": "text", "x": 1, "y": 1, "text": "", "size": 20}]}',
     "not empty"),
    ('{"version": 1, "steps": [{"kind": "text", "x": 1, "y": 1, "text": "a\\u0000b", '
     '"size": 20}]}', "control characters"),
    ('{"version": 1, "steps": [{"kind": "highlight", "points": [], "width": 9}]}', "points"),
    ('{"version": 1, "steps": [{"kind": "highlight", "points": [[1]], "width": 9}]}', "[x, y]"),
    ('{"version": 1, "steps": [{"kind": "callout", "x": 1, "y": 1, "label": 5, "size": 9}]}',
     "label"),
    ("[" * 100000 + "]" * 100000, "not valid JSON"),
    (json.dumps({"version": 1, "steps": [{"kind": "crop", "x": 0, "y": 0, "w": 1, "h": 1}]
                 * 1001}), "at most 1000"),
]


@pytest.mark.parametrize(("text", "expected"), HOSTILE)
def test_hostile_json_is_one_clear_error(text: str, expected: str) -> None:
    with pytest.raises(EditError) as caught:
        EditSteps.from_json(text)
    message = str(caught.value)
    assert expected in message and "\n" not in message and len(message) < 200


def test_fit_to_clips_ignores_empty_and_refuses_an_empty_crop() -> None:
    steps = EditSteps((Redact(Box(-10, -10, 50, 50)), Redact(Box(5, 5, 0, 9)),
                       Redact(Box(500, 500, 10, 10)), Crop(Box(90, 40, 100, 100))))
    fitted = steps.fit_to(100, 80)
    assert fitted.redactions() == [Box(0, 0, 40, 40)]
    assert fitted.crop() == Box(90, 40, 10, 40)
    assert any("clipped the redaction -10,-10,50,50" in h for h in fitted.hints)
    assert any("empty redaction at 5,5,0,9" in h for h in fitted.hints)
    assert any("outside the 100×80 image" in h for h in fitted.hints)
    with pytest.raises(EditError, match="nothing would be left"):
        EditSteps((Crop(Box(200, 0, 50, 50)),)).fit_to(100, 80)


@pytest.mark.parametrize("region", [Box(0, 0, 1280, 800), Box(1, 3, 777, 555),
                                    Box(695, 395, 120, 120), Box(901, 449, 205, 160),
                                    Box(79, 487, 60, 40)])
def test_a_region_renders_exactly_like_the_whole_image(region: Box) -> None:
    """The editor shows regions; intake flattens the whole: the pixels must be the same."""
    base = screenshot()
    whole = annotate.render(base, ALL_KINDS)
    part = annotate.render(base, ALL_KINDS, region=region)
    assert part.tobytes() == whole.crop((region.x, region.y, region.right,
                                         region.bottom)).tobytes()


def test_redactions_lie_over_every_mark() -> None:
    steps = EditSteps((Redact(Box(10, 10, 100, 100)),
                       Highlight(((0, 50), (200, 50)), width=40), Text(20, 20, "over it")))
    out = annotate.render(screenshot(), steps)
    assert every_pixel(out, (10, 10, 110, 110)) == {REDACT_FILL}


def prepared(tmp_path: Path, im: Image.Image, steps: EditSteps, *, keep: bool = False,
             name: str = "shot.png"):
    src = tmp_path / name
    im.save(src)
    return prepare_sync(src, work_dir=tmp_path / "work",
                        options=IntakeOptions(edit=EditRequest(steps, keep_original=keep)))


def test_redaction_is_solid_in_sent_bytes_and_thumbnail(tmp_path: Path) -> None:
    box = Box(37, 61, 333, 47)  # over text, not aligned to anything
    item = prepared(tmp_path, screenshot(), EditSteps((Redact(box),)))
    assert item.ext == "png" and item.mime == "image/png" and item.edit is not None
    with Image.open(item.path) as sent:
        assert every_pixel(sent, (box.x, box.y, box.right, box.bottom)) == {REDACT_FILL}
        assert len(every_pixel(sent, (0, 0, 1280, 800))) > 10  # the rest is untouched
    with Image.open(io.BytesIO(item.thumbnail)) as thumb:
        s = thumb.width / 1280
        inner = (int(box.x * s) + 1, int(box.y * s) + 1, int(box.right * s) - 1,
                 int(box.bottom * s) - 1)
        assert every_pixel(thumb, inner) == {REDACT_FILL}
    assert "edited: 1 redaction" in item.changes


def test_redaction_is_solid_after_downscaling_to_the_api_limit(tmp_path: Path) -> None:
    box = Box(1001, 377, 2003, 333)
    item = prepared(tmp_path, screenshot((4500, 900)), EditSteps((Redact(box),)))
    assert (item.width, item.height) == (4096, 819)
    s = 4096 / 4500
    assert item.edit is not None and item.edit.redactions[0].x == int(box.x * s)
    with Image.open(item.path) as sent:
        assert every_pixel(sent, (int(box.x * s), int(box.y * s), round(box.right * s),
                                  round(box.bottom * s))) == {REDACT_FILL}


def test_a_crop_sends_exactly_the_cropped_pixels(tmp_path: Path) -> None:
    im = screenshot()
    item = prepared(tmp_path, im, EditSteps((Crop(Box(101, 57, 640, 333)),)))
    with Image.open(item.path) as sent:
        assert sent.size == (640, 333)
        assert sent.convert("RGB").tobytes() == im.crop((101, 57, 741, 390)).tobytes()


def test_without_keep_original_the_stored_base_has_the_redaction_burnt_in(
        tmp_path: Path) -> None:
    im = screenshot()
    steps = EditSteps((Shape("rect", Box(300, 300, 100, 100)), Redact(Box(10, 60, 200, 40)),
                       Crop(Box(5, 50, 800, 600))))
    item = prepared(tmp_path, im, steps)
    assert item.edit is not None and not item.edit.original_kept
    with Image.open(item.edit.base_path) as base:
        assert base.size == (800, 600)
        assert every_pixel(base, (5, 10, 205, 50)) == {REDACT_FILL}
        assert base.convert("RGB").crop((300, 300, 400, 400)).tobytes() == \
            im.crop((305, 350, 405, 450)).tobytes()  # marks are not burnt in
    assert item.edit.steps == EditSteps((Shape("rect", Box(295, 250, 100, 100)),))
    # Re-editing the stored base with the stored steps sends the same pixels again.
    again = prepared(tmp_path, Image.open(item.edit.base_path), item.edit.steps,
                     name="base.png")
    assert Image.open(again.path).tobytes() == Image.open(item.path).tobytes()


def test_keep_original_keeps_the_unedited_pixels_locally(tmp_path: Path) -> None:
    im = screenshot()
    steps = EditSteps((Redact(Box(10, 60, 200, 40)),))
    item = prepared(tmp_path, im, steps, keep=True)
    assert item.edit is not None and item.edit.original_kept
    with Image.open(item.edit.base_path) as base:
        assert base.convert("RGB").tobytes() == im.tobytes()
    assert item.edit.steps == steps


def test_an_animated_image_is_edited_on_its_first_frame(tmp_path: Path) -> None:
    frames = [Image.new("RGB", (64, 48), c) for c in ((255, 0, 0), (0, 255, 0))]
    src = tmp_path / "anim.gif"
    frames[0].save(src, save_all=True, append_images=frames[1:], duration=100, loop=0)
    item = prepare_sync(src, work_dir=tmp_path / "w", options=IntakeOptions(
        edit=EditRequest(EditSteps((Redact(Box(0, 0, 10, 10)),)))))
    assert "edited the first frame of an animated GIF" in item.changes
    with Image.open(item.path) as sent:
        assert sent.convert("RGB").getpixel((40, 40)) == (255, 0, 0)


def test_hints_reach_the_changes_and_a_video_refuses_edits(tmp_path: Path) -> None:
    item = prepared(tmp_path, screenshot((200, 100)), EditSteps((Redact(Box(150, 50, 100, 100)),
                                                                  Redact(Box(5, 5, 0, 5)))))
    assert any("clipped the redaction" in c for c in item.changes)
    assert any("ignored an empty redaction" in c for c in item.changes)
    video = mp4_h264(tmp_path)
    with pytest.raises(UnsupportedMedia, match="marks and redactions apply to images only"):
        prepare_sync(video, work_dir=tmp_path / "w", options=IntakeOptions(
            edit=EditRequest(EditSteps((Redact(Box(0, 0, 4, 4)),)))))


def test_fitting_the_message_keeps_a_redacted_image_png_and_solid(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import random

    from app import limits

    monkeypatch.setattr(limits, "MAX_IMAGE_BYTES_PER_REQUEST", 6_000_000)
    rng = random.Random(4)
    noise = Image.frombytes("RGB", (1700, 1000), rng.randbytes(1700 * 1000 * 3))
    box = Box(333, 444, 999, 155)
    item = prepared(tmp_path, noise, EditSteps((Redact(box),)))
    assert item.size > 3_000_000  # incompressible: two of these are over the (lowered) limit
    other = prepared(tmp_path, noise.transpose(Image.Transpose.FLIP_TOP_BOTTOM),
                     EditSteps((Redact(box),)), name="other.png")
    fitted = fit_message([item, other], tmp_path / "work")
    assert sum(f.size for f in fitted) <= 6_000_000
    assert all(f.width < 1700 for f in fitted)
    for f in fitted:
        assert f.ext == "png" and f.edit is not None
        r = f.edit.redactions[0]
        with Image.open(f.path) as sent:
            assert sent.format == "PNG"
            assert every_pixel(sent, (r.x, r.y, r.right, r.bottom)) == {REDACT_FILL}


def test_callout_legend_names_the_markers_and_their_labels() -> None:
    steps = EditSteps((Callout(1, 1, "login button"), Shape("rect", Box(0, 0, 5, 5)),
                       Callout(2, 2), Callout(3, 3, " total ")))
    legend = callout_legend([(1, steps)])
    assert legend.splitlines()[0] == ("Image 1 has numbered markers 1–3 drawn on it by the "
                                      "user: 1 = login button; 2; 3 = total.")
    assert "#1, #2" in legend
    one = callout_legend([(1, EditSteps((Callout(5, 5, "x"),)))])
    assert one.splitlines()[-1] == "In the message, #1 refers to this marker."
    two = callout_legend([(1, steps), (2, EditSteps((Callout(5, 5, "x"),)))])
    assert "Image 2 has marker 1 drawn on it by the user: 1 = x." in two
    assert "numbered per image" in two
    assert callout_legend([(1, EditSteps((Redact(Box(0, 0, 1, 1)),)))]) == ""


LONG = EditSteps((
    Shape("rect", Box(40, 30, 1200, 740), "#e53935", 6),
    Shape("ellipse", Box(90, 60, 1100, 690), "#1e88e5", 9),
    Arrow(1250, 780, 20, 20, "#43a047", 7),
    Highlight(tuple((30 + 9 * i, 400 + int(300 * math.sin(i / 9))) for i in range(135)),
              "#fdd835", 30),
    Highlight(((600, 100), (600, 100), (610, 700), (605, 90)), "#fdd835", 3),
    Callout(640, 400, "centre"),
))


@pytest.mark.parametrize("region", [Box(0, 0, 1280, 800), Box(37, 380, 200, 90),
                                    Box(600, 0, 30, 800), Box(1100, 700, 180, 100)])
def test_a_region_of_long_strokes_renders_exactly_like_the_whole(region: Box) -> None:
    base = screenshot()
    whole = annotate.render(base, LONG)
    part = annotate.render(base, LONG, region=region)
    assert part.tobytes() == whole.crop((region.x, region.y, region.right,
                                         region.bottom)).tobytes()


@pytest.mark.parametrize("size", [(1280, 800), (5000, 4000)])
def test_patching_only_the_changed_pieces_gives_the_whole_render(size: tuple[int, int]) -> None:
    """What the editor does after each step (and each undo): re-render only the pieces the
    step can touch, at the editor's scale. The result must be the full render, pixel for
    pixel, or the preview would drift from what is sent."""
    from app.media.edit_session import EditSession, changed_boxes

    base = screenshot(size) if size == (1280, 800) else Image.new("RGB", size, (240, 240, 240))
    factor = size[0] / 1280
    steps = EditSteps(tuple(_scaled(s, factor) for s in LONG.steps))
    session = EditSession.for_image(base)
    assert (session.scale == 1.0) == (size == (1280, 800))

    def shown(current: EditSteps) -> Image.Image:
        raw, box = session.rgbx(current)
        return Image.frombytes("RGB", (box.w, box.h), raw, "raw", "RGBX")

    picture = shown(EditSteps())
    history = [EditSteps(steps.steps[:n]) for n in range(len(steps.steps) + 1)]
    for before, after in [*itertools.pairwise(history),
                          (history[-1], history[2])]:  # each step added, then an undo of 4
        pieces = changed_boxes(before, after)
        for area in pieces:
            raw, box = session.rgbx(after, session.view_box(area))
            picture.paste(Image.frombytes("RGB", (box.w, box.h), raw, "raw", "RGBX"),
                          (box.x, box.y))
        assert picture.tobytes() == shown(after).tobytes(), after.steps[-1:]
    big = [s for s in steps.steps if not isinstance(s, Callout)]
    area = sum(b.w * b.h for s in big for b in _pieces(s))
    assert area < 0.6 * len(big) * size[0] * size[1]  # pieces, not bounding boxes


def _pieces(step):
    from app.media.edit_session import dirty_boxes

    return dirty_boxes(step)


def _scaled(step, factor: float):
    from dataclasses import replace

    def f(v: int) -> int:
        return round(v * factor)

    if isinstance(step, Shape):
        b = step.box
        return replace(step, box=Box(f(b.x), f(b.y), f(b.w), f(b.h)), width=f(step.width))
    if isinstance(step, Arrow):
        return replace(step, x1=f(step.x1), y1=f(step.y1), x2=f(step.x2), y2=f(step.y2),
                       width=f(step.width))
    if isinstance(step, Highlight):
        return replace(step, points=tuple((f(x), f(y)) for x, y in step.points),
                       width=f(step.width))
    assert isinstance(step, Callout)
    return replace(step, x=f(step.x), y=f(step.y), size=f(step.size))


@pytest.mark.parametrize("scale", [1.0, 0.43])
@pytest.mark.parametrize("mark", [Shape("ellipse", Box(40, 30, 900, 500), "#1e88e5", 7),
                                  Shape("rect", Box(-20, 100, 700, 400), "#e53935", 5),
                                  Arrow(1000, 700, 30, 40, "#43a047", 9)])
def test_a_mark_added_last_is_its_colour_through_its_ink_mask(mark, scale: float) -> None:
    """What the editor does for a new shape or arrow: its colour through `ink_mask` over the
    picture of the earlier steps, then the redactions again, is the render with it added."""
    view = screenshot()
    if scale != 1.0:
        view = view.resize((round(1280 * scale), round(800 * scale)))
    before = EditSteps((Highlight(((10, 300), (1200, 330)), "#fdd835", 40),
                        Text(200, 250, "under it", size=30), Redact(Box(300, 200, 400, 300))))
    after = EditSteps((*before.steps, mark))
    region = Box(5, 7, view.width - 12, view.height - 9)  # an offset, as a piece of it has
    picture = annotate.render(view, before, region=region, scale=scale)
    mask = annotate.ink_mask(mark, region, scale)
    assert mask.getextrema() == (0, 1)
    picture.paste(annotate._rgb(mark.color), (0, 0), mask.point([0] + [255] * 255))
    for box in before.redactions():
        annotate._Pen(picture, region.x, region.y, scale).redact(box)
    assert picture.tobytes() == annotate.render(view, after, region=region,
                                                scale=scale).tobytes()
