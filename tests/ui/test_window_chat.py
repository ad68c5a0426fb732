"""The window end to end against the stand-in: send, stream, stop, retry, regenerate."""

from __future__ import annotations

from typing import Any

from PySide6.QtGui import QGuiApplication

from tests.conftest import TEST_API_KEY
from tests.ui.harness import close_window, next_signal, open_window, run, until


def _assistant(window: Any) -> Any:
    return [m for m in window.controllers.conversations.shown_messages.values()
            if m.role == "assistant"]


def test_send_streams_thinking_then_answer(qloop: Any, gui_env: dict[str, str],
                                           standin: Any) -> None:
    standin.reply(content="The answer is **42**.", reasoning="Let me think it over.",
                  chunks=6)

    async def scenario() -> None:
        window = await open_window(gui_env)
        assert window.composer.edit.hasFocus() or window.composer.isVisible()
        order: list[str] = []
        window.controllers.turns.reasoning.connect(lambda *_a: order.append("reasoning"))
        window.controllers.turns.content.connect(lambda *_a: order.append("content"))
        window.composer.set_effort("high")
        window.composer.set_text("What is six times seven?")
        ended = await next_signal(window.controllers.turns.turn_ended,
                                  window.composer.edit.submit.emit)
        assert ended[2] == "complete"
        assert order[0] == "reasoning" and order[-1] == "content"
        assert order.index("content") > max(i for i, o in enumerate(order) if o == "reasoning")
        body = standin.chat_requests()[-1].json
        assert body["reasoning_effort"] == "high"
        await until(lambda: any(m.status == "complete" for m in _assistant(window)),
                    what="the finished reply reloaded")
        reply = _assistant(window)[-1]
        assert reply.content == "The answer is **42**."
        assert reply.reasoning == "Let me think it over."
        assert window.controllers.conversations.current is not None
        assert len(window.sidebar.conversation_rows()) == 1
        assert "Last answer" in window.tokens_label.text()
        window.copy_diagnostics()
        report = QGuiApplication.clipboard().text()
        assert TEST_API_KEY not in report
        assert "Data dir" in report and "Last X-Trace-Id" in report
        await close_window(window)

    run(qloop, scenario())


def test_stop_keeps_partial_reply_marked_stopped(qloop: Any, gui_env: dict[str, str],
                                                 standin: Any) -> None:
    standin.fault("paced", count=3000, duration=20)

    async def scenario() -> None:
        window = await open_window(gui_env)
        window.composer.set_text("Count slowly")
        window.composer.edit.submit.emit()
        got: list[str] = []
        window.controllers.turns.content.connect(lambda _c, _a, text: got.append(text))
        await until(lambda: len(got) >= 20, what="some streamed text")
        assert window.composer.send_button.text() == "Stop"
        ended = await next_signal(window.controllers.turns.turn_ended, window.stop_action.trigger)
        assert ended[2] == "stopped"
        assert window.composer.send_button.text() == "Send"
        store = window.controllers.conversations.library.services.store
        saved = await store.get_message(ended[1])
        assert saved.status == "stopped"
        assert saved.content and saved.content.startswith("t0 t1 ")
        await until(lambda: any(m.status == "stopped" for m in _assistant(window)),
                    what="the view to show the stopped reply")
        await close_window(window)

    run(qloop, scenario())


def test_retry_after_drop_completes_and_regenerate_keeps_versions(
        qloop: Any, gui_env: dict[str, str], standin: Any) -> None:
    standin.reply(content="A complete answer.", reasoning="Thinking.", chunks=8)
    standin.fault("drop", after=3)

    async def scenario() -> None:
        window = await open_window(gui_env)
        window.composer.set_text("Tell me something")
        ended = await next_signal(window.controllers.turns.turn_ended,
                                  window.composer.edit.submit.emit)
        assert ended[2] == "interrupted", ended
        first = ended[1]
        await until(lambda: not window.controllers.turns.any_busy(), what="idle after the drop")
        ended = await next_signal(window.controllers.turns.turn_ended,
                                  lambda: window.view.retry_requested.emit(first))
        assert ended[2] == "complete"
        second = ended[1]
        store = window.controllers.conversations.library.services.store
        assert (await store.get_message(second)).content == "A complete answer."
        ended = await next_signal(window.controllers.turns.turn_ended,
                                  lambda: window.view.regenerate_requested.emit(second))
        assert ended[2] == "complete"
        versions = await store.versions(ended[1])
        assert [v.id for v in versions] == [first, second, ended[1]]
        assert versions[0].status == "interrupted"
        await until(lambda: ended[1] in window.controllers.conversations.shown_messages,
                    what="reload")
        await close_window(window)

    run(qloop, scenario())


def test_search_finds_a_message_and_restart_shows_history(
        qloop: Any, gui_env: dict[str, str], standin: Any) -> None:
    standin.reply(content="Unicorns are mythical.", reasoning="Hm.", chunks=3)

    async def scenario() -> None:
        window = await open_window(gui_env)
        window.composer.effort.button("low").click()  # the user picks Low
        window.composer.set_text("Tell me about unicorns please")
        await next_signal(window.controllers.turns.turn_ended,
                                  window.composer.edit.submit.emit)
        await until(lambda: len(window.sidebar.conversation_rows()) == 1, what="the list entry")
        window.sidebar.search.setText("unicorns")
        sidebar = window.sidebar
        await until(lambda: sidebar.stack.currentWidget() is sidebar.hits
                    and sidebar.hits.count() >= 1
                    and sidebar.hits.item(0).data(0x0100) is not None, what="search hits")
        label = sidebar.hits.itemWidget(sidebar.hits.item(0))
        assert "<b><u>" in label.text().lower() or "<b><u>" in label.text()
        conv = window.controllers.conversations.current
        await close_window(window)

        again = await open_window(gui_env)
        assert again.controllers.conversations.current == conv
        roles = [m.role for m in again.controllers.conversations.shown_messages.values()]
        assert roles == ["user", "assistant"]
        assert again.view.message_count == 2
        assert len(again.sidebar.conversation_rows()) == 1
        assert again.composer.current_effort() == "low"  # remembered for the conversation
        await close_window(again)

    run(qloop, scenario())


