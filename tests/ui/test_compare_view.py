"""The comparison view through real widgets: controller + view + efforts panel, stand-in HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.chat import ChatEngine
from app.compare import Comparer
from app.config import Settings, account_id, resolve_paths
from app.services import make_client
from app.store import BlobStore, Store
from tests.conftest import TEST_API_KEY
from tests.ui.harness import next_signal, run, until


class Harness:
    """The comparison part of a window: real Store, engine, controller and widgets."""

    def __init__(self, store: Store, engine: ChatEngine, client: Any) -> None:
        from app.ui.controllers.compare import CompareController, connect_view
        from app.ui.render.markdown import MarkdownRenderer
        from app.ui.render.markdown_view import theme_from_palette
        from app.ui.widgets.compare_view import ComparisonView
        from app.ui.widgets.efforts_panel import EffortsPanel

        self.store, self.engine, self.client = store, engine, client
        self.comparer = comparer = Comparer(engine, store)
        self.controller = CompareController(lambda: comparer)  # no cycle through the harness
        self.view = ComparisonView(MarkdownRenderer(theme_from_palette(self_palette())))
        self.panel = EffortsPanel()
        connect_view(self.controller, self.view, self.panel)
        self.view.resize(1200, 700)
        self.view.show()
        self.ended: dict[str, str] = {}
        self.controller.column_status.connect(self.on_status)

    def on_status(self, effort: str, status: str, _error: str) -> None:
        self.ended[effort] = status

    async def aclose(self) -> None:
        await self.controller.shutdown(5)
        self.view.close()
        self.view.deleteLater()
        self.panel.deleteLater()
        await self.client.aclose()
        await self.store.close()


def self_palette() -> Any:
    from PySide6.QtWidgets import QApplication

    return QApplication.palette()


async def make_harness(standin: Any, data_dir: Path) -> Harness:
    paths = resolve_paths({"STEPDESK_DATA_DIR": str(data_dir)})
    store = await Store.open(paths.db_path, owner_dir=paths.owner_dir)
    settings = Settings.resolve({"STEP_BASE_URL": standin.base_url}, {}, paths)
    client = make_client(settings, TEST_API_KEY)
    engine = ChatEngine(store=store, client=client, blobs=BlobStore(paths.blob_dir),
                        settings=settings, account=account_id(TEST_API_KEY))
    return Harness(store, engine, client)


@pytest.fixture
def harness_env(qloop: asyncio.AbstractEventLoop, standin: Any,
                data_dir: Path) -> Iterator[tuple[asyncio.AbstractEventLoop, Any, Path]]:
    yield qloop, standin, data_dir


def test_columns_stream_and_keeping_medium_updates_view_and_panel(harness_env) -> None:
    loop, standin, data_dir = harness_env

    async def scenario() -> None:
        h = await make_harness(standin, data_dir)
        try:
            finished = next_signal(h.controller.finished, lambda: h.controller.compare_new(
                None, "Which effort?", []))
            await finished
            await until(lambda: all(not c.has_pending for c in h.view.columns.values()),
                        what="columns drawn")
            assert list(h.view.columns) == ["low", "medium", "high"]
            for effort, column in h.view.columns.items():
                assert f"at {effort} effort" in column.answer.toPlainText()
                assert column.status_label.text() == "Done"
                assert "total" in column.figures_label.text()
                assert "reasoning" in column.figures_label.text()
                assert column.keep_button.isEnabled() and not column.stop_button.isEnabled()
            assert not h.view.stop_all.isEnabled()
            medium = h.view.columns["medium"]
            args = await next_signal(h.controller.kept, medium.keep_button.click)
            conversation, message_id, effort, template = args
            assert (effort, template) == ("medium", "")
            await until(lambda: h.panel.isVisibleTo(h.view) or bool(h.panel.lines),
                        what="panel rows")
            assert h.panel.lines[0].count("|") == 2 and "✓ medium" in h.panel.lines[0]
            assert "kept" in medium.status_label.text()
            assert not medium.keep_button.isEnabled()
            assert h.view.columns["low"].keep_button.isEnabled()
            shown = await h.store.active_messages(conversation)
            assert shown[-1].id == message_id
        finally:
            await h.aclose()

    run(loop, scenario())


def test_stop_one_column_from_its_button(harness_env) -> None:
    loop, standin, data_dir = harness_env
    standin.fault("stall", times=1, effort="high", after=3)

    async def scenario() -> None:
        h = await make_harness(standin, data_dir)
        try:
            assert h.controller.compare_new(None, "Stop high", [])
            assert not h.controller.compare_new(None, "again", [])  # one at a time
            await until(lambda: h.view.columns["high"].answer.markdown_source or
                        h.view.columns["high"].thinking.text, what="high streaming")
            await until(lambda: h.ended.get("low") == "complete" and
                        h.ended.get("medium") == "complete", what="others done")
            high = h.view.columns["high"]
            assert high.stop_button.isEnabled()
            await next_signal(h.controller.finished, high.stop_button.click)
            assert high.status_label.text() == "Stopped"
            assert not high.keep_button.isEnabled()
            figures = h.controller.figures
            stored = await h.store.get_message(figures["high"].message_id or 0)
            assert stored is not None and stored.status == "stopped"
        finally:
            await h.aclose()

    run(loop, scenario())


def test_show_differences_highlights_words_against_the_left_column(harness_env) -> None:
    loop, standin, data_dir = harness_env

    async def scenario() -> None:
        h = await make_harness(standin, data_dir)
        try:
            await next_signal(h.controller.finished, lambda: h.controller.compare_new(
                None, "Diff me", [], efforts=("low", "high")))
            await until(lambda: all(not c.has_pending for c in h.view.columns.values()),
                        what="columns drawn")
            await next_signal(h.controller.differences_ready, h.view.differences.click)
            low, high = h.view.columns["low"], h.view.columns["high"]
            assert low.answer.isVisible() and not low.diff.isVisible()
            assert high.diff.isVisible() and not high.answer.isVisible()
            assert high.diff.toPlainText() == high.answer.toPlainText()
            html = high.diff.toHtml()
            assert "background-color" in html  # the changed word "high" is highlighted
            h.view.differences.click()
            assert high.answer.isVisible() and not high.diff.isVisible()
        finally:
            await h.aclose()

    run(loop, scenario())


def test_word_diff_segments() -> None:
    from app.ui.render.word_diff import Segment, diff_html, word_diff

    segments = word_diff("the total is 12 euros", "the total is 14 euros paid in cash")
    assert segments == [Segment("the total is ", "same"), Segment("14 ", "changed"),
                        Segment("euros ", "same"), Segment("paid in cash", "added")]
    html = diff_html([Segment("<b>x</b>", "added")], added="#0f0", changed="#ff0")
    assert "&lt;b&gt;" in html and "<b>" not in html  # model text never becomes markup
    assert word_diff("", "") == []
    assert word_diff("same words", "same words") == [Segment("same words", "same")]


class AppLook:
    """Switches the application's theme as Settings → Appearance does (palette, style sheet
    and font through `apply_theme`) and puts the test process's look back afterwards."""

    def __init__(self) -> None:
        from PySide6.QtGui import QFont, QPalette
        from PySide6.QtWidgets import QApplication

        app = QApplication.instance()
        assert isinstance(app, QApplication)
        self.app = app
        self.saved = (QPalette(app.palette()), QFont(app.font()), app.styleSheet())

    def switch(self, dark: bool) -> None:
        from PySide6.QtGui import QFont

        from app.ui.style.theme import DARK, LIGHT, apply_theme

        apply_theme(self.app, DARK if dark else LIGHT, QFont(self.saved[1]))

    def restore(self) -> None:
        palette, font, sheet = self.saved
        self.app.setStyleSheet(sheet)
        self.app.setPalette(palette)
        self.app.setFont(font)


