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


def _shown_columns(view: Any) -> dict[str, tuple[str, str, str, bool]]:
    """Per effort: its answer as read, figures, status line and whether it can be kept."""
    return {e: (c.answer.toPlainText(), c.figures_label.text(), c.status_label.text(),
                c.keep_button.isEnabled()) for e, c in view.columns.items()}


def test_a_line_of_the_efforts_panel_reopens_its_comparison_by_click_key_and_after_restart(
        qloop: Any, gui_env: dict[str, str], standin: Any) -> None:
    async def scenario() -> None:
        window = await open_window(gui_env)
        await until(lambda: window.compare is not None, what="compare wired")
        compare = window.controllers.compare
        window.composer.set_text("Which effort wins?")
        await next_signal(compare.finished, window.compare.compare_composed)
        view = window.compare.view
        await until(lambda: all(not c.has_pending for c in view.columns.values()),
                    what="columns drawn")
        await next_signal(compare.kept, view.columns["medium"].keep_button.click)
        await until(lambda: any("✓ medium" in line for line in window.efforts_panel.lines),
                    what="the panel marks the kept one")
        live = _shown_columns(view)
        assert [live[e][3] for e in ("low", "medium", "high")] == [True, False, True]
        view.close_button.click()
        assert window.center.currentWidget() is window.view

        async def reopened(activate: Any) -> dict[str, tuple[str, str, str, bool]]:
            await next_signal(compare.kept_shown, activate)
            assert window.center.currentWidget() is view
            await until(lambda: all(not c.has_pending for c in view.columns.values()),
                        what="the stored answers drawn")
            return _shown_columns(view)

        [row] = window.efforts_panel.rows
        assert row.accessibleName().startswith("Comparison 1. low ")
        assert row.focusPolicy() & Qt.FocusPolicy.TabFocus
        shown = await reopened(lambda: QTest.mouseClick(row, Qt.MouseButton.LeftButton))
        assert list(shown) == ["low", "medium", "high"]
        assert shown == live  # answers, figures, status and the kept mark as they were
        for effort, (answer, figures, _status, _kept) in shown.items():
            assert f"at {effort} effort" in answer and "total" in figures
        assert shown["medium"][2] == "Done · kept"
        assert not view.stop_all.isEnabled()

        view.close_button.click()
        row.setFocus()
        assert await reopened(lambda: QTest.keyClick(row, Qt.Key.Key_Return)) == live
        # Keeping another answer of the reopened comparison switches the turn's answer.
        kept = await next_signal(compare.kept, view.columns["high"].keep_button.click)
        assert kept[2] == "high"
        await until(lambda: any("✓ high" in line for line in window.efforts_panel.lines),
                    what="the panel marks the new choice")
        assert "kept" in view.columns["high"].status_label.text()
        assert view.columns["medium"].keep_button.isEnabled()
        live = _shown_columns(view)
        await close_window(window)

        again = await open_window(gui_env)  # a restart: the panel's line still reopens it
        await until(lambda: again.compare is not None and bool(again.efforts_panel.rows),
                    what="the panel read from the store")
        again.efforts_panel.rows[0].setFocus()
        await next_signal(again.controllers.compare.kept_shown, lambda: QTest.keyClick(
            again.efforts_panel.rows[0], Qt.Key.Key_Space))
        view = again.compare.view
        assert again.center.currentWidget() is view
        await until(lambda: all(not c.has_pending for c in view.columns.values()),
                    what="the stored answers drawn")
        assert _shown_columns(view) == live
        assert view.prompt_label.text() == "Which effort wins?"
        await close_window(again)

    run(qloop, scenario())


def test_reopening_while_a_comparison_runs_shows_the_running_one_undisturbed(
        qloop: Any, gui_env: dict[str, str], standin: Any) -> None:
    async def scenario() -> None:
        window = await open_window(gui_env)
        await until(lambda: window.compare is not None, what="compare wired")
        compare = window.controllers.compare
        window.composer.set_text("First")
        await next_signal(compare.finished, window.compare.compare_composed)
        await until(lambda: bool(window.efforts_panel.rows), what="the panel's line")
        standin.fault("stall", times=1, effort="high", after=3)
        window.composer.set_text("Second")
        window.compare.compare_composed()
        view = window.compare.view
        await until(lambda: view.columns["high"].status == "streaming" and
                    view.columns["low"].status == "complete", what="the second one streaming")
        view.close_button.click()
        note = await next_signal(window.controllers.conversations.note, lambda: QTest.mouseClick(
            window.efforts_panel.rows[0], Qt.MouseButton.LeftButton))
        assert note[0] == "A comparison is running; stop it first."
        assert window.center.currentWidget() is view  # the running one, as it was
        assert compare.is_busy()
        assert "Second" in view.prompt_label.text()
        assert "Second" in view.columns["low"].answer.toPlainText() or \
            view.columns["low"].has_pending
        assert view.columns["high"].stop_button.isEnabled()
        await next_signal(compare.finished, view.columns["high"].stop_button.click)
        assert view.columns["high"].status_label.text() == "Stopped"
        await close_window(window)

    run(qloop, scenario())


def test_a_line_clicked_just_before_another_conversation_is_shown_does_not_cover_it(
        qloop: Any, gui_env: dict[str, str], standin: Any) -> None:
    async def scenario() -> None:
        window = await open_window(gui_env)
        await until(lambda: window.compare is not None, what="compare wired")
        compare = window.controllers.compare
        window.composer.set_text("First")
        await next_signal(compare.finished, window.compare.compare_composed)
        first = window.controllers.conversations.current
        assert first is not None
        await until(lambda: bool(window.efforts_panel.rows), what="the panel's line")
        window.compare.view.close_button.click()
        opened: list[str] = []
        compare.opened.connect(lambda _efforts, prompt: opened.append(prompt))

        def click_then_new_conversation() -> None:
            QTest.mouseClick(window.efforts_panel.rows[0], Qt.MouseButton.LeftButton)
            window.controllers.conversations.new_conversation()
            compare.load_comparisons(first)  # read after the reopen's read (one store thread)

        await next_signal(compare.comparisons_loaded, click_then_new_conversation)
        assert opened == []
        assert window.center.currentWidget() is not window.compare.view  # the new one's
        await close_window(window)

    run(qloop, scenario())
