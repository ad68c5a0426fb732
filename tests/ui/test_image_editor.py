"""The image editor through real widgets and mouse events: steps, undo/redo, preview = output."""

from __future__ import annotations

import struct
import zlib
from functools import partial
from typing import Any

import pytest
from PIL import Image
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QImage, QMouseEvent
from PySide6.QtWidgets import QApplication, QMessageBox

from app.media import annotate
from app.media.edit_session import EditSession
from app.media.edit_steps import (
    REDACT_FILL,
    Arrow,
    Box,
    Callout,
    Crop,
    EditSteps,
    Highlight,
    Redact,
    Shape,
    Text,
)
from app.ui.dialogs.image_editor import ImageEditor
from tests.test_media_annotate import screenshot


def send_mouse(widget: Any, kind: QEvent.Type, pos: QPoint, button: Qt.MouseButton,
               buttons: Qt.MouseButton) -> None:
    event = QMouseEvent(kind, QPointF(pos), QPointF(widget.mapToGlobal(pos)), button, buttons,
                        Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, event)


def view_pos(editor: ImageEditor, x: int, y: int) -> QPoint:
    """The viewport pixel that lands on image pixel (x, y) (at zoom ≥ 1, exactly)."""
    view = editor.canvas
    guess = view.mapFromScene(QPointF(x + 0.5, y + 0.5))
    for dx in (0, -1, 1):
        for dy in (0, -1, 1):
            pos = guess + QPoint(dx, dy)
            if editor.canvas.image_point(pos) == (x, y):
                return pos
    return guess


def drag(qtbot: Any, editor: ImageEditor, points: list[tuple[int, int]],
         button: Qt.MouseButton = Qt.MouseButton.LeftButton) -> None:
    """Press at the first image point, move through the others, release at the last."""
    view = editor.canvas
    where = [view_pos(editor, x, y) for x, y in points]
    qtbot.mousePress(view.viewport(), button, pos=where[0])
    for pos in where[1:]:
        send_mouse(view.viewport(), QEvent.Type.MouseMove, pos, Qt.MouseButton.NoButton,
                   button)
    qtbot.mouseRelease(view.viewport(), button, pos=where[-1])


def click(qtbot: Any, editor: ImageEditor, x: int, y: int) -> None:
    pos = view_pos(editor, x, y)
    qtbot.mouseClick(editor.canvas.viewport(), Qt.MouseButton.LeftButton, pos=pos)


def show(qtbot: Any, dialog: ImageEditor) -> None:
    """Show the editor and wait until it has the keyboard: tool shortcuts are its own."""
    dialog.show()
    dialog.activateWindow()
    qtbot.waitUntil(lambda: QApplication.focusWindow() is dialog.windowHandle())


@pytest.fixture
def editor(qtbot: Any) -> ImageEditor:
    session = EditSession.for_image(screenshot((640, 400)))
    dialog = ImageEditor(session, "shot.png")
    qtbot.addWidget(dialog)
    show(qtbot, dialog)
    dialog.canvas.zoom_to(1.0)
    dialog.canvas.centerOn(320, 200)
    return dialog


def as_pil(image: QImage) -> Image.Image:
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    data = bytes(image.constBits())[: image.bytesPerLine() * image.height()]
    return Image.frombytes("RGB", (image.width(), image.height()), data, "raw", "RGB",
                           image.bytesPerLine())


def test_each_tool_makes_its_step_from_mouse_gestures(qtbot: Any, editor: ImageEditor) -> None:
    qtbot.keyClick(editor.canvas, Qt.Key.Key_R)
    drag(qtbot, editor, [(100, 100), (150, 120), (200, 160)])
    qtbot.keyClick(editor.canvas, Qt.Key.Key_E)
    drag(qtbot, editor, [(220, 100), (300, 160)])
    qtbot.keyClick(editor.canvas, Qt.Key.Key_A)
    drag(qtbot, editor, [(400, 300), (350, 250)])
    qtbot.keyClick(editor.canvas, Qt.Key.Key_H)
    drag(qtbot, editor, [(50, 200), (80, 205), (120, 200)])
    qtbot.keyClick(editor.canvas, Qt.Key.Key_X)
    drag(qtbot, editor, [(10, 60), (210, 85)])
    qtbot.keyClick(editor.canvas, Qt.Key.Key_C)
    drag(qtbot, editor, [(5, 5), (600, 380)])
    steps = editor.steps.steps
    width = editor.canvas.size_for("stroke")
    assert steps[0] == Shape("rect", Box(100, 100, 100, 60), "#e53935", width)
    assert steps[1] == Shape("ellipse", Box(220, 100, 80, 60), "#e53935", width)
    assert steps[2] == Arrow(400, 300, 350, 250, "#e53935", width)
    assert isinstance(steps[3], Highlight) and steps[3].points == ((50, 200), (80, 205),
                                                                   (120, 200))
    assert steps[4] == Redact(Box(10, 60, 200, 25))
    assert steps[5] == Crop(Box(5, 5, 595, 375))
    assert editor.status.text().startswith("4 marks, 1 redaction, cropped")