def test_theme_switch_redraws_every_column_and_the_highlights(harness_env) -> None:
    """Light → dark while the view is open: the answers' code and the word highlights are
    drawn again in the dark theme's colours, and back."""
    from PySide6.QtGui import QColor, QPalette

    from app.ui.style.theme import DARK

    loop, standin, data_dir = harness_env
    look = AppLook()
    dark_code = "#0d1117"  # github-dark's code background (the light style has none)

    async def scenario() -> None:
        look.switch(dark=False)
        h = await make_harness(standin, data_dir)
        try:
            await next_signal(h.controller.finished, lambda: h.controller.compare_new(
                None, "Theme\n\n```python\nx = 1\n```", [], efforts=("low", "high")))
            columns = list(h.view.columns.values())
            await until(lambda: all(not c.has_pending for c in columns), what="drawn")
            assert all(dark_code not in c.answer.toHtml() for c in columns)
            await next_signal(h.controller.differences_ready, h.view.differences.click)
            high = h.view.columns["high"]
            assert "#c9f0d4" in high.diff.toHtml() or "#fbe7a6" in high.diff.toHtml()

            await next_signal(h.controller.differences_ready, lambda: look.switch(dark=True))
            assert all(not c.has_pending for c in columns)
            for column in columns:
                assert dark_code in column.answer.toHtml()
                assert "x = 1" in column.answer.toPlainText()
                assert column.answer.palette().color(QPalette.ColorRole.Base) == \
                    QColor(DARK.surface)
            assert "#1f5f3a" in high.diff.toHtml() or "#6b5514" in high.diff.toHtml()
            assert high.diff.isVisible() and not high.answer.isVisible()

            await next_signal(h.controller.differences_ready, lambda: look.switch(dark=False))
            assert all(dark_code not in c.answer.toHtml() for c in columns)
            assert "#c9f0d4" in high.diff.toHtml() or "#fbe7a6" in high.diff.toHtml()
            # A comparison started now is drawn in the current theme from its first delta.
            await next_signal(h.controller.finished, lambda: h.controller.compare_new(
                None, "Again\n\n```python\ny = 2\n```", [], efforts=("low", "high")))
            await until(lambda: all(not c.has_pending for c in h.view.columns.values()),
                        what="drawn again")
            assert all(dark_code not in c.answer.toHtml() for c in h.view.columns.values())
        finally:
            await h.aclose()
            look.restore()

    run(loop, scenario())


