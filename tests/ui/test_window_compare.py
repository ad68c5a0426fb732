"""Compare efforts in the real window against the stand-in: shortcut, view, keep, switcher."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from tests.ui.harness import close_window, next_signal, open_window, run, until


def test_shortcut_compares_keep_medium_and_the_conversation_continues_from_it(
        qloop: Any, gui_env: dict[str, str], standin: Any, tmp_path: Path) -> None:
    picture = tmp_path / "receipt.png"
    Image.new("RGB", (60, 40), (200, 180, 20)).save(picture)

    async def scenario() -> None:
        window = await open_window(gui_env, [picture])
        await until(lambda: window.compare is not None, what="compare wired")
        await until(lambda: window.attachments.ready(), what="the picture prepared")
        compare = window.controllers.compare
        window.composer.set_text("Which effort wins?")
        window.composer.edit.setFocus()
        finished = next_signal(compare.finished, lambda: QTest.keyClick(
            window.composer.edit, Qt.Key.Key_Return,
            Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier))
        await finished
        view = window.compare.view
        assert window.center.currentWidget() is view
        assert window.composer.text() == ""  # taken by the comparison, like a send
        await until(lambda: window.composer.tray.items() == [], what="the tray emptied")
        assert len(standin.upload_requests()) == 1  # one upload for three answers
        assert sorted(r.json["reasoning_effort"] for r in standin.chat_requests()) == [
            "high", "low", "medium"]
        await until(lambda: all(not c.has_pending for c in view.columns.values()),
                    what="columns drawn")
        kept = await next_signal(compare.kept, view.columns["medium"].keep_button.click)
        conversation_id, message_id = kept[0], kept[1]
        await until(lambda: any("✓" in line for line in window.efforts_panel.lines),
                    what="efforts panel marks the kept one")
        assert "✓ medium" in window.efforts_panel.lines[0]
        view.close_button.click()
        assert window.center.currentWidget() is window.view
        await until(lambda: window.view.message_widget(message_id) is not None,
                    what="the kept answer shown")
        widget = window.view.message_widget(message_id)
        assert widget.version_label.text() == "2 / 3"
        assert widget.version_info.text().startswith("medium · ")
        assert window.composer.current_effort() == "medium"  # remembered for the conversation
        window.composer.set_text("And next?")
        await next_signal(window.controllers.turns.turn_ended,
                          window.composer.edit.submit.emit)
        body = standin.chat_requests()[-1].json
        assert "at medium effort" in body["messages"][1]["content"]
        assert body["reasoning_effort"] == "medium"
        assert window.controllers.conversations.current == conversation_id
        await close_window(window)

        again = await open_window(gui_env)  # a restart: kept answer, panel and effort stay
        assert again.controllers.conversations.current == conversation_id
        await until(lambda: any("✓ medium" in line for line in again.efforts_panel.lines),
                    what="the efforts panel read from the store")
        assert again.efforts_panel.isVisibleTo(again)
        await until(lambda: again.view.message_widget(message_id) is not None,
                    what="the kept answer shown")
        assert again.view.message_widget(message_id).version_label.text() == "2 / 3"
        assert again.composer.current_effort() == "medium"
        await close_window(again)

    run(qloop, scenario())


def test_compare_action_on_a_sent_turn_and_the_button_menu(
        qloop: Any, gui_env: dict[str, str], standin: Any) -> None:
    async def scenario() -> None:
        window = await open_window(gui_env)
        await until(lambda: window.compare is not None, what="compare wired")
        window.composer.set_text("Once")
        await next_signal(window.controllers.turns.turn_ended, window.composer.edit.submit.emit)
        user = next(m for m in window.controllers.conversations.shown_messages.values()
                    if m.role == "user")
        await until(lambda: window.view.message_widget(user.id) is not None, what="turn")
        prebuilt = dict(window.compare.view.columns)  # built ahead, after start-up
        assert list(prebuilt) == ["low", "medium", "high"]
        button = window.view.message_widget(user.id).header_buttons["compare"]
        await next_signal(window.controllers.compare.finished, button.click)
        assert window.compare.view.columns == prebuilt
        assert all("Once" in c.answer.toPlainText() or c.answer.has_pending
                   for c in prebuilt.values())
        versions = await window.controllers.conversations.library.services.store.versions(
            next(m.id for m in window.controllers.conversations.shown_messages.values()
                 if m.role == "assistant"))
        assert len(versions) == 4  # the first answer stays a version
        menu = window.composer.compare_button.menu()
        labels = [a.text() for a in menu.actions()]
        assert labels[0] == "Low, medium and high" and "Low and high" in labels
        window.composer.set_text("Two only")
        await next_signal(window.controllers.compare.finished,
                          menu.actions()[labels.index("Low and high")].trigger)
        assert list(window.compare.view.columns) == ["low", "high"]
        await close_window(window)

    run(qloop, scenario())


def test_a_turn_sent_from_a_template_offers_its_effort_when_compared_later(
        qloop: Any, gui_env: dict[str, str], standin: Any, tmp_path: Path) -> None:
    """The template is remembered with the sent turn: the Compare action on it (no template
    active any more) offers "Use medium for this template" after keeping medium."""
    from app.templates.builtin import load_builtins

    picture = tmp_path / "receipt.png"
    Image.new("RGB", (60, 40), (200, 180, 20)).save(picture)
    receipt = next(t for t in load_builtins() if t.slug == "receipt-to-table")

    async def scenario() -> None:
        window = await open_window(gui_env, [picture])
        await until(lambda: window.compare is not None, what="compare wired")
        await until(lambda: window.attachments.ready(), what="the picture prepared")
        window.composer.set_template(receipt)
        await next_signal(window.controllers.turns.turn_ended, window.composer.edit.submit.emit)
        assert standin.chat_requests()[-1].json["reasoning_effort"] == "low"  # the template's
        assert window.composer.template is None
        user = next(m for m in window.controllers.conversations.shown_messages.values()
                    if m.role == "user")
        stored = await window.controllers.conversations.library.services.store.get_message(
            user.id)
        assert stored is not None and stored.template == "receipt-to-table"
        await until(lambda: window.view.message_widget(user.id) is not None, what="turn")
        button = window.view.message_widget(user.id).header_buttons["compare"]
        await next_signal(window.controllers.compare.finished, button.click)
        view = window.compare.view
        assert not view.template_button.isVisible()  # offered after keeping one
        await until(lambda: all(not c.has_pending for c in view.columns.values()),
                    what="columns drawn")
        kept = await next_signal(window.controllers.compare.kept,
                                 view.columns["medium"].keep_button.click)
        assert (kept[2], kept[3]) == ("medium", "receipt-to-table")
        assert view.template_button.isVisible()
        assert view.template_button.text() == "Use medium for this template"
        changed = await next_signal(window.controllers.templates.changed,
                                    view.template_button.click)
        assert next(t for t in changed[0] if t.slug == "receipt-to-table").effort == "medium"
        assert not view.template_button.isVisible()
        # The button going away is not enough to say it worked.
        await until(lambda: view.note.isVisible(), what="a word that the template changed")
        assert view.note.text() == "The template now uses medium effort."
        await close_window(window)

    run(qloop, scenario())


def test_comparing_in_a_new_conversation_leaves_the_composer_s_effort_until_one_is_kept(
        qloop: Any, gui_env: dict[str, str], standin: Any) -> None:
    async def scenario() -> None:
        window = await open_window(gui_env)
        await until(lambda: window.compare is not None, what="compare wired")
        compare = window.controllers.compare
        window.composer.set_effort("high")
        window.composer.set_text("Which effort wins?")
        await next_signal(compare.finished, window.compare.compare_composed)
        conversation_id = window.controllers.conversations.current
        assert conversation_id is not None
        answers = [f.message_id or 0 for f in compare.figures.values()]
        await until(lambda: any(window.view.message_widget(m) is not None for m in answers),
                    what="the new conversation shown")
        assert window.composer.current_effort() == "high"  # not "low", the first compared
        await close_window(window)

    run(qloop, scenario())


def test_showing_another_conversation_leaves_the_comparison_of_this_one(
        qloop: Any, gui_env: dict[str, str], standin: Any) -> None:
    # "New conversation" (or another chat in the list) left the comparison of the previous
    # conversation on screen under the new title, its "Use this answer" still live.
    async def scenario() -> None:
        window = await open_window(gui_env)
        await until(lambda: window.compare is not None, what="compare wired")
        compare = window.controllers.compare
        window.composer.set_text("Which effort wins?")
        await next_signal(compare.finished, window.compare.compare_composed)
        first = window.controllers.conversations.current
        assert window.center.currentWidget() is window.compare.view
        window.controllers.conversations.new_conversation()
        await until(lambda: window.center.currentWidget() is window.view,
                    what="the new conversation instead of the old comparison")
        window.composer.set_text("And this one?")
        await next_signal(compare.finished, window.compare.compare_composed)
        second = window.controllers.conversations.current
        assert second not in (None, first)
        assert window.center.currentWidget() is window.compare.view  # its own comparison
        await close_window(window)

    run(qloop, scenario())
