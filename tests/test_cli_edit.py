"""`stepdesk ask --redact/--box/--callout/--crop` end to end against the stand-in."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from app.media.edit_steps import REDACT_FILL, EditSteps
from tests.clihelp import ask, rows
from tests.media_factory import mp4_h264
from tests.test_media_annotate import every_pixel, screenshot


def shot(tmp_path: Path, name: str = "shot.png", seed: int = 0) -> Path:
    path = tmp_path / name
    screenshot(seed=seed).save(path)
    return path


def uploaded_images(standin) -> list[Image.Image]:
    return [Image.open(io.BytesIO(f.data)) for f in standin.files.values()]


def test_redact_box_and_callouts_reach_the_stand_in(standin, data_dir: Path,
                                                    tmp_path: Path) -> None:
    result = ask(standin.base_url, data_dir, "--file", str(shot(tmp_path)),
                 "--redact", "37,61,333,47", "--redact", "1200,700,500,500",
                 "--box", "600,300,200,100", "--callout", "620,320,Save, then quit",
                 "--callout", "900,500", "What is #1 for?")
    assert result.code == 0, result.err
    assert "shot.png: clipped the redaction 1200,700,500,500 to the image (1200,700,80,100)" \
        in result.err
    [sent] = uploaded_images(standin)
    assert sent.format == "PNG" and sent.size == (1280, 800)
    assert every_pixel(sent, (37, 61, 370, 108)) == {REDACT_FILL}
    assert every_pixel(sent, (1200, 700, 1280, 800)) == {REDACT_FILL}
    assert (255, 255, 255) not in every_pixel(sent, (600, 300, 602, 400))  # the box is drawn
    text = standin.chat_requests()[-1].json["messages"][-1]["content"]
    text = next(p["text"] for p in text if p["type"] == "text")
    assert text.startswith("What is #1 for?\n\nImage 1 has numbered markers 1–2 drawn on it "
                           "by the user: 1 = Save, then quit; 2.")
    [(edits,)] = rows(data_dir, "SELECT edits FROM attachments")
    steps = EditSteps.from_json(str(edits))
    assert [c.label for c in steps.callouts()] == ["Save, then quit", ""]
    assert steps.callouts()[0].size == 14  # scaled to the image: 800 px short side


def test_each_flag_applies_to_the_file_before_it(standin, data_dir: Path,
                                                 tmp_path: Path) -> None:
    first, second = shot(tmp_path, "a.png"), shot(tmp_path, "b.png", seed=5)
    result = ask(standin.base_url, data_dir, "--crop", "10,20,300,200", "--file", str(first),
                 "--file", str(second), "--redact", "0,0,50,50", "Compare")
    assert result.code == 0, result.err
    names = rows(data_dir, "SELECT original_name, width, height, edits IS NOT NULL "
                           "FROM attachments ORDER BY ordinal")
    assert names == [("a.png", 300, 200, 1), ("b.png", 1280, 800, 1)]
    a, b = sorted(uploaded_images(standin), key=lambda im: im.width)
    assert a.convert("RGB").tobytes() == screenshot().crop((10, 20, 310, 220)).tobytes()
    assert every_pixel(b, (0, 0, 50, 50)) == {REDACT_FILL}


BAD = [
    (["--redact", "1,2,3"], "--redact '1,2,3': expected X,Y,W,H."),
    (["--redact", "1,2,3,x"], "--redact '1,2,3,x': 'x' is not a whole number of pixels."),
    (["--redact", "1,2,-3,4"], "width and height cannot be negative"),
    (["--box", "1,2,3,99999999999"], "is far outside any image"),
    (["--callout", "7"], "--callout '7': expected X,Y[,LABEL]."),
    (["--callout", "7,8,a\tb"], "the label must be one line"),
    (["--crop", "5000,5000,10,10"], "lies outside the 1280×800 image; nothing would be left"),
    (["--arrow", "nan,1,2,3"], "is not a whole number"),
]


@pytest.mark.parametrize(("flags", "expected"), BAD)
def test_hostile_values_exit_2_with_one_line(standin, data_dir: Path, tmp_path: Path,
                                             flags: list[str], expected: str) -> None:
    result = ask(standin.base_url, data_dir, "--file", str(shot(tmp_path)), *flags, "hi")
    assert result.code == 2
    assert expected in result.err and result.err.count("\n") == 1
    assert standin.chat_requests() == [] and standin.upload_requests() == []


def test_edit_flags_need_an_image(standin, data_dir: Path, tmp_path: Path) -> None:
    result = ask(standin.base_url, data_dir, "--redact", "1,1,5,5", "hi")
    assert (result.code, result.err.strip()) == (
        2, "stepdesk: --redact edits an image: add it with --file PATH.")
    video = mp4_h264(tmp_path)
    result = ask(standin.base_url, data_dir, "--file", str(video), "--box", "1,1,5,5", "hi")
    assert result.code == 2 and "marks and redactions apply to images only" in result.err
    assert standin.chat_requests() == []


def test_an_empty_redaction_is_ignored_with_a_hint_and_the_rest_is_sent(
        standin, data_dir: Path, tmp_path: Path) -> None:
    result = ask(standin.base_url, data_dir, "--file", str(shot(tmp_path)),
                 "--redact", "5,5,0,9", "--redact", "2000,10,50,50", "--redact", "0,0,40,30",
                 "hi")
    assert result.code == 0, result.err
    assert "shot.png: ignored an empty redaction at 5,5,0,9 (it has no width or height)" \
        in result.err
    assert "ignored a redaction at 2000,10,50,50 outside the 1280×800 image" in result.err
    [sent] = uploaded_images(standin)
    assert every_pixel(sent, (0, 0, 40, 30)) == {REDACT_FILL}
    [(edits,)] = rows(data_dir, "SELECT edits FROM attachments")
    assert EditSteps.from_json(str(edits)) == EditSteps()  # burnt into the stored base