def test_theme_switch_mid_stream_redraws_what_a_column_already_showed(harness_env) -> None:
    loop, standin, data_dir = harness_env
    standin.reply(content="```python\nx = 1\n```\n\nthen more words", reasoning="")
    standin.fault("stall", times=1, effort="high", after=3)  # the code block, then it waits
    look = AppLook()

    async def scenario() -> None:
        look.switch(dark=False)
        h = await make_harness(standin, data_dir)
        try:
            assert h.controller.compare_new(None, "Stream", [], efforts=("low", "high"))
            high = h.view.columns["high"]
            await until(lambda: "x = 1" in high.answer.toPlainText() and
                        not high.has_pending, what="high drew its code block")
            assert high.status == "streaming" and "#0d1117" not in high.answer.toHtml()
            look.switch(dark=True)
            await until(lambda: "#0d1117" in high.answer.toHtml(), what="redrawn dark")
            assert high.answer.toPlainText().count("x = 1") == 1
            await next_signal(h.controller.finished, high.stop_button.click)
            await until(lambda: not high.has_pending, what="final draw")
            assert "#0d1117" in high.answer.toHtml()
            assert high.answer.toPlainText().count("x = 1") == 1
            assert "more words" in h.view.columns["low"].answer.toPlainText()
        finally:
            await h.aclose()
            look.restore()

    run(loop, scenario())


def test_differences_shown_while_streaming_are_made_again_when_a_column_ends(
        harness_env) -> None:
    loop, standin, data_dir = harness_env
    standin.fault("stall", times=1, effort="high", after=9)  # 6 thoughts, 3 words

    async def scenario() -> None:
        h = await make_harness(standin, data_dir)
        try:
            assert h.controller.compare_new(None, "Diff while streaming", [],
                                            efforts=("low", "high"))
            low, high = h.view.columns["low"], h.view.columns["high"]
            await until(lambda: h.ended.get("low") == "complete" and not low.has_pending
                        and high.answer.markdown_source and not high.has_pending,
                        what="low done, high part")
            await next_signal(h.controller.differences_ready, h.view.differences.click)
            assert high.diff.isVisible()
            assert high.diff.toPlainText() == high.answer.toPlainText()
            await next_signal(h.controller.differences_ready, high.stop_button.click)
            assert high.status == "stopped"
            assert high.diff.toPlainText() == high.answer.toPlainText()
            assert high.diff.isVisible() and low.answer.isVisible()
        finally:
            await h.aclose()

    run(loop, scenario())