def test_closing_mid_stream_saves_partial_and_leaves_database_intact(
        qloop: Any, gui_env: dict[str, str], standin: Any) -> None:
    standin.fault("paced", count=3000, duration=20)

    async def scenario() -> None:
        window = await open_window(gui_env)
        window.composer.set_text("Go on and on")
        window.composer.edit.submit.emit()
        got: list[str] = []
        window.controllers.turns.content.connect(lambda _c, _a, text: got.append(text))
        await until(lambda: len(got) >= 10, what="streaming")
        conv = window.controllers.conversations.current
        took = await close_window(window)
        print(f"shutdown took {took:.3f} s")
        assert took < 2.5

        from app.services import open_core

        services = await open_core(gui_env)
        try:
            messages = await services.store.list_messages(conv)
            assert [m.status for m in messages] == ["complete", "stopped"]
            assert messages[1].content.startswith("t0 ")
        finally:
            await services.aclose()
        import sqlite3

        with sqlite3.connect(services.paths.db_path) as db:
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        db.close()

    run(qloop, scenario())


def test_switching_conversations_keeps_streaming_into_the_right_one(
        qloop: Any, gui_env: dict[str, str], standin: Any) -> None:
    async def scenario() -> None:
        window = await open_window(gui_env)
        standin.reply(content="Short answer.", reasoning="Quick.", chunks=2)
        window.composer.set_text("First conversation")
        await next_signal(window.controllers.turns.turn_ended,
                                  window.composer.edit.submit.emit)
        first = window.controllers.conversations.current

        standin.fault("paced", count=3000, duration=20)
        window.controllers.conversations.new_conversation()
        assert window.controllers.conversations.current is None and window.view.message_count == 0
        window.composer.set_text("Second, slow conversation")
        started = await next_signal(window.controllers.turns.turn_started,
                                    window.composer.edit.submit.emit)
        second, slow_reply = started[1], started[3]
        got: list[str] = []
        window.controllers.turns.content.connect(lambda _c, _a, text: got.append(text))
        await until(lambda: len(got) >= 10, what="the slow reply streaming")

        await next_signal(window.conversation_shown,
                          lambda: window.sidebar.conversation_activated.emit(first))
        assert window.controllers.conversations.current == first
        assert window.composer.send_button.text() == "Send"  # this one is idle
        assert slow_reply not in window.controllers.conversations.live
        shown_first = {m.content for m in window.controllers.conversations.shown_messages.values()}
        assert "Short answer." in shown_first
        seen = len(got)
        await until(lambda: len(got) > seen + 10, what="streaming to go on in the background")

        await next_signal(window.conversation_shown,
                          lambda: window.sidebar.conversation_activated.emit(second))
        assert window.composer.send_button.text() == "Stop"
        assert slow_reply in window.controllers.conversations.live
        await until(lambda: window.view.is_idle(), what="the view to catch up")
        shown = window.view.message(slow_reply)
        assert shown is not None and shown.content.startswith("t0 t1 ")
        assert len(shown.content) >= len("".join(got[:seen]))
        ended = await next_signal(window.controllers.turns.turn_ended, window.stop_current)
        assert ended[:3] == (second, slow_reply, "stopped")
        store = window.controllers.conversations.library.services.store
        first_msgs = await store.list_messages(first)
        assert [m.status for m in first_msgs] == ["complete", "complete"]
        await close_window(window)

    run(qloop, scenario())


def test_a_turn_appends_to_the_view_without_rebuilding_it(
        qloop: Any, gui_env: dict[str, str], standin: Any) -> None:
    """The second turn adds its two messages and streams into them; the widgets already
    on screen (and the streaming answer's own widget) survive the whole turn."""
    async def scenario() -> None:
        window = await open_window(gui_env)
        view, turns = window.view, window.controllers.turns
        window.composer.set_text("First question")
        await next_signal(turns.turn_ended, window.composer.edit.submit.emit)
        await until(view.is_idle, what="the first answer drawn")
        first = {mid: view.message_widget(mid) for mid in
                 window.controllers.conversations.shown_messages}
        assert len(first) == 2 and all(first.values())
        streaming: dict[int, Any] = {}

        def on_content(_conv: int, aid: int, _text: str) -> None:
            if view.message_widget(aid) is not None:
                streaming.setdefault(aid, view.message_widget(aid))

        turns.content.connect(on_content)
        window.composer.set_text("Second question")
        ended = await next_signal(turns.turn_ended, window.composer.edit.submit.emit)
        assert ended[2] == "complete"
        await until(view.is_idle, what="the second answer drawn")
        assert view.message_count == 4
        assert all(view.message_widget(mid) is widget for mid, widget in first.items())
        assert streaming.get(ended[1]) is not None
        assert view.message_widget(ended[1]) is streaming[ended[1]]
        assert "Second question" in view.message_widget(ended[1]).body.toPlainText()
        await close_window(window)

    run(qloop, scenario())
