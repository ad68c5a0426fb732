"""Templates and results in the window: picker, turn-only effort, drop targets, CSV, frames."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QGuiApplication
from PySide6.QtWidgets import QApplication, QFileDialog

from app.templates.builtin import load_builtins
from app.ui.dialogs.template_picker import TemplatePicker
from app.ui.widgets.composer import Composer
from app.ui.widgets.drop_overlay import DropOverlay
from tests import media_factory as mf
from tests.ui.harness import close_window, next_signal, open_window, run, until
from tests.ui.test_window_media import make_png

BUILTINS = {t.slug: t for t in load_builtins()}
TABLE_ANSWER = ("Here you go:\n\n| Item | Total |\n|:--|--:|\n| Café, grand | 3,20 € |\n"
                "| Pipe \\| fitting | |\n\n```python\nprint('hi')\n```\n")


# The offscreen platform cannot grab the keyboard for a popup, nor raise windows.
OFFSCREEN_POPUP = pytest.mark.qt_log_ignore("grabbing the keyboard", "does not support raise")


@OFFSCREEN_POPUP
def test_picker_filters_as_you_type_and_enter_picks(qtbot: Any) -> None:
    picker = TemplatePicker()
    qtbot.addWidget(picker)
    picker.set_templates(list(BUILTINS.values()))
    anchor = Composer()
    qtbot.addWidget(anchor)
    anchor.show()
    picker.popup_at(anchor)
    assert picker.visible_slugs() == list(BUILTINS)
    qtbot.keyClicks(picker.filter, "video")
    assert picker.visible_slugs() == ["screen-recording-diagnostics", "action-timeline",
                                      "alt-text"]
    qtbot.keyClick(picker.filter, Qt.Key.Key_Down)
    with qtbot.waitSignal(picker.picked) as picked:
        qtbot.keyClick(picker.filter, Qt.Key.Key_Return)
    assert picked.args[0].slug == "action-timeline"
    assert not picker.isVisible()
    picker.popup_at(anchor)
    qtbot.keyClicks(picker.filter, "no such thing")
    assert picker.visible_slugs() == [] and picker.empty.isVisible()


def test_composer_template_fills_prompt_and_shows_turn_only_effort(qtbot: Any) -> None:
    composer = Composer()
    qtbot.addWidget(composer)
    composer.show()
    composer.set_effort("medium")
    composer.set_text("in French")
    receipt, code = BUILTINS["receipt-to-table"], BUILTINS["screenshot-to-code"]
    composer.set_template(receipt)
    assert composer.text() == receipt.prompt + "\n\nin French"
    assert composer.template_bar.isVisible()
    assert "Effort: Low (template)" in composer.template_label.text()
    composer.set_template(code)  # switching keeps the user's own words, not the old prompt
    assert composer.text() == code.prompt + "\n\nin French"
    assert "Effort: High (template)" in composer.template_label.text()
    assert composer.current_effort() == "medium"  # the selector itself never changes
    composer.template_clear.click()
    assert composer.template is None and not composer.template_bar.isVisible()
    assert composer.text() == code.prompt + "\n\nin French"


def test_drop_overlay_zones_per_pinned_template(qtbot: Any) -> None:
    host = Composer()
    qtbot.addWidget(host)
    host.resize(900, 600)
    host.show()
    overlay = DropOverlay(host)
    overlay.show_over(host, targets=[("receipt-to-table", "🧾 Receipt → table"),
                                     ("chart-to-data", "📊 Chart → data")])
    zones = dict(overlay.zones())
    assert list(zones) == ["", "receipt-to-table", "chart-to-data"]
    assert overlay.target_at(zones["chart-to-data"].center()) == "chart-to-data"
    assert overlay.target_at(zones[""].center()) is None
    overlay.show_over(host)
    assert overlay.zones() == []


def drag_drop(window: Any, mime: QMimeData, slug: str | None) -> None:
    """Drag `mime` over the window and drop it on the zone of `slug` (None: "Attach")."""
    action = Qt.DropAction.CopyAction
    buttons, keys = Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier
    try:
        enter = QDragEnterEvent(QPointF(200, 200), action, mime, buttons, keys)
    except TypeError:  # PySide6 < 6.12 only has the QPoint signature
        enter = QDragEnterEvent(QPointF(200, 200).toPoint(), action, mime, buttons, keys)
    QApplication.sendEvent(window, enter)
    zones = dict(window.overlay.zones())
    where = QPointF(window.overlay.mapTo(window, zones[slug or ""].center()))
    QApplication.sendEvent(window, QDropEvent(where, action, mime, buttons, keys))


def test_drop_on_a_pinned_template_attaches_and_sends_with_its_effort(
        qloop: Any, gui_env: dict[str, str], standin: Any, tmp_path: Path) -> None:
    image = make_png(tmp_path / "receipt.png")
    video = mf.mp4_h264(tmp_path)

    async def scenario() -> None:
        window = await open_window(gui_env)
        window.composer.set_effort("high")
        images, videos = QMimeData(), QMimeData()
        images.setUrls([QUrl.fromLocalFile(str(image))])
        videos.setUrls([QUrl.fromLocalFile(str(video))])
        image_targets = [slug for slug, _ in window.drop_targets(images)]
        assert image_targets == [s for s, t in BUILTINS.items() if t.pinned and
                                 t.media == "image"]
        assert [slug for slug, _ in window.drop_targets(videos)] == [
            "screen-recording-diagnostics", "action-timeline"]
        ended = await next_signal(window.controllers.turns.turn_ended,
                                  lambda: drag_drop(window, images, "receipt-to-table"))
        assert ended[2] == "complete", ended
        body = standin.chat_requests()[-1].json
        assert body["reasoning_effort"] == "low"
        parts = body["messages"][-1]["content"]
        assert parts[0]["type"] == "image_url"
        assert parts[-1]["text"] == BUILTINS["receipt-to-table"].prompt
        assert window.composer.template is None and window.composer.text() == ""
        conversations = window.controllers.conversations
        await until(lambda: conversations.current is not None, what="the new conversation")
        conversation = await conversations.library.services.store.get_conversation(
            conversations.current)
        assert conversation.effort == "high"  # the template's effort was for its turn only
        await window.controllers.conversations.show(window.controllers.conversations.current)
        assert window.composer.current_effort() == "high"
        await close_window(window)

    run(qloop, scenario())


@OFFSCREEN_POPUP
def test_template_without_media_asks_for_it_then_sends(
        qloop: Any, gui_env: dict[str, str], standin: Any, tmp_path: Path) -> None:
    chart = BUILTINS["chart-to-data"]

    async def scenario() -> None:
        window = await open_window(gui_env)
        window.open_template_picker()
        await until(lambda: window.template_flow.picker.isVisible(), what="the picker")
        assert "chart-to-data" in window.template_flow.picker.visible_slugs()
        window.template_flow.picker.hide()
        window.template_flow.use(chart)
        assert window.composer.text() == chart.prompt
        assert "add an image" in window.composer.template_label.text()
        window.composer.edit.submit.emit()  # no image yet: refused, nothing sent
        assert "needs an image" in window.statusBar().currentMessage()
        assert standin.chat_requests() == []
        window.attachments.add_paths([make_png(tmp_path / "chart.png")])
        await until(lambda: "ready to send" in window.composer.template_label.text(),
                    what="the hint to update")
        ended = await next_signal(window.controllers.turns.turn_ended,
                                  window.composer.edit.submit.emit)
        assert ended[2] == "complete", ended
        body = standin.chat_requests()[-1].json
        assert body["reasoning_effort"] == chart.effort
        assert body["messages"][-1]["content"][-1]["text"] == chart.prompt
        await close_window(window)

    run(qloop, scenario())


def answer_widget(window: Any) -> Any:
    [reply] = [m for m in window.controllers.conversations.shown_messages.values()
               if m.role == "assistant"]
    return window.view.message_widget(reply.id)



def test_tables_copy_and_save_as_csv_and_code_saves_with_extension(
        qloop: Any, gui_env: dict[str, str], standin: Any, tmp_path: Path) -> None:
    standin.reply(content=TABLE_ANSWER)

    async def scenario() -> None:
        window = await open_window(gui_env)
        window.composer.set_text("Tabulate")
        await next_signal(window.controllers.turns.turn_ended,
                                  window.composer.edit.submit.emit)
        await until(lambda: any(m.role == "assistant" and m.status == "complete"
                                for m in window.controllers.conversations.shown_messages.values()),
                    what="the reply")
        body = answer_widget(window).body
        await until(lambda: "Copy as CSV" in body.toPlainText(), what="the table links")
        expected = 'Item,Total\r\n"Café, grand","3,20 €"\r\nPipe | fitting,\r\n'
        body.anchorClicked.emit(QUrl("action:copy-table/0"))
        assert QGuiApplication.clipboard().text() == expected
        body.anchorClicked.emit(QUrl("action:save-table/0"))
        dialog = next(w for w in QApplication.topLevelWidgets()
                      if isinstance(w, QFileDialog) and w.isVisible())
        assert dialog.windowTitle() == "Save table as CSV"
        assert Path(dialog.selectedFiles()[0]).name == "table-1.csv"
        target = tmp_path / "out.csv"
        dialog.fileSelected.emit(str(target))
        dialog.close()
        assert target.read_bytes() == expected.encode("utf-8")
        assert list(csv.reader(io.StringIO(target.read_text(encoding="utf-8"))))[1] == [
            "Café, grand", "3,20 €"]
        body.anchorClicked.emit(QUrl("action:save-code/0"))
        dialog = next(w for w in QApplication.topLevelWidgets()
                      if isinstance(w, QFileDialog) and w.isVisible())
        assert Path(dialog.selectedFiles()[0]).name == "code.py"
        dialog.close()
        await close_window(window)

    run(qloop, scenario())


@OFFSCREEN_POPUP
def test_timestamps_in_a_video_answer_show_that_frame(
        qloop: Any, gui_env: dict[str, str], standin: Any, tmp_path: Path) -> None:
    video = mf.mp4_h264(tmp_path, seconds=2.0, size=(96, 64))
    standin.reply(content="- 00:00 — starts\n- 00:01 — bars move\n- 09:00 — not in it\n")

    async def scenario() -> None:
        window = await open_window(gui_env)
        window.attachments.add_paths([video])
        await until(lambda: [i.state for i in window.composer.tray.items()] == ["ready"],
                    what="the video to be ready")
        window.template_flow.use(BUILTINS["action-timeline"])
        await until(lambda: any(m.role == "assistant" and m.status == "complete"
                                for m in window.controllers.conversations.shown_messages.values()),
                    what="the reply")
        assert standin.chat_requests()[-1].json["reasoning_effort"] == "medium"
        body = answer_widget(window).body
        await until(lambda: "00:01" in body.toPlainText(), what="the answer")
        html = body.toHtml()
        assert 'href="action:seek/1"' in html and 'href="action:seek/0"' in html
        assert "action:seek/540" not in html  # past the end of a 2-second video
        body.anchorClicked.emit(QUrl("action:seek/1"))
        await until(lambda: window.frame_preview is not None
                    and window.frame_preview.image.pixmap() is not None
                    and not window.frame_preview.image.pixmap().isNull(),
                    what="the frame")
        preview = window.frame_preview
        assert preview.caption.text() == "clip.mp4 at 00:01"
        assert preview.image.pixmap().width() == 96
        preview.close()
        # A follow-up without media is still about that video: its times link too.
        standin.reply(content="At 00:01 the bars move.")
        window.composer.set_text("What happens at one second?")
        await next_signal(window.controllers.turns.turn_ended,
                                  window.composer.edit.submit.emit)
        await until(lambda: len([m for m in window.controllers.conversations.shown_messages.values()
                                 if m.role == "assistant" and m.status == "complete"]) == 2,
                    what="the second reply")
        second = max(m.id for m in window.controllers.conversations.shown_messages.values()
                     if m.role == "assistant")
        body = window.view.message_widget(second).body
        await until(lambda: 'href="action:seek/1"' in body.toHtml(), what="the linked time")
        await close_window(window)

    run(qloop, scenario())


def visible_message_box() -> Any:
    from PySide6.QtWidgets import QMessageBox

    return next((w for w in QApplication.topLevelWidgets()
                 if isinstance(w, QMessageBox) and w.isVisible()), None)


@OFFSCREEN_POPUP
def test_manage_templates_new_duplicate_move_pin_delete(
        qloop: Any, gui_env: dict[str, str]) -> None:
    async def scenario() -> None:
        window = await open_window(gui_env)
        actions = window.template_flow
        catalogue = actions.templates.catalogue()
        picker = actions.picker
        assert [a for a, _ in picker.actions_for(BUILTINS["receipt-to-table"])] == [
            "duplicate", "unpin"]

        picker.new_button.click()  # a new template, from the picker
        await until(lambda: actions.editor is not None and actions.editor.isVisible(),
                    what="the editor")
        editor = actions.editor
        editor.name.setText("Invoice → JSON")
        editor.output.setCurrentText("code")
        editor.language.setText("json")
        editor.effort.setCurrentText("low")
        editor.prompt.setPlainText("Extract the invoice as JSON.")
        editor.slug.setText("receipt-to-table")  # taken: refused, the editor stays open
        editor._save()
        await until(lambda: editor.error.isVisible(), what="the clash to be reported")
        assert "already used" in editor.error.text() and editor.isVisible()
        editor.slug.clear()
        editor._save()
        await until(lambda: actions.editor is None, what="the editor to close")
        mine = await catalogue.require("invoice-json")
        assert (mine.effort, mine.output.language, mine.builtin) == ("low", "json", False)

        actions.manage("duplicate", "screenshot-to-code")  # a built-in → an editable copy
        await until(lambda: actions.editor is not None, what="the copy's editor")
        assert actions.editor.replacing == "screenshot-to-code-2"
        actions.editor.effort.setCurrentText("medium")
        actions.editor._save()
        await until(lambda: actions.editor is None, what="the copy saved")
        assert (await catalogue.require("screenshot-to-code-2")).effort == "medium"
        assert (await catalogue.require("screenshot-to-code")).effort == "high"

        actions.manage("up", "screenshot-to-code-2")
        actions.manage("pin", "invoice-json")
        await until(lambda: any(t.slug == "invoice-json" for t in actions.templates.pinned),
                    what="the pin")
        own = [t.slug for t in await catalogue.all() if not t.builtin]
        assert own == ["screenshot-to-code-2", "invoice-json"]

        actions.manage("delete", "invoice-json")
        await until(lambda: visible_message_box() is not None, what="the confirmation")
        box = visible_message_box()
        next(b for b in box.buttons() if b.text() == "Delete").click()
        await until(lambda: not any(t.slug == "invoice-json" for t in actions.templates.pinned),
                    what="the deletion")
        assert await catalogue.get("invoice-json") is None
        await close_window(window)

    run(qloop, scenario())