def test_a_429_on_one_column_shows_it_waiting_while_the_others_finish(harness_env) -> None:
    loop, standin, data_dir = harness_env
    standin.fault("status_429", times=1, effort="high", retry_after=3600)

    async def scenario() -> None:
        h = await make_harness(standin, data_dir)
        try:
            assert h.controller.compare_new(None, "Busy?", [])
            high = h.view.columns["high"]
            await until(lambda: h.ended.get("low") == h.ended.get("medium") == "complete" and
                        h.ended.get("high") == "retrying", what="low and medium done")
            assert high.status_label.text() == "Busy; retrying…"
            assert high.stop_button.isEnabled() and not high.keep_button.isEnabled()
            assert h.view.stop_all.isEnabled()
            assert h.view.columns["low"].keep_button.isEnabled()
            await next_signal(h.controller.finished, high.stop_button.click)
            assert high.status_label.text() == "Stopped"
            assert "1 retry" in high.figures_label.text()
            assert not h.view.stop_all.isEnabled()
        finally:
            await h.aclose()

    run(loop, scenario())


def test_stop_all_stops_every_streaming_column_and_keeps_their_partials(harness_env) -> None:
    loop, standin, data_dir = harness_env
    standin.fault("stall", times=3, after=2)

    async def scenario() -> None:
        h = await make_harness(standin, data_dir)
        try:
            assert h.controller.compare_new(None, "Stop all", [])
            await until(lambda: all(c.thinking.text for c in h.view.columns.values()),
                        what="every column streaming")
            assert h.view.stop_all.isEnabled()
            await next_signal(h.controller.finished, h.view.stop_all.click)
            figures = h.controller.figures
            for effort, column in h.view.columns.items():
                assert column.status_label.text() == "Stopped"
                assert not column.stop_button.isEnabled() and not column.keep_button.isEnabled()
                stored = await h.store.get_message(figures[effort].message_id or 0)
                assert stored is not None and stored.status == "stopped" and stored.reasoning
            assert not h.view.stop_all.isEnabled() and not h.controller.is_busy()
        finally:
            await h.aclose()

    run(loop, scenario())


def test_hostile_prompt_and_server_error_are_shown_as_written(harness_env) -> None:
    """A prompt or a server's error that looks like HTML is never rendered as HTML (no
    images, no links) in the labels or their tooltips."""
    from PySide6.QtCore import Qt

    loop, standin, data_dir = harness_env
    hostile = '<img src="file:///etc/passwd"><b>bold</b> & <a href="x">link</a>'
    standin.fault("status_400", times=1, effort="high", message=hostile)

    async def scenario() -> None:
        h = await make_harness(standin, data_dir)
        try:
            await next_signal(h.controller.finished, lambda: h.controller.compare_new(
                None, hostile, [], efforts=("low", "high")))
            high = h.view.columns["high"]
            assert high.status == "error" and hostile in high.status_label.text()
            assert high.error and hostile in high.error
            for label in (h.view.prompt_label, high.status_label, high.figures_label,
                          h.view.note, high.title):
                assert label.textFormat() == Qt.TextFormat.PlainText
            assert h.view.prompt_label.text() == hostile
            for tip in (h.view.prompt_label.toolTip(), high.status_label.toolTip()):
                assert "<img" not in tip and "&lt;img" in tip and "&lt;b&gt;bold" in tip
            low = h.view.columns["low"]
            await next_signal(h.controller.kept, low.keep_button.click)
            assert high.status_label.toolTip().count("&amp;") == 1  # not escaped twice
            assert hostile in high.status_label.text()
        finally:
            await h.aclose()

    run(loop, scenario())


