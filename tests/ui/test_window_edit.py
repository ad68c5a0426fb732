"""The image editor in the window: from the tray thumbnail, after a capture, and "Edit again"."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from typing import Any

from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMessageBox

from app.media.edit_steps import REDACT_FILL, Box, Callout, EditSteps, Redact, Shape
from app.ui.dialogs.image_editor import ImageEditor
from tests.clihelp import ask
from tests.test_media_annotate import every_pixel, screenshot
from tests.ui.harness import close_window, next_signal, open_window, run, until
from tests.ui.test_image_editor import drag


def open_editors() -> list[ImageEditor]:
    return [w for w in QApplication.topLevelWidgets()
            if isinstance(w, ImageEditor) and w.isVisible()]


async def the_editor() -> ImageEditor:
    await until(lambda: len(open_editors()) == 1, what="the image editor")
    editor = open_editors()[0]
    editor.activateWindow()
    await until(lambda: QApplication.focusWindow() is editor.windowHandle(),
                what="the editor to have the keyboard")
    editor.canvas.zoom_to(1.0)
    editor.canvas.centerOn(320, 200)
    return editor


def request_text(standin: Any) -> str:
    parts = standin.chat_requests()[-1].json["messages"][-1]["content"]
    return next(p["text"] for p in parts if p["type"] == "text")


def test_tray_thumbnail_opens_the_editor_and_the_send_carries_its_edits(
        qloop: Any, qtbot: Any, gui_env: dict[str, str], standin: Any, tmp_path: Path) -> None:
    shot = tmp_path / "shot.png"
    screenshot((640, 400)).save(shot)

    async def scenario() -> None:
        window = await open_window(gui_env, [shot])
        tray = window.composer.tray
        await until(lambda: [i.state for i in tray.items()] == ["ready"], what="ready")
        [item] = tray.items()
        assert item.edit_button.isVisibleTo(item) and item.edit_button.accessibleName()
        qtbot.mouseClick(item.thumb, Qt.MouseButton.LeftButton)
        editor = await the_editor()
        qtbot.keyClick(editor.canvas, Qt.Key.Key_X)
        drag(qtbot, editor, [(20, 60), (260, 90)])
        qtbot.keyClick(editor.canvas, Qt.Key.Key_N)
        drag(qtbot, editor, [(400, 200)])
        qtbot.keyClicks(editor.canvas.entry(), "the Send button")
        qtbot.keyClick(editor.canvas.entry(), Qt.Key.Key_Return)
        steps = editor.steps
        editor.done_button.click()
        await until(lambda: not open_editors(), what="the editor to close")
        await until(lambda: item.state == "ready" and "edited" in item.caption.text(),
                    what="the item prepared again with its edits")
        assert "1 mark, 1 redaction" in item.caption.text()

        # Reopening from the tray shows the same steps on the image as attached.
        qtbot.mouseClick(item.thumb, Qt.MouseButton.LeftButton)
        again = await the_editor()
        assert again.steps == steps and again.canvas.session.full_width == 640
        again.discard()
        await until(lambda: not open_editors(), what="the editor to close")

        window.composer.set_text("What does #1 do?")
        ended = await next_signal(window.controllers.turns.turn_ended,
                                  window.composer.edit.submit.emit)
        assert ended[2] == "complete", ended
        [uploaded] = standin.files.values()
        with Image.open(io.BytesIO(uploaded.data)) as sent:
            assert every_pixel(sent, (20, 60, 260, 90)) == {REDACT_FILL}
        assert ("Image 1 has marker 1 drawn on it by the user: 1 = the Send button."
                in request_text(standin))
        await close_window(window)

    run(qloop, scenario())


def test_mark_up_captures_opens_the_editor_for_the_capture(
        qloop: Any, qtbot: Any, gui_env: dict[str, str], standin: Any) -> None:
    buf = io.BytesIO()
    screenshot((320, 200)).save(buf, "PNG")

    async def scenario() -> None:
        window = await open_window(gui_env)
        window.markup_captures.setChecked(True)
        # Where a capture's bytes arrive (the grab needs a screen: tests/ui/test_capture_x11).
        window.add_capture(buf.getvalue())
        editor = await the_editor()
        assert editor.windowTitle().startswith("Edit Screenshot ")
        editor.discard()
        await until(lambda: not open_editors(), what="the editor to close")
        assert [i.state for i in window.composer.tray.items()] == ["ready"]
        await close_window(window)

    run(qloop, scenario())


def test_edit_again_after_restart_resends_a_new_version(
        qloop: Any, qtbot: Any, gui_env: dict[str, str], standin: Any, tmp_path: Path) -> None:
    shot = tmp_path / "shot.png"
    screenshot((640, 400)).save(shot)
    first = ask(standin.base_url, Path(gui_env["STEPDESK_DATA_DIR"]), "--file", str(shot),
                "--redact", "20,60,240,30", "--callout", "400,200,Send", "What is #1?")
    assert first.code == 0, first.err  # an earlier session (the CLI) sent the edited image

    async def scenario() -> None:
        window = await open_window(gui_env)
        conv = window.controllers.conversations
        await until(lambda: any(m.role == "user" for m in conv.shown_messages.values()),
                    what="the last conversation")
        user = next(m for m in conv.shown_messages.values() if m.role == "user")
        await until(lambda: window.view.message_widget(user.id) is not None, what="widget")
        [button] = window.view.message_widget(user.id).attachment_buttons
        assert button.edit_again is not None
        assert button.contextMenuPolicy() == Qt.ContextMenuPolicy.ActionsContextMenu
        opened: list[int] = []
        window.controllers.image_edits.opened.connect(lambda token, *_: opened.append(token))
        button.edit_again.trigger()
        editor = await the_editor()
        button.edit_again.trigger()  # already open: not a second editor (nor a second resend)
        await until(lambda: not any(t.get_name().startswith("edit-again-")
                                    for t in asyncio.all_tasks()), what="no editor opening")
        assert len(opened) == 1 and open_editors() == [editor]
        # The original was not kept: the redaction is burnt into what opens, not a step.
        assert editor.steps == EditSteps((Callout(400, 200, "Send", size=14),))
        shown = editor.canvas.preview()
        assert all(shown.pixelColor(x, y).getRgb()[:3] == REDACT_FILL
                   for x in range(20, 260, 7) for y in range(60, 90, 3))
        # Undo walks back through the earlier marks, never through the burnt-in redaction.
        qtbot.keyClick(editor.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
        qtbot.keyClick(editor.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
        assert not editor.steps
        shown = editor.canvas.preview()
        assert all(shown.pixelColor(x, y).getRgb()[:3] == REDACT_FILL
                   for x in range(20, 260, 7) for y in range(60, 90, 3))
        qtbot.keyClick(editor.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier
                       | Qt.KeyboardModifier.ShiftModifier)
        assert editor.steps == EditSteps((Callout(400, 200, "Send", size=14),))
        qtbot.keyClick(editor.canvas, Qt.Key.Key_R)
        drag(qtbot, editor, [(380, 180), (520, 240)])
        assert isinstance(editor.steps.steps[-1], Shape)
        editor.done_button.click()
        await until(lambda: len(standin.chat_requests()) == 2, what="the resend")
        await until(lambda: not window.controllers.turns.runs_in(conv.current),
                    what="the reply to finish")
        assert "1 = Send" in request_text(standin)
        versions = await window.controllers.image_edits._library.messages([user.id])
        assert versions and versions[0].content == "What is #1?"
        await until(lambda: len(standin.files) == 2, what="the new image uploaded")
        newest = list(standin.files.values())[-1]
        with Image.open(io.BytesIO(newest.data)) as sent:
            assert every_pixel(sent, (20, 60, 260, 90)) == {REDACT_FILL}
            assert sent.convert("RGB").getpixel((380 + 1, 210)) != (246, 246, 248)  # the box
        shown_user = [m for m in conv.shown_messages.values() if m.role == "user"]
        assert shown_user and shown_user[-1].version_of == user.id
        assert shown_user[-1].attachments[0].sha256 != user.attachments[0].sha256
        await close_window(window)

    run(qloop, scenario())


def test_a_send_while_the_editor_is_open_is_refused_until_it_closes(
        qloop: Any, qtbot: Any, gui_env: dict[str, str], standin: Any, tmp_path: Path) -> None:
    """The editor shows a redaction that is not in the attached bytes until it is used: a
    send from the composer meanwhile would upload what the user is blacking out."""
    shot = tmp_path / "secret.png"
    screenshot((640, 400)).save(shot)

    async def scenario() -> None:
        window = await open_window(gui_env, [shot])
        tray = window.composer.tray
        await until(lambda: [i.state for i in tray.items()] == ["ready"], what="ready")
        [item] = tray.items()
        opened: list[int] = []
        window.attachments.edit_opened.connect(lambda key, *_: opened.append(key))
        qtbot.mouseClick(item.thumb, Qt.MouseButton.LeftButton)
        editor = await the_editor()
        qtbot.mouseClick(item.thumb, Qt.MouseButton.LeftButton)  # already open: not twice
        await until(lambda: not any(t.get_name() == f"edit-{item.key}"
                                    for t in asyncio.all_tasks()), what="no editor opening")
        assert len(opened) == 1 and open_editors() == [editor]
        qtbot.keyClick(editor.canvas, Qt.Key.Key_X)
        drag(qtbot, editor, [(20, 60), (260, 90)])
        window.composer.set_text("What is on this screen?")
        conv = window.controllers.conversations
        error = await next_signal(conv.error, window.composer.edit.submit.emit)
        assert error[0].startswith("“secret.png” is still open in the image editor")
        assert not standin.chat_requests() and not standin.files
        assert window.composer.text() == "What is on this screen?"  # nothing lost
        editor.close()  # Keep edits / Discard / Cancel: Discard
        box = next(b for b in editor.findChildren(QMessageBox) if b.isVisible())
        next(b for b in box.buttons() if b.text().replace("&", "") == "Discard").click()
        await until(lambda: not open_editors(), what="the editor to close")
        ended = await next_signal(window.controllers.turns.turn_ended,
                                  window.composer.edit.submit.emit)
        assert ended[2] == "complete", ended
        [uploaded] = standin.files.values()  # discarded: the image as attached
        with Image.open(io.BytesIO(uploaded.data)) as sent:
            assert sent.convert("RGB").tobytes() == screenshot((640, 400)).tobytes()
        await close_window(window)

    run(qloop, scenario())


def test_keep_original_from_the_tray_lets_edit_again_take_a_redaction_back(
        qloop: Any, qtbot: Any, gui_env: dict[str, str], standin: Any, tmp_path: Path) -> None:
    shot = tmp_path / "shot.png"
    screenshot((640, 400)).save(shot)

    async def scenario() -> None:
        window = await open_window(gui_env, [shot])
        tray = window.composer.tray
        await until(lambda: [i.state for i in tray.items()] == ["ready"], what="ready")
        [item] = tray.items()
        qtbot.mouseClick(item.thumb, Qt.MouseButton.LeftButton)
        editor = await the_editor()
        assert not editor.keep_original.isChecked()  # the default: not kept
        qtbot.keyClick(editor.canvas, Qt.Key.Key_X)
        drag(qtbot, editor, [(20, 60), (260, 90)])
        editor.keep_original.setChecked(True)
        editor.done_button.click()
        await until(lambda: item.state == "ready" and "edited" in item.caption.text(),
                    what="the edited item")
        window.composer.set_text("Read it")
        ended = await next_signal(window.controllers.turns.turn_ended,
                                  window.composer.edit.submit.emit)
        assert ended[2] == "complete", ended
        [uploaded] = standin.files.values()
        with Image.open(io.BytesIO(uploaded.data)) as sent:
            assert every_pixel(sent, (20, 60, 260, 90)) == {REDACT_FILL}
        await close_window(window)

        window = await open_window(gui_env)  # a restart
        conv = window.controllers.conversations
        await until(lambda: any(m.role == "user" for m in conv.shown_messages.values()),
                    what="the last conversation")
        user = next(m for m in conv.shown_messages.values() if m.role == "user")
        await until(lambda: window.view.message_widget(user.id) is not None, what="widget")
        [button] = window.view.message_widget(user.id).attachment_buttons
        assert button.edit_again is not None
        button.edit_again.trigger()
        again = await the_editor()
        assert again.keep_original.isChecked()  # it was kept: keep it again by default
        assert again.steps == EditSteps((Redact(Box(20, 60, 240, 30)),))
        qtbot.keyClick(again.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
        assert not again.steps
        again.done_button.click()
        await until(lambda: len(standin.chat_requests()) == 2, what="the resend")
        await until(lambda: not window.controllers.turns.runs_in(conv.current),
                    what="the reply to finish")
        await until(lambda: len(standin.files) == 2, what="the new image uploaded")
        newest = list(standin.files.values())[-1]
        with Image.open(io.BytesIO(newest.data)) as sent:  # what the user chose to send now
            assert sent.convert("RGB").tobytes() == screenshot((640, 400)).tobytes()
        await close_window(window)

    run(qloop, scenario())


def test_after_the_editor_closes_typing_goes_to_the_composer(
        qloop: Any, qtbot: Any, gui_env: dict[str, str], standin: Any, tmp_path: Path) -> None:
    """The user marks up, clicks "Use edited image" (or discards) and types the question
    straight away: the keys must reach the composer, not a widget the editor left focused."""
    shot = tmp_path / "shot.png"
    screenshot((320, 200)).save(shot)

    async def scenario() -> None:
        window = await open_window(gui_env, [shot])
        tray = window.composer.tray
        await until(lambda: [i.state for i in tray.items()] == ["ready"], what="ready")
        [item] = tray.items()
        for leave in ("keep", "discard"):
            window.composer.edit.setFocus()
            qtbot.mouseClick(item.edit_button, Qt.MouseButton.LeftButton)
            editor = await the_editor()
            qtbot.keyClick(editor.canvas, Qt.Key.Key_R)
            drag(qtbot, editor, [(20, 20), (120, 90)])
            if leave == "keep":
                editor.done_button.click()
            else:
                editor.discard()
            await until(lambda: not open_editors(), what="the editor to close")
            await until(lambda: item.state == "ready", what="the item ready again")
            await until(lambda: QApplication.focusWindow() is window.windowHandle(),
                        what="the window to have the keyboard again")
            await until(lambda: QApplication.focusWidget() is window.composer.edit,
                        what=f"the composer to have the keyboard after {leave}")
        await close_window(window)

    run(qloop, scenario())