def test_callouts_text_and_labels_through_the_floating_entry(qtbot: Any,
                                                             editor: ImageEditor) -> None:
    qtbot.keyClick(editor.canvas, Qt.Key.Key_N)
    click(qtbot, editor, 300, 200)
    entry = editor.canvas.entry()
    assert entry is not None and entry.hasFocus()
    qtbot.keyClicks(entry, "Save button")  # letters typed here are not tool shortcuts
    qtbot.keyClick(entry, Qt.Key.Key_Return)
    assert "type #1 in your message to refer to the marker" in editor.status.text()
    click(qtbot, editor, 350, 250)
    editor.canvas.finish_entry()  # nothing typed: the second marker has no label
    qtbot.keyClick(editor.canvas, Qt.Key.Key_T)
    click(qtbot, editor, 40, 40)
    text_entry = editor.canvas.entry()
    assert text_entry is not None
    qtbot.keyClicks(text_entry, "Why?")
    qtbot.keyClick(text_entry, Qt.Key.Key_Return)
    callouts = editor.steps.callouts()
    assert [(c.x, c.y, c.label) for c in callouts] == [(300, 200, "Save button"),
                                                       (350, 250, "")]
    assert editor.steps.steps[-1] == Text(40, 40, "Why?", "#e53935",
                                          editor.canvas.size_for("text"))
    assert editor.canvas.tool == "text"
    assert "type #1…#2 in your message to refer to the markers" in editor.status.text()


def test_pasted_labels_become_one_inert_line_the_store_reads_back(qtbot: Any,
                                                                  editor: ImageEditor) -> None:
    """A label with a line break or a control character would be refused when the steps are
    read back (no legend, no Edit again): the entry makes it one visible line."""
    qtbot.keyClick(editor.canvas, Qt.Key.Key_N)
    click(qtbot, editor, 300, 200)
    entry = editor.canvas.entry()
    assert entry is not None
    entry.insert("Save\nbutton\x1b[2J \u202eevil")
    qtbot.keyClick(entry, Qt.Key.Key_Return)
    qtbot.keyClick(editor.canvas, Qt.Key.Key_T)
    click(qtbot, editor, 40, 40)
    text_entry = editor.canvas.entry()
    assert text_entry is not None
    text_entry.insert("line one\r\nline two\t!")
    qtbot.keyClick(text_entry, Qt.Key.Key_Return)
    [callout] = editor.steps.callouts()
    assert callout.label == "Save button^[[2J <U+202E>evil"
    assert isinstance(editor.steps.steps[-1], Text)
    assert editor.steps.steps[-1].text == "line one line two !"
    assert EditSteps.from_json(editor.steps.to_json()) == editor.steps