def test_a_second_comparison_of_the_same_efforts_reuses_clean_columns(harness_env) -> None:
    """The columns are reset, not rebuilt (the view opens sooner), and nothing of the first
    comparison shows in the second: text, thinking, figures, kept mark, highlights."""
    loop, standin, data_dir = harness_env

    async def scenario() -> None:
        h = await make_harness(standin, data_dir)
        try:
            await next_signal(h.controller.finished, lambda: h.controller.compare_new(
                None, "First question", [], efforts=("low", "high")))
            await until(lambda: all(not c.has_pending for c in h.view.columns.values()),
                        what="drawn")
            first = dict(h.view.columns)
            first["low"].thinking.header.click()  # opened by the user
            await next_signal(h.controller.kept, first["low"].keep_button.click)
            await next_signal(h.controller.differences_ready, h.view.differences.click)
            standin.fault("stall", times=1, effort="high", after=2)
            h.ended.clear()
            assert h.controller.compare_new(None, "Second one", [], efforts=("low", "high"))
            assert h.view.columns == first  # the same widgets
            low, high = first["low"], first["high"]
            assert not h.view.differences.isChecked()
            for column in (low, high):
                assert column.status_label.text() == "Waiting…" and not column.kept
                assert column.figures_label.text() == "" and column.answer.markdown_source == ""
                assert column.thinking.text == "" and not column.thinking.is_expanded
                assert column.answer.isVisible() and not column.diff.isVisible()
                assert column.stop_button.isEnabled() and not column.keep_button.isEnabled()
            await until(lambda: h.ended.get("low") == "complete" and not low.has_pending,
                        what="low again")
            assert "Second one" in low.answer.toPlainText()
            assert "First question" not in low.answer.toPlainText()
            assert low.thinking.text == "The user asks: Second one"
            assert "total" in low.figures_label.text()
            await next_signal(h.controller.finished, high.stop_button.click)
            assert "First question" not in high.answer.toPlainText()
            assert high.status_label.text() == "Stopped"
            await next_signal(h.controller.finished, lambda: h.controller.compare_new(
                None, "Three now", [], efforts=("low", "medium", "high")))
            assert list(h.view.columns) == ["low", "medium", "high"]
            assert h.view.columns["low"] is not low  # another set: new columns
        finally:
            await h.aclose()

    run(loop, scenario())


def _worker_threads() -> list[str]:
    import threading

    return [t.name for t in threading.enumerate() if t.name == "stepdesk-compare"]


def test_three_columns_stream_together_off_the_ui_thread(harness_env) -> None:
    """The stand-in holds every stream until all three have started: only columns streaming
    at the same time get past it. They stream on the comparison's worker thread, and each
    column shows exactly what the stand-in sent it; closing ends the thread."""
    loop, standin, data_dir = harness_env
    standin.fault("rendezvous", times=3, parties=3, after=2)

    async def scenario() -> None:
        h = await make_harness(standin, data_dir)
        try:
            await next_signal(h.controller.started, lambda: h.controller.compare_new(
                None, "Together?", []))
            assert _worker_threads() == ["stepdesk-compare"]
            await until(lambda: not h.controller.is_busy() and
                        all(not c.has_pending for c in h.view.columns.values()),
                        what="columns done and drawn")
            for effort, column in h.view.columns.items():
                assert h.ended[effort] == "complete"
                assert column.answer.markdown_source == (
                    f"Seen 0 image(s) and 0 video(s) in 1 user turn(s) at {effort} effort. "
                    "You said: Together?")
                assert column.thinking.text == "The user asks: Together?"
                stored = await h.store.get_message(h.controller.figures[effort].message_id or 0)
                assert stored is not None and stored.content == column.answer.markdown_source
            assert h.client.last_trace_id is None  # the window's client sent nothing
        finally:
            await h.aclose()
        assert _worker_threads() == []

    run(loop, scenario())


def test_quitting_mid_stream_keeps_every_partial_answer_as_stopped(harness_env) -> None:
    """The window's quit (`shutdown`) while three columns stream: each partial answer is in
    the store, `stopped`, with its figures, before shutdown returns; no thread is left."""
    from app.compare import figures_of

    loop, standin, data_dir = harness_env
    standin.fault("stall", times=3, after=4)

    async def scenario() -> None:
        h = await make_harness(standin, data_dir)
        try:
            conversation, _user = await next_signal(h.controller.started, lambda:
                                                    h.controller.compare_new(None, "Quit", []))
            await until(lambda: all(c.thinking.text for c in h.view.columns.values()),
                        what="every column streaming")
            shown = {e: c.thinking.text for e, c in h.view.columns.items()}
            await h.controller.shutdown(5)
            assert _worker_threads() == []
            answers = [m for m in await h.store.list_messages(conversation)
                       if m.role == "assistant"]
            assert sorted(m.effort or "" for m in answers) == ["high", "low", "medium"]
            for message in answers:
                assert message.status == "stopped"
                assert message.reasoning.startswith(shown[message.effort or ""].strip())
                figures = figures_of(message)
                assert figures is not None and figures.status == "stopped"
        finally:
            await h.aclose()

    run(loop, scenario())


def test_stop_all_before_the_worker_started_stops_every_column(harness_env) -> None:
    """Stop all at once after Compare: the Stop reaches the worker before its comparison
    exists and is applied when it does; the turn is stored, every column ends `stopped`."""
    loop, standin, data_dir = harness_env

    async def scenario() -> None:
        h = await make_harness(standin, data_dir)
        try:
            def compare_and_stop() -> None:
                assert h.controller.compare_new(None, "Never mind", [])
                h.controller.stop_all()

            await next_signal(h.controller.finished, compare_and_stop)
            assert h.ended == {"low": "stopped", "medium": "stopped", "high": "stopped"}
            assert all(c.status_label.text() == "Stopped" for c in h.view.columns.values())
        finally:
            await h.aclose()

    run(loop, scenario())


def test_a_failure_before_the_columns_stream_is_one_sentence_in_each(harness_env) -> None:
    """An error on the worker before any column streams (the turn is gone) reaches the UI
    as the same note and column statuses as before; the controller is free again."""
    loop, standin, data_dir = harness_env

    async def scenario() -> None:
        h = await make_harness(standin, data_dir)
        try:
            busy = []
            h.controller.busy_changed.connect(busy.append)
            note = await next_signal(h.controller.note, lambda: h.controller.compare_turn(
                987654, "Gone"))
            assert note == ("There is no user message 987654.",)
            await until(lambda: busy == [True, False], what="the run ended")
            assert h.ended == {e: "error" for e in ("low", "medium", "high")}
            assert not standin.chat_requests()
        finally:
            await h.aclose()

    run(loop, scenario())


def test_a_new_client_after_a_settings_change_streams_the_next_comparison(
        harness_env) -> None:
    """The worker's client is a twin of the window's: when the window's client is replaced
    (key, base URL, proxy), the next comparison runs on a twin of the new one."""
    loop, standin, data_dir = harness_env

    async def scenario() -> None:
        h = await make_harness(standin, data_dir)
        settings = h.engine.settings
        fresh = make_client(settings, TEST_API_KEY)
        try:
            await next_signal(h.controller.finished, lambda: h.controller.compare_new(
                None, "Before", [], efforts=("low", "high")))
            h.engine.update_settings(settings, fresh, account_id(TEST_API_KEY))
            h.ended.clear()
            await next_signal(h.controller.finished, lambda: h.controller.compare_new(
                None, "After", [], efforts=("low", "high")))
            assert h.ended == {"low": "complete", "high": "complete"}
            assert len(standin.chat_requests()) == 4
        finally:
            await h.aclose()
            await fresh.aclose()

    run(loop, scenario())


def test_long_figures_neither_widen_the_view_nor_make_the_columns_unequal(qapp: Any) -> None:
    # A label that cannot wrap sets its column's minimum width: three long figure lines
    # pushed a window that was not maximised wider by itself, and the columns differed.
    from app.ui.render.markdown import MarkdownRenderer
    from app.ui.render.markdown_view import theme_from_palette
    from app.ui.widgets.compare_view import ComparisonView

    view = ComparisonView(MarkdownRenderer(theme_from_palette(self_palette())))
    view.start(["low", "medium", "high"], "Which effort?")
    view.resize(760, 500)
    view.show()
    qapp.processEvents()
    narrowest = view.minimumSizeHint().width()
    long = {"effort": "high", "status": "complete", "first_reasoning_s": 123.4,
            "first_answer_s": 456.7, "total_s": 789.1, "reasoning_tokens": 1_234_567,
            "answer_tokens": 7_654_321, "cached_tokens": 1_000_000, "retries": 3}
    view.set_figures("high", long)
    view.set_figures("medium", {**long, "effort": "medium", "first_reasoning_s": None})
    qapp.processEvents()  # the columns post their new minimum up to the view
    view.layout().activate()  # what the window's next layout pass does
    assert view.minimumSizeHint().width() <= narrowest
    assert view.width() == 760
    widths = {c.width() for c in view.columns.values()}
    assert max(widths) - min(widths) <= 1, widths
    view.close()
    view.deleteLater()