def test_the_editor_stays_within_what_the_store_reads_back(qtbot: Any,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """More steps (or highlighter points) than `EditSteps.from_json` accepts would be saved
    and then refused on reading: the canvas stops at the limits and says so."""
    from app.ui.widgets import edit_canvas

    monkeypatch.setattr(edit_canvas, "MAX_STEPS", 3)
    monkeypatch.setattr(edit_canvas, "MAX_POINTS", 4)
    session = EditSession.for_image(screenshot((640, 400)))
    dialog = ImageEditor(session, "shot.png")
    qtbot.addWidget(dialog)
    show(qtbot, dialog)
    dialog.canvas.zoom_to(1.0)
    dialog.canvas.centerOn(320, 200)
    qtbot.keyClick(dialog.canvas, Qt.Key.Key_H)
    drag(qtbot, dialog, [(10, 10), (20, 12), (30, 14), (40, 16), (50, 18), (60, 20)])
    [stroke] = dialog.steps.steps
    assert isinstance(stroke, Highlight) and stroke.points == ((10, 10), (20, 12), (30, 14),
                                                               (40, 16))
    assert "ends at its 4th point" in dialog.status.text()
    qtbot.keyClick(dialog.canvas, Qt.Key.Key_N)
    click(qtbot, dialog, 100, 100)
    dialog.canvas.finish_entry()
    click(qtbot, dialog, 200, 100)
    dialog.canvas.finish_entry()
    click(qtbot, dialog, 300, 100)
    assert dialog.canvas.entry() is None and len(dialog.steps.steps) == 3
    assert "at most 3 edits; undo some" in dialog.status.text()


def test_sizes_grow_with_the_image_within_the_stored_limits(qtbot: Any) -> None:
    from app.media.edit_steps import MAX_FONT, MAX_WIDTH
    from app.ui.widgets.edit_canvas import EditCanvas

    small = EditCanvas(EditSession.for_image(Image.new("RGB", (1920, 1080))))
    view = Image.new("RGB", (1400, 1280))  # as shown; the session says what it stands for
    huge = EditCanvas(EditSession(14000, 12800, view, 0.1, (), EditSteps()))
    for canvas in (small, huge):
        qtbot.addWidget(canvas)
        canvas.width_level = 2
    assert small.size_for("highlight") == 40 and small.size_for("text") == 44
    assert huge.size_for("highlight") == MAX_WIDTH and huge.size_for("stroke") == 8 * 12
    assert huge.size_for("text") <= MAX_FONT


def test_undo_and_redo_walk_every_step(qtbot: Any, editor: ImageEditor) -> None:
    qtbot.keyClick(editor.canvas, Qt.Key.Key_R)
    drag(qtbot, editor, [(100, 100), (200, 160)])
    qtbot.keyClick(editor.canvas, Qt.Key.Key_X)
    drag(qtbot, editor, [(10, 60), (210, 85)])
    qtbot.keyClick(editor.canvas, Qt.Key.Key_N)
    click(qtbot, editor, 300, 300)
    qtbot.keyClicks(editor.canvas.entry(), "here")
    qtbot.keyClick(editor.canvas.entry(), Qt.Key.Key_Return)
    full = editor.steps
    assert len(full.steps) == 3 and full.callouts()[0].label == "here"
    history = []
    for _ in range(4):  # label, callout, redaction, rectangle
        qtbot.keyClick(editor.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
        history.append(len(editor.steps.steps))
    assert history == [3, 2, 1, 0]
    assert as_pil(editor.canvas.preview()).tobytes() == screenshot((640, 400)).tobytes()
    for _ in range(4):
        qtbot.keyClick(editor.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier
                       | Qt.KeyboardModifier.ShiftModifier)
    assert editor.steps == full
    shown = as_pil(editor.canvas.preview())
    assert shown.tobytes() == annotate.render(screenshot((640, 400)), full).tobytes()
    region = shown.crop((10, 60, 210, 85))
    assert {c for _n, c in region.getcolors(maxcolors=region.width * region.height)} \
        == {REDACT_FILL}


def test_the_preview_is_the_flattened_output(qtbot: Any, editor: ImageEditor) -> None:
    """What is sent is what is shown: pixel for pixel, after drawing, undoing and redrawing."""
    for tool, points in (("R", [(30, 30), (300, 200)]), ("H", [(20, 300), (200, 310)]),
                         ("A", [(500, 50), (420, 120)]), ("X", [(250, 150), (330, 190)]),
                         ("E", [(400, 200), (630, 390)])):
        qtbot.keyClick(editor.canvas, getattr(Qt.Key, f"Key_{tool}"))
        drag(qtbot, editor, points)
    qtbot.keyClick(editor.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(editor.canvas, Qt.Key.Key_N)
    for x, y in ((100, 100), (120, 140), (600, 30)):
        click(qtbot, editor, x, y)
        editor.canvas.finish_entry()
    expected = annotate.render(screenshot((640, 400)), editor.steps)
    assert as_pil(editor.canvas.preview()).tobytes() == expected.tobytes()


def test_gestures_past_the_edge_are_clipped_and_empty_ones_explained(
        qtbot: Any, editor: ImageEditor) -> None:
    """Bad input gets a clear message and loses nothing: through real mouse events."""
    qtbot.keyClick(editor.canvas, Qt.Key.Key_X)
    drag(qtbot, editor, [(-30, -20), (100, 50)])
    assert editor.steps.steps == (Redact(Box(0, 0, 100, 50)),)
    assert "Clipped the redaction to the edge of the image." in editor.status.text()
    drag(qtbot, editor, [(600, 380), (700, 450)])  # the bottom-right corner, past both edges
    assert editor.steps.steps[-1] == Redact(Box(600, 380, 40, 20))
    click(qtbot, editor, 200, 200)
    assert len(editor.steps.steps) == 2
    assert "A redaction needs an area: drag across what to hide." in editor.status.text()
    drag(qtbot, editor, [(-90, -80), (-10, -10)])
    assert len(editor.steps.steps) == 2 and "outside the image" in editor.status.text()
    qtbot.keyClick(editor.canvas, Qt.Key.Key_C)
    drag(qtbot, editor, [(650, 10), (700, 90)])  # right of the image: a crop to nothing
    assert editor.steps.crop() is None
    assert "would leave nothing to send, so it was not applied" in editor.status.text()
    click(qtbot, editor, 300, 300)
    assert "A crop needs an area" in editor.status.text()
    drag(qtbot, editor, [(320, -40), (700, 300)])
    assert editor.steps.crop() == Box(320, 0, 320, 300)
    assert "Clipped the crop" in editor.status.text()
    qtbot.keyClick(editor.canvas, Qt.Key.Key_R)
    drag(qtbot, editor, [(400, 100), (500, 200)])
    assert "Clipped" not in editor.status.text()  # a hint lasts until the next change
    for tool, hint in ((Qt.Key.Key_R, "to draw a rectangle"), (Qt.Key.Key_E, "an ellipse"),
                       (Qt.Key.Key_A, "to draw an arrow")):
        qtbot.keyClick(editor.canvas, tool)
        click(qtbot, editor, 100, 300)
        assert hint in editor.status.text()
    assert len(editor.steps.steps) == 4
    qtbot.keyClick(editor.canvas, Qt.Key.Key_R)
    drag(qtbot, editor, [(-90, -80), (-10, -10)])
    assert "That rectangle lies outside the image" in editor.status.text()
    for key, hint in ((Qt.Key.Key_N, "numbered marker"), (Qt.Key.Key_T, "label")):
        qtbot.keyClick(editor.canvas, key)
        click(qtbot, editor, 700, 100)
        assert editor.canvas.entry() is None and f"to place a {hint}." in editor.status.text()
    assert len(editor.steps.steps) == 4
    # What the editor made is what intake applies: no hint, nothing clipped again.
    assert editor.steps.fit_to(640, 400) == editor.steps
    assert not editor.steps.fit_to(640, 400).hints


def test_a_huge_image_is_edited_reduced_with_steps_in_full_pixels(qtbot: Any,
                                                                  tmp_path: Any) -> None:
    from app.media.edit_steps import EditRequest
    from app.media.intake import IntakeOptions, prepare_sync
    from tests.test_media_annotate import every_pixel

    big = screenshot((6000, 4000))
    session = EditSession.for_image(big)
    assert session.scale < 1 and any("for editing" in n for n in session.notes)
    dialog = ImageEditor(session, "big.png")
    qtbot.addWidget(dialog)
    show(qtbot, dialog)
    assert "shown at" in dialog.status.text() and "6000×4000" in dialog.status.text()
    dialog.canvas.zoom_to(0.1)
    qtbot.keyClick(dialog.canvas, Qt.Key.Key_X)
    drag(qtbot, dialog, [(1000, 1000), (3000, 2000)])
    [step] = dialog.steps.steps
    assert isinstance(step, Redact)
    assert abs(step.box.x - 1000) <= 10 and abs(step.box.right - 3000) <= 10  # 1 view px = 10
    layer = as_pil(dialog.canvas.layer.image)
    vb = session.view_box(step.box)
    inner = layer.crop((vb.x + 3, vb.y + 3, vb.right - 3, vb.bottom - 3))
    assert inner.getcolors(maxcolors=4) == [(inner.width * inner.height, REDACT_FILL)]
    raw, _box = session.rgbx(dialog.steps)  # the reduced view shows exactly Pillow's pixels
    assert layer.tobytes() == Image.frombytes("RGB", session.view.size, raw, "raw",
                                              "RGBX").tobytes()
    qtbot.keyClick(dialog.canvas, Qt.Key.Key_R)
    drag(qtbot, dialog, [(500, 500), (5500, 3500)])  # a frame, redrawn in pieces, reduced
    qtbot.keyClick(dialog.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(dialog.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier
                   | Qt.KeyboardModifier.ShiftModifier)
    raw, _box = session.rgbx(dialog.steps)
    assert as_pil(dialog.canvas.layer.image).tobytes() == Image.frombytes(
        "RGB", session.view.size, raw, "raw", "RGBX").tobytes()
    # Mapped back: intake applies the step to all 6000×4000 pixels, then fits the API limit.
    src = tmp_path / "big.png"
    big.save(src, compress_level=1)
    item = prepare_sync(src, work_dir=tmp_path / "work",
                        options=IntakeOptions(edit=EditRequest(dialog.steps)))
    assert (item.width, item.height) == (4096, 2731)
    assert item.edit is not None
    with Image.open(item.edit.base_path) as stored:  # burnt in at full resolution
        assert stored.size == (6000, 4000)
        b = step.box
        assert every_pixel(stored, (b.x, b.y, b.right, b.bottom)) == {REDACT_FILL}
        assert every_pixel(stored, (b.x - 1, b.y, b.x, b.bottom)) != {REDACT_FILL}
    [sent_box] = item.edit.redactions
    with Image.open(item.path) as sent:
        assert every_pixel(sent, (sent_box.x, sent_box.y, sent_box.right, sent_box.bottom)) \
            == {REDACT_FILL}
    assert abs(sent_box.x - step.box.x * 4096 / 6000) <= 1


def test_the_screen_after_each_step_is_a_full_repaint(qtbot: Any) -> None:
    """Pieces are repainted as pieces: what is on screen afterwards must be what a repaint
    of everything shows (exactly at 100 %; within Qt's smooth-scaling rounding, a few
    levels, when zoomed out), so no piece is left stale."""
    from PIL import ImageChops

    dialog = ImageEditor(EditSession.for_image(screenshot((1920, 1080))), "wide.png")
    qtbot.addWidget(dialog)
    dialog.resize(1000, 700)
    show(qtbot, dialog)
    view = dialog.canvas.viewport()

    def on_screen() -> Image.Image:
        window = dialog.screen().grabWindow(dialog.winId()).toImage()
        corner = view.mapTo(dialog, QPoint(0, 0))
        return as_pil(window.copy(corner.x(), corner.y(), view.width(), view.height()))

    steps = [Shape("rect", Box(50, 50, 1800, 900), "#e53935", 8), Arrow(10, 10, 1900, 1000),
             Shape("ellipse", Box(100, 80, 1700, 900), "#1e88e5", 6),
             Redact(Box(300, 300, 900, 400)), Crop(Box(200, 150, 1400, 700)),
             Crop(Box(600, 100, 1200, 500)),  # the crop repaints only what it changes too,
             Crop(Box(600, 137, 1200, 463))]  # and its dashes along an edge it keeps
    for zoom, tolerance in ((None, 3), (1.0, 0)):
        if zoom is None:
            dialog.canvas.fit()
        else:
            dialog.canvas.zoom_to(zoom)
            dialog.canvas.centerOn(900, 500)
        stack = dialog.undo_stack  # undo and redo put back kept pixels: checked the same
        for action in [*[partial(dialog.add_step, s) for s in steps], stack.undo, stack.undo,
                       stack.redo, stack.redo, stack.undo]:
            action()
            QApplication.processEvents()
            shown = on_screen()
            view.repaint()
            worst = max(ImageChops.difference(shown, on_screen()).convert("L").getextrema())
            assert worst <= tolerance, (zoom, action)
        while stack.canUndo():
            stack.undo()


def test_zoom_keys_and_ctrl_wheel(qtbot: Any, editor: ImageEditor) -> None:
    editor.canvas.zoom_to(1.0)
    qtbot.keyClick(editor.canvas, Qt.Key.Key_Equal, Qt.KeyboardModifier.ControlModifier)
    assert editor.canvas.zoom() == pytest.approx(1.25)
    qtbot.keyClick(editor.canvas, Qt.Key.Key_Minus, Qt.KeyboardModifier.ControlModifier)
    assert editor.canvas.zoom() == pytest.approx(1.0)
    qtbot.keyClick(editor.canvas, Qt.Key.Key_0, Qt.KeyboardModifier.ControlModifier)
    assert editor.canvas.zoom() <= 1.0
    from PySide6.QtGui import QWheelEvent

    before = editor.canvas.zoom()
    centre = QPointF(editor.canvas.viewport().rect().center())
    wheel = QWheelEvent(centre, editor.canvas.viewport().mapToGlobal(centre), QPoint(0, 0),
                        QPoint(0, 120), Qt.MouseButton.NoButton,
                        Qt.KeyboardModifier.ControlModifier, Qt.ScrollPhase.NoScrollPhase,
                        False)
    QApplication.sendEvent(editor.canvas.viewport(), wheel)
    assert editor.canvas.zoom() == pytest.approx(before * 1.25)


def test_middle_button_pans_without_drawing(qtbot: Any, editor: ImageEditor) -> None:
    editor.canvas.zoom_to(4.0)
    editor.canvas.centerOn(320, 200)
    before = editor.canvas.horizontalScrollBar().value()
    drag(qtbot, editor, [(320, 200), (300, 200)], Qt.MouseButton.MiddleButton)
    assert editor.canvas.horizontalScrollBar().value() != before
    assert not editor.steps


def test_space_drag_pans_and_the_tool_still_draws_after(qtbot: Any, editor: ImageEditor) -> None:
    editor.canvas.zoom_to(4.0)
    editor.canvas.centerOn(320, 200)
    bars = editor.canvas.horizontalScrollBar(), editor.canvas.verticalScrollBar()
    before = [b.value() for b in bars]
    qtbot.keyPress(editor.canvas, Qt.Key.Key_Space)
    assert editor.canvas.viewport().cursor().shape() == Qt.CursorShape.OpenHandCursor
    centre = editor.canvas.viewport().rect().center()
    qtbot.mousePress(editor.canvas.viewport(), Qt.MouseButton.LeftButton, pos=centre)
    send_mouse(editor.canvas.viewport(), QEvent.Type.MouseMove, centre + QPoint(-60, -40),
               Qt.MouseButton.NoButton, Qt.MouseButton.LeftButton)
    qtbot.mouseRelease(editor.canvas.viewport(), Qt.MouseButton.LeftButton,
                       pos=centre + QPoint(-60, -40))
    qtbot.keyRelease(editor.canvas, Qt.Key.Key_Space)
    assert [b.value() for b in bars] == [before[0] + 60, before[1] + 40]
    assert not editor.steps  # panning drew nothing
    assert editor.canvas.viewport().cursor().shape() == Qt.CursorShape.CrossCursor
    editor.canvas.zoom_to(1.0)
    editor.canvas.centerOn(320, 200)
    drag(qtbot, editor, [(100, 100), (140, 130)])
    assert editor.steps.steps == (Shape("rect", Box(100, 100, 40, 30), "#e53935",
                                        editor.canvas.size_for("stroke")),)


def test_colour_and_width_keys_pick_from_the_palette(qtbot: Any, editor: ImageEditor) -> None:
    from app.ui.dialogs.image_editor import COLOURS

    for index, value in enumerate(COLOURS.values(), 1):
        qtbot.keyClick(editor.canvas, getattr(Qt.Key, f"Key_{index}"))
        assert editor.canvas.color == value and editor.colour_buttons[value].isChecked()
    for level in range(3):
        qtbot.keyClick(editor.canvas, getattr(Qt.Key, f"Key_{level + 1}"),
                       Qt.KeyboardModifier.ShiftModifier)
        assert editor.canvas.width_level == level and editor.width_buttons[level].isChecked()
    qtbot.keyClick(editor.canvas, Qt.Key.Key_1)  # red
    qtbot.keyClick(editor.canvas, Qt.Key.Key_R)
    drag(qtbot, editor, [(100, 100), (140, 130)])
    assert editor.steps.steps[-1] == Shape("rect", Box(100, 100, 40, 30), "#e53935", 8)  # thick
    for tool, key in (("ellipse", "E"), ("arrow", "A"), ("highlight", "H"), ("text", "T"),
                      ("callout", "N"), ("crop", "C"), ("redact", "X"), ("rect", "R")):
        qtbot.keyClick(editor.canvas, getattr(Qt.Key, f"Key_{key}"))
        assert editor.canvas.tool == tool and editor.tool_buttons[tool].isChecked()


def test_every_tool_button_has_a_shortcut_tooltip_and_name(editor: ImageEditor) -> None:
    keys = set()
    for button in editor.tool_buttons.values():
        tip = button.toolTip()
        assert tip.endswith(")") and button.accessibleName()
        keys.add(tip.rsplit("(", 1)[1].rstrip(")"))
    assert keys == {"R", "E", "A", "H", "T", "N", "C", "X"}


def test_closing_with_changes_asks_keep_discard_cancel(qtbot: Any, editor: ImageEditor) -> None:
    accepted: list[tuple[EditSteps, bool]] = []
    discarded: list[bool] = []
    editor.editsAccepted.connect(lambda steps, keep: accepted.append((steps, keep)))
    editor.editsDiscarded.connect(lambda: discarded.append(True))
    qtbot.keyClick(editor.canvas, Qt.Key.Key_X)
    drag(qtbot, editor, [(10, 10), (50, 50)])
    editor.close()
    box = editor.findChild(QMessageBox)
    assert box is not None and box.isVisible()  # open(): window-modal, nothing blocks
    assert box.windowModality() == Qt.WindowModality.WindowModal
    names = [b.text().replace("&", "") for b in box.buttons()]
    assert set(names) == {"Keep edits", "Discard", "Cancel"}
    cancel = box.button(QMessageBox.StandardButton.Cancel)
    cancel.click()
    assert editor.isVisible() and not accepted and not discarded
    editor.close()
    box = next(b for b in editor.findChildren(QMessageBox) if b.isVisible())
    keep = next(b for b in box.buttons() if b.text().replace("&", "") == "Keep edits")
    keep.click()
    assert not editor.isVisible()
    assert accepted == [(EditSteps((Redact(Box(10, 10, 40, 40)),)), False)]


def test_closing_without_changes_discards_quietly(qtbot: Any, editor: ImageEditor) -> None:
    discarded: list[bool] = []
    editor.editsDiscarded.connect(lambda: discarded.append(True))
    editor.close()
    assert discarded == [True] and editor.findChild(QMessageBox) is None


def test_reopening_with_steps_shows_them(qtbot: Any) -> None:
    steps = EditSteps((Callout(100, 100, "a", size=14), Redact(Box(0, 0, 30, 30))))
    session = EditSession.for_image(screenshot((640, 400)), steps=steps)
    dialog = ImageEditor(session, "again.png")
    qtbot.addWidget(dialog)
    show(qtbot, dialog)
    assert dialog.steps == steps and not dialog.changed()
    expected = annotate.render(screenshot((640, 400)), steps)
    assert as_pil(dialog.canvas.preview()).tobytes() == expected.tobytes()
    # The earlier steps are undoable too: a kept original's redaction can be taken back.
    qtbot.keyClick(dialog.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert dialog.steps == EditSteps(steps.steps[:1]) and dialog.changed()
    shown = as_pil(dialog.canvas.preview())
    assert shown.crop((0, 0, 30, 30)).tobytes() == screenshot((640, 400)).crop(
        (0, 0, 30, 30)).tobytes()
    qtbot.keyClick(dialog.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(dialog.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # no-op
    assert not dialog.steps
    assert as_pil(dialog.canvas.preview()).tobytes() == screenshot((640, 400)).tobytes()
    for _ in range(2):
        qtbot.keyClick(dialog.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier
                       | Qt.KeyboardModifier.ShiftModifier)
    assert dialog.steps == steps and not dialog.changed()
    assert as_pil(dialog.canvas.preview()).tobytes() == expected.tobytes()


@pytest.mark.parametrize("scale", ["2", "1.5"])
def test_gestures_and_preview_hold_at_other_device_pixel_ratios(scale: str) -> None:
    """The same gesture and preview tests in a process whose screens have another DPR."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "QT_SCALE_FACTOR": scale, "PYTHONPATH": str(root),
           "STEPDESK_EDITOR_DPR_CHECK": scale}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", __file__, "-k",
         "tool_makes or preview_is or undo_and_redo or past_the_edge or space_drag or "
         "report_the_device_pixel_ratio"],
        cwd=root, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "6 passed" in result.stdout


def test_report_the_device_pixel_ratio(editor: ImageEditor) -> None:
    """Run by the test above: the editor really is at the requested ratio there."""
    import os

    wanted = float(os.environ.get("STEPDESK_EDITOR_DPR_CHECK", "1"))
    assert editor.canvas.viewport().devicePixelRatioF() == pytest.approx(wanted)


@pytest.mark.parametrize("slice_pixels", [None, 5000])
@pytest.mark.parametrize("size", [(1280, 800), (3001, 1876)])
def test_inked_marks_and_kept_pixels_leave_exactly_the_full_render(
        qtbot: Any, monkeypatch: Any, size: tuple[int, int], slice_pixels: int | None) -> None:
    """A new shape or arrow is inked over what is shown, and undo and redo put back the
    pixels kept when the steps were last shown (large ones kept in slices; here, at 5000
    pixels a slice, nearly all): after every change the picture must be Pillow's render of
    all the steps, pixel for pixel (at 1:1 and on a reduced view), or what is shown would
    drift from what is sent."""
    from app.ui.widgets import edit_layer

    if slice_pixels is not None:
        monkeypatch.setattr(edit_layer, "SLICE", slice_pixels)
    f = size[0] / 1280
    # The reduced view as a huge image gets it (at an awkward scale), at a size a test
    # can render in full two dozen times.
    session = EditSession(size[0], size[1], screenshot((1280, 800)), 1280 / size[0], (),
                          EditSteps())
    dialog = ImageEditor(session, "shot.png")
    qtbot.addWidget(dialog)

    def box(x: int, y: int, w: int, h: int) -> Box:
        return Box(round(x * f), round(y * f), round(w * f), round(h * f))

    def check(what: str) -> None:
        raw, whole = session.rgbx(dialog.steps)
        assert as_pil(dialog.canvas.layer.image).tobytes() == Image.frombytes(
            "RGB", (whole.w, whole.h), raw, "raw", "RGBX").tobytes(), what

    stack = dialog.undo_stack
    steps = [Highlight(((round(50 * f), round(400 * f)), (round(900 * f), round(420 * f))),
                       "#fdd835", round(30 * f)),
             Redact(box(300, 200, 400, 150)),
             Shape("ellipse", box(100, 80, 1000, 600), "#1e88e5", round(6 * f)),
             Arrow(round(20 * f), round(20 * f), round(1200 * f), round(700 * f), "#43a047",
                   round(8 * f)),
             Callout(round(600 * f), round(300 * f), "under a frame", size=round(14 * f)),
             Text(round(200 * f), round(600 * f), "label", "#e53935", round(28 * f)),
             Shape("rect", box(250, 150, 600, 500), "#212121", round(4 * f)),
             Redact(box(900, 500, 200, 200)),
             Shape("rect", box(880, 480, 300, 250), "#e53935", round(8 * f))]
    for step in steps:
        dialog.add_step(step)
        check(f"add {step.kind}")
    for _ in range(6):
        stack.undo()
        check(f"undo to {len(dialog.steps.steps)}")
    for _ in range(4):
        stack.redo()
        check(f"redo to {len(dialog.steps.steps)}")
    stack.undo()
    dialog.add_step(Shape("ellipse", box(200, 300, 700, 300), "#e53935", round(4 * f)))
    check("a new branch after an undo")
    while stack.canUndo():
        stack.undo()
    check("all undone")
    while stack.canRedo():
        stack.redo()
    check("all redone")
    assert len(dialog.steps.steps) == 7


def test_pixels_kept_for_going_back_stay_within_their_budget(qtbot: Any) -> None:
    """The oldest kept pieces go first, one larger than the whole budget is not kept, and
    steps whose pixels were forgotten are rendered again, to the same picture."""
    from app.ui.widgets.edit_canvas import EditCanvas
    from app.ui.widgets.edit_layer import PixelMemory

    memory = PixelMemory(budget=120_000)
    one, two, three = (EditSteps((Shape("rect", Box(10 * n, 10, 50, 50)),)) for n in (1, 2, 3))
    piece = QImage(100, 100, QImage.Format.Format_RGB32)  # 40,000 bytes
    for shown in (one, two, three):
        memory.keep(shown, EditSteps(), [(Box(0, 0, 100, 100), piece)])
    memory.keep(one, two, [(Box(0, 0, 100, 100), piece)])  # over budget: `one` goes
    assert memory.take(one, EditSteps()) is None
    assert memory.take(two, EditSteps()) is not None
    assert memory.take(two, EditSteps()) is None  # used once
    memory.keep(two, one, [(Box(0, 0, 200, 200), QImage(200, 200, QImage.Format.Format_RGB32))])
    assert memory.take(two, one) is None  # 160,000 bytes: never kept

    session = EditSession.for_image(screenshot((640, 400)))
    canvas = EditCanvas(session, memory=PixelMemory(budget=50_000))  # a piece or two
    qtbot.addWidget(canvas)
    history = [EditSteps(), EditSteps((Redact(Box(100, 100, 300, 200)),))]
    history.append(EditSteps((*history[-1].steps, Shape("ellipse", Box(50, 50, 500, 300)))))
    history.append(EditSteps((*history[-1].steps, Arrow(600, 20, 20, 380))))
    for steps in [*history, *history[::-1], *history, history[1], history[3]]:
        canvas.show_steps(steps)
        raw, whole = session.rgbx(steps)
        assert as_pil(canvas.layer.image).tobytes() == Image.frombytes(
            "RGB", (whole.w, whole.h), raw, "raw", "RGBX").tobytes()


def _png(im: Image.Image, **options: Any) -> bytes:
    import io

    buf = io.BytesIO()
    im.save(buf, "PNG", **options)
    return buf.getvalue()


@pytest.mark.parametrize("kind", ["plain png", "interlaced png", "png with alpha",
                                  "png with gamma", "png with text", "jpeg"])
def test_opening_for_editing_shows_exactly_what_pillow_renders(qtbot: Any, kind: str) -> None:
    """The fast path (Qt decodes a plain PNG once) and the Pillow path show the same pixels,
    and the copy steps are rendered from holds the same pixels as Pillow's decode."""
    import io

    from app.ui.widgets.edit_canvas import open_for_editing, plain_png

    shot = screenshot((640, 400))
    if kind == "plain png":
        data = _png(shot)
    elif kind == "interlaced png":
        data = _png(shot, interlace=1)
    elif kind == "png with alpha":
        rgba = shot.convert("RGBA")
        rgba.putpixel((5, 5), (0, 0, 0, 0))
        data = _png(rgba)
    elif kind == "png with gamma":
        data = _png(shot)
        data = data[:33] + _chunk(b"gAMA", struct.pack(">I", 80000)) + data[33:]  # after IHDR
    elif kind == "png with text":
        data = _png(shot)
        data = data[:33] + _chunk(b"tEXt", b"Comment\0secret host name") + data[33:]
    else:
        buf = io.BytesIO()
        shot.save(buf, "JPEG", quality=80)
        data = buf.getvalue()
    assert plain_png(data) == (kind in ("plain png", "interlaced png"))
    steps = EditSteps((Redact(Box(10, 60, 200, 30)), Callout(300, 200, "x", size=14)))
    opened = open_for_editing(data, "shot", steps)
    dialog = ImageEditor(opened, "shot")
    qtbot.addWidget(dialog)
    base, notes = annotate.load_base(data, "shot")
    assert opened.session.view.tobytes() == base.tobytes()
    assert opened.session.notes == notes
    assert as_pil(dialog.canvas.preview()).tobytes() == annotate.render(base, steps).tobytes()
    if kind == "png with text":
        assert "removed metadata (comments)" in dialog.status.text()


def test_a_damaged_png_that_looks_plain_opens_as_pillow_reads_it(qtbot: Any) -> None:
    """Qt returns a null image for damaged pixel data: the editor falls back to Pillow."""
    from app.ui.widgets.edit_canvas import open_for_editing, plain_png

    data = bytearray(_png(screenshot((64, 40))))
    start = data.index(b"IDAT") + 4
    data[start:start + 40] = bytes(40)  # zeroed zlib stream; every chunk still in place
    assert plain_png(bytes(data))
    opened = open_for_editing(bytes(data), "broken.png", EditSteps())
    base, _notes = annotate.load_base(bytes(data), "broken.png")
    assert opened.session.view.tobytes() == base.tobytes()
    assert (opened.picture.width(), opened.picture.height()) == (64, 40)
    assert not plain_png(bytes(data[:-12]))  # no IEND: truncated, straight to Pillow


@pytest.mark.parametrize("fmt", ["GIF", "PNG", "WEBP"])
def test_an_animated_image_opens_on_its_first_frame_and_the_editor_says_so(
        qtbot: Any, fmt: str) -> None:
    import io

    from app.ui.widgets.edit_canvas import open_for_editing

    frames = [Image.new("RGB", (64, 48), c) for c in ((255, 0, 0), (0, 0, 255))]
    buf = io.BytesIO()
    frames[0].save(buf, fmt, save_all=True, append_images=frames[1:], duration=100, loop=0,
                   **({"lossless": True} if fmt == "WEBP" else {}))
    opened = open_for_editing(buf.getvalue(), f"anim.{fmt.lower()}", EditSteps())
    dialog = ImageEditor(opened, "anim")
    qtbot.addWidget(dialog)
    assert as_pil(dialog.canvas.preview()).getpixel((30, 30)) == (255, 0, 0)
    assert "first frame of an animated" in dialog.status.text()


def _chunk(kind: bytes, payload: bytes) -> bytes:
    body = kind + payload
    return struct.pack(">I", len(payload)) + body + struct.pack(">I", zlib.crc32(body))


def test_the_editor_fits_its_screen(qtbot: Any, editor: ImageEditor) -> None:
    """At 150 % scaling on a 1080p screen a fixed 1100×760 editor is taller than the screen
    and "Use edited image" is out of reach; it opens within the screen's free area."""
    free = editor.screen().availableGeometry()
    assert editor.width() <= free.width() and editor.height() <= free.height()
    assert editor.done_button.isVisible()