def test_a_panel_refresh_rewrites_its_lines_and_leaves_the_focus_where_it_was(
        qapp: Any) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    from app.ui.widgets.efforts_panel import EffortsPanel

    panel = EffortsPanel()
    panel.set_rows([(7, [("low 1 s", False), ("high 9 s", False)])])
    panel.show()
    panel.activateWindow()
    [row] = panel.rows
    row.setFocus()
    qapp.processEvents()
    panel.set_rows([(7, [("low 1 s", False), ("high 9 s", True)]), (8, [("medium 4 s", True)])])
    assert panel.rows[0] is row and row.hasFocus()  # the same line, rewritten
    assert panel.lines == ["1. low 1 s  |  ✓ high 9 s", "2. ✓ medium 4 s"]
    assert [r.accessibleName() for r in panel.rows] == [
        "Comparison 1. low 1 s  |  ✓ high 9 s", "Comparison 2. ✓ medium 4 s"]
    activated: list[int] = []
    panel.comparison_activated.connect(activated.append)
    panel.rows[1].activated.emit(panel.rows[1].comparison_id)
    panel.set_rows([(9, [("low <b>2</b> s", True)])])
    assert len(panel.rows) == 1 and panel.rows[0].comparison_id == 9
    assert "&lt;b&gt;" in panel.rows[0].text()  # escaped, never markup
    QTest.keyClick(panel.rows[0], Qt.Key.Key_Return)
    assert activated == [8, 9]
    panel.set_rows([])
    assert panel.rows == [] and not panel.isVisible()
    panel.deleteLater()


def test_a_comparison_without_answers_yet_is_no_empty_line_in_the_panel(harness_env) -> None:
    # Showing the conversation while its comparison streams (or after one whose answers
    # never got stored) listed a bare "2." in the efforts panel.
    loop, standin, data_dir = harness_env

    async def scenario() -> None:
        h = await make_harness(standin, data_dir)
        try:
            done = next_signal(h.controller.finished, lambda: h.controller.compare_new(
                None, "Which effort?", []))
            conversation = (await done)[0]
            [user] = [m for m in await h.store.list_messages(conversation) if m.role == "user"]
            await h.store.create_comparison(user.id, ("low", "high"), None)
            loaded = await next_signal(h.controller.comparisons_loaded,
                                       lambda: h.controller.load_comparisons(conversation))
            assert len(loaded[1]) == 1
            assert len(h.panel.lines) == 1 and h.panel.lines[0].startswith("1. low ")
        finally:
            await h.aclose()

    run(loop, scenario())


def test_a_thinking_column_says_so_and_one_without_reasoning_shows_no_toggle(
        qapp: Any) -> None:
    # A high effort can think for many seconds before it answers: its column showed nothing
    # but a token count meanwhile, and a column with no reasoning had an empty toggle.
    from app.ui.render.markdown import MarkdownRenderer
    from app.ui.render.markdown_view import theme_from_palette
    from app.ui.widgets.compare_view import ComparisonView

    view = ComparisonView(MarkdownRenderer(theme_from_palette(self_palette())))
    view.start(["low", "high"], "Which effort?")
    view.show()
    qapp.processEvents()
    low, high = view.columns["low"], view.columns["high"]
    assert not low.thinking.isVisible() and not high.thinking.isVisible()
    view.append("high", "Let me weigh the options.", "")
    qapp.processEvents()
    assert high.thinking.isVisible() and not high.thinking.is_expanded
    assert high.thinking.header_text.startswith("Thinking…")
    view.append("high", "", "High answers.")
    view.append("low", "", "Low answers.")
    view.set_status("low", "complete")
    view.set_status("high", "complete")
    qapp.processEvents()
    assert high.thinking.header_text.startswith("Thought for ")
    # the figures' time (first reasoning → first answer) is the one shown: a reopened
    # comparison's stored texts arrive at once, and would otherwise read "0 s"
    view.set_figures("high", {"effort": "high", "status": "complete", "first_reasoning_s": 0.4,
                              "first_answer_s": 7.9, "total_s": 9.0})
    assert high.thinking.header_text == "Thought for 8 s"
    assert not low.thinking.isVisible()
    view.start(["low", "high"], "Again")  # a second comparison's columns start clean
    assert not view.columns["high"].thinking.isVisible()
    view.close()
    view.deleteLater()


def test_reopening_a_stored_comparison_with_a_stopped_column_and_none_kept(harness_env) -> None:
    loop, standin, data_dir = harness_env
    standin.fault("stall", times=1, effort="high", after=3)

    async def scenario() -> None:
        h = await make_harness(standin, data_dir)
        try:
            assert h.controller.compare_new(None, "<b>Reopen</b> me", [])
            await until(lambda: h.ended.get("low") == "complete" and
                        h.ended.get("medium") == "complete" and
                        h.view.columns["high"].status == "streaming", what="high stalled")
            conversation = (await next_signal(h.controller.finished,
                                              h.view.columns["high"].stop_button.click))[0]
            [user] = [m for m in await h.store.list_messages(conversation) if m.role == "user"]
            [record] = await h.store.list_comparisons(conversation)
            h.view.start(["low", "high"], "something else")  # the view showed another one
            kept = await next_signal(h.controller.kept_shown, lambda: h.controller.reopen(
                conversation, record.id, {user.id: user}))
            assert kept == ("",)
            await until(lambda: all(not c.has_pending for c in h.view.columns.values()),
                        what="drawn")
            assert list(h.view.columns) == ["low", "medium", "high"]
            assert h.view.prompt_label.text() == "<b>Reopen</b> me"  # as written, not HTML
            statuses = {e: c.status_label.text() for e, c in h.view.columns.items()}
            assert statuses == {"low": "Done", "medium": "Done", "high": "Stopped"}
            assert [c.keep_button.isEnabled() for c in h.view.columns.values()] == [
                True, True, False]
            assert not any(c.stop_button.isEnabled() for c in h.view.columns.values())
            for answer in record.answers:
                column = h.view.columns[answer.effort or ""]
                assert column.answer.markdown_source == answer.content
            args = await next_signal(h.controller.kept,
                                     h.view.columns["low"].keep_button.click)
            low = next(m for m in record.answers if m.effort == "low")
            assert args[1] == low.id
            assert (await h.store.active_messages(conversation))[-1].id == low.id
            assert "kept" in h.view.columns["low"].status_label.text()
        finally:
            await h.aclose()

    run(loop, scenario())


def test_reopening_a_comparison_that_is_not_stored_says_so(harness_env) -> None:
    loop, standin, data_dir = harness_env

    async def scenario() -> None:
        h = await make_harness(standin, data_dir)
        try:
            conversation = (await next_signal(h.controller.finished, lambda: h.controller.
                                              compare_new(None, "Only one", [])))[0]
            failed = await next_signal(h.controller.failed, lambda: h.controller.reopen(
                conversation, 999, {}))
            assert failed == ("That comparison is no longer stored.",)
        finally:
            await h.aclose()

    run(loop, scenario())


def test_an_answer_cut_short_by_a_crash_reopens_interrupted_and_keeps_its_own_id() -> None:
    from app.store.records import Message
    from app.ui.controllers.compare import stored_figures

    def answer(status: str, figures: dict[str, Any] | None) -> Message:
        return Message(7, 1, "assistant", "partial", "", status, None, None, "high", None,
                       None, None, None, 3, 0, None, None, (), comparison_id=2,
                       figures=figures)

    bare = stored_figures(answer("streaming", None))
    assert (bare.effort, bare.status, bare.message_id) == ("high", "interrupted", 7)
    told = stored_figures(answer("complete", {"effort": "high", "status": "complete",
                                              "total_s": 2.5, "message_id": None}))
    assert (told.status, told.total_s, told.message_id) == ("complete", 2.5, 7)


def test_a_reopen_cancelled_before_its_comparison_loaded_shows_nothing(harness_env) -> None:
    # Another conversation shown while a line's comparison still loads: it must not then
    # cover that conversation. The panel's load below reads after the reopen's read (one
    # store thread), so by its end the reopen would have opened the view if not cancelled.
    loop, standin, data_dir = harness_env

    async def scenario() -> None:
        h = await make_harness(standin, data_dir)
        try:
            conversation = (await next_signal(h.controller.finished, lambda: h.controller.
                                              compare_new(None, "Twice", [])))[0]
            [record] = await h.store.list_comparisons(conversation)
            opened: list[str] = []
            h.controller.opened.connect(lambda _efforts, prompt: opened.append(prompt))

            def reopen_then_cancel() -> None:
                assert h.controller.reopen(conversation, record.id, {})
                h.controller.cancel_reopen()
                h.controller.load_comparisons(conversation)

            await next_signal(h.controller.comparisons_loaded, reopen_then_cancel)
            assert opened == []
            await next_signal(h.controller.kept_shown, lambda: h.controller.reopen(
                conversation, record.id, {}))
            assert opened == [""]  # not cancelled: shown
        finally:
            await h.aclose()

    run(loop, scenario())
