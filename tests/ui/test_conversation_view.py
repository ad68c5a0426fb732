"""ConversationView with real widgets: paging, streaming, status actions, thinking, versions."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage
from PySide6.QtWidgets import QLabel

from app.store import AttachmentRecord, Message
from app.ui.widgets.conversation_view import ConversationView


def make_message(message_id: int, role: str, content: str = "", **changes: Any) -> Message:
    base = Message(
        id=message_id, conversation_id=1, role=role, content=content, reasoning="",
        status="complete", error=None, model="step-3.7-flash", effort="medium",
        prompt_tokens=None, completion_tokens=None, cached_tokens=None, version_of=None,
        reply_to=message_id - 1 if role == "assistant" else None,
        created_at=int(time.time() * 1000) - 3000, finished_at=None, finish_reason=None,
        attachments=())
    return replace(base, **changes)


def conversation(turns: int) -> list[Message]:
    messages = []
    for turn in range(turns):
        user_id = 2 * turn + 1
        messages.append(make_message(user_id, "user", f"Question {turn}?"))
        messages.append(make_message(user_id + 1, "assistant",
                                     f"## Answer {turn}\n\nSome **bold** text.\n"))
    return messages


class StepClock:
    """A clock that advances a fixed step each time it is read: every time slice of the view
    does the same amount of work on any machine, loaded or not (no wall-clock dependence)."""

    def __init__(self, step_s: float = 0.001) -> None:
        self.now = 0.0
        self.step_s = step_s

    def __call__(self) -> float:
        self.now += self.step_s
        return self.now


@pytest.fixture
def view(qtbot: Any) -> Iterator[ConversationView]:
    widget = ConversationView(first_page=12, page_size=30, max_built=90, clock=StepClock())
    qtbot.addWidget(widget)
    widget.resize(700, 800)
    widget.show()
    qtbot.waitExposed(widget)
    yield widget


def settle(qtbot: Any, view: ConversationView) -> None:
    qtbot.waitUntil(view.is_idle, timeout=10_000)
    qtbot.wait(20)


def no_thumbnail(_sha256: str) -> Path | None:
    return None


def visible_ids(view: ConversationView) -> list[int]:
    """Ids of the built messages that intersect the viewport, top to bottom."""
    bar = view.scroll_area.verticalScrollBar()
    height = view.scroll_area.viewport().height()
    lo, hi = view.built_range
    shown = []
    for index in range(lo, hi):
        message = view.message_at(index)
        widget = view.message_widget(int(message.id))
        if widget is not None and widget.y() + widget.height() > bar.value() \
                and widget.y() < bar.value() + height:
            shown.append(int(message.id))
    return shown


def test_long_conversation_builds_last_page_then_pages_on_scroll(
        qtbot: Any, view: ConversationView) -> None:
    view.show_conversation(conversation(100), None, no_thumbnail)
    assert view.built_range == (188, 200)  # the first page, synchronously, at the end
    settle(qtbot, view)
    lo, hi = view.built_range
    assert hi == 200 and 200 - lo >= 30  # at least a page, the end included
    bar = view.scroll_area.verticalScrollBar()
    assert bar.value() == bar.maximum() > 0  # opens at the end
    assert visible_ids(view)[-1] == 200
    assert view.message_widget(200).body.toPlainText().startswith("Answer 99")
    assert view.message_widget(200).body.is_markdown  # upgraded after the plain first paint

    bar.setValue(0)
    qtbot.waitUntil(lambda: view.built_range[0] < lo, timeout=5000)
    settle(qtbot, view)
    new_lo, new_hi = view.built_range
    assert new_lo < lo and new_hi - new_lo <= 90  # more loaded above, memory stays bounded
    for _ in range(20):  # the user can scroll all the way to the first message
        bar.setValue(0)
        qtbot.wait(10)
        settle(qtbot, view)
        if view.built_range[0] == 0:
            break
    assert view.built_range[0] == 0
    assert view.message_widget(1) is not None
    assert view.built_range[1] - view.built_range[0] <= 90  # the far end was dropped


def test_prepending_keeps_the_visible_message_still(qtbot: Any, view: ConversationView
                                                    ) -> None:
    view.show_conversation(conversation(100), None, no_thumbnail)
    settle(qtbot, view)
    bar = view.scroll_area.verticalScrollBar()
    lo = view.built_range[0]
    bar.setValue(5)  # near the top of what is built: an older page is asked for
    anchor_id = visible_ids(view)[0]
    anchor = view.message_widget(anchor_id)
    settle(qtbot, view)
    assert view.built_range[0] < lo  # the older page came in above
    assert view.message_widget(anchor_id) is anchor  # the same widget, not rebuilt
    # the message the user was looking at is still in view (the content above it grew)
    assert anchor_id in visible_ids(view)


def test_streaming_5000_deltas_ends_exact_and_rendered(qtbot: Any, view: ConversationView
                                                       ) -> None:
    view.show_conversation(conversation(2), None, no_thumbnail)
    user = make_message(5, "user", "Make a table")
    assistant = make_message(6, "assistant", status="streaming")
    view.begin_reply(user, assistant)
    answer = ("Here you go:\n\n| n | square |\n|---|--:|\n"
              + "".join(f"| {n} | {n * n} |\n" for n in range(40))
              + "\n```python\nprint('done')\n```\n\nThat is **all**.\n")
    reasoning = "Let me think. " * 100
    pieces = [answer[i:i + 1] for i in range(len(answer))]
    deltas = [("r", reasoning[i:i + 2]) for i in range(0, len(reasoning), 2)]
    deltas += [("c", p) for p in pieces]
    deltas += [("c", "")] * (5000 - len(deltas))
    assert len(deltas) == 5000
    for n, (kind, text) in enumerate(deltas):
        if kind == "r":
            view.append_reasoning(6, text)
        else:
            view.append_content(6, text)
        if n % 250 == 0:
            qtbot.wait(1)
    view.finish_reply(6, "complete", None)
    settle(qtbot, view)
    message = view.message(6)
    assert message is not None and message.content == answer
    assert message.reasoning == reasoning and message.status == "complete"
    widget = view.message_widget(6)
    assert widget is not None
    shown = widget.body.toPlainText()
    assert "|" not in shown and "square" in shown and "1521" in shown  # a real table
    assert "That is all." in shown and "```" not in shown
    assert [b.code for b in widget.body.code_blocks()] == ["print('done')\n"]
    assert widget.thinking is not None and widget.thinking.text == reasoning
    bar = view.scroll_area.verticalScrollBar()
    assert bar.value() == bar.maximum()  # followed the stream at the bottom


def test_auto_scroll_only_when_at_bottom(qtbot: Any, view: ConversationView) -> None:
    view.show_conversation(conversation(20), None, no_thumbnail)
    settle(qtbot, view)
    view.begin_reply(make_message(41, "user", "q"), make_message(42, "assistant",
                                                                 status="streaming"))
    settle(qtbot, view)
    bar = view.scroll_area.verticalScrollBar()
    bar.setValue(bar.maximum() // 2)
    settle(qtbot, view)
    before = bar.value()
    for n in range(50):
        view.append_content(42, f"line {n}\n\n")
    settle(qtbot, view)
    assert bar.value() == before < bar.maximum()


@pytest.mark.parametrize(("status", "button", "signal", "target"), [
    ("complete", "regenerate", "regenerate_requested", 2),
    ("truncated", "continue", "continue_requested", 2),
    ("truncated", "regenerate", "regenerate_requested", 2),
    ("stopped", "retry", "retry_requested", 2),
    ("interrupted", "retry", "retry_requested", 2),
    ("blocked", "edit", "edit_requested", 1),
    ("error", "retry", "retry_requested", 2),
])
def test_status_buttons_emit(qtbot: Any, view: ConversationView, status: str, button: str,
                             signal: str, target: int) -> None:
    messages = [make_message(1, "user", "hi"),
                make_message(2, "assistant", "partial", status=status,
                             error="Bad key (trace id: t-1)" if status == "error" else None)]
    view.show_conversation(messages, None, no_thumbnail)
    settle(qtbot, view)
    widget = view.message_widget(2)
    assert widget is not None
    buttons = widget.action_buttons
    assert set(buttons) >= {button}
    assert buttons[button].accessibleName()
    with qtbot.waitSignal(getattr(view, signal)) as emitted:
        qtbot.mouseClick(buttons[button], Qt.MouseButton.LeftButton)
    assert emitted.args == [target]
    if status == "error":
        assert "Bad key (trace id: t-1)" in widget.status_text


def test_user_edit_and_copy(qtbot: Any, view: ConversationView) -> None:
    view.show_conversation([make_message(1, "user", "edit me"),
                            make_message(2, "assistant", "**answer**")], None, no_thumbnail)
    settle(qtbot, view)
    user = view.message_widget(1)
    assert user is not None
    with qtbot.waitSignal(view.edit_requested) as edited:
        qtbot.mouseClick(user.header_buttons["edit"], Qt.MouseButton.LeftButton)
    assert edited.args == [1]
    assistant = view.message_widget(2)
    assert assistant is not None
    with qtbot.waitSignal(view.copy_text) as copied:
        qtbot.mouseClick(assistant.header_buttons["copy"], Qt.MouseButton.LeftButton)
    assert copied.args == ["**answer**"]
    assert QGuiApplication.clipboard().text() == "**answer**"


def test_thinking_live_then_collapsed(qtbot: Any, view: ConversationView) -> None:
    view.show_conversation([], None, no_thumbnail)
    started = int(time.time() * 1000) - 12_000
    view.begin_reply(make_message(1, "user", "q"),
                     make_message(2, "assistant", status="streaming", created_at=started))
    view.append_reasoning(2, "First, ")
    view.append_reasoning(2, "consider.")
    settle(qtbot, view)
    thinking = view.message_widget(2).thinking
    assert thinking is not None and thinking.is_live and thinking.is_expanded
    assert thinking.header_text in ("Thinking… 12 s", "Thinking… 13 s")
    assert thinking.shown_text == "First, consider."
    view.append_content(2, "Answer.")
    settle(qtbot, view)
    assert not thinking.is_live and not thinking.is_expanded
    assert thinking.header_text.startswith("Thought for 1")
    view.finish_reply(2, "complete", None)
    settle(qtbot, view)
    assert thinking.header_text.startswith("Thought for 1")
    qtbot.mouseClick(thinking.header, Qt.MouseButton.LeftButton)
    assert thinking.is_expanded and thinking.shown_text == "First, consider."


def test_thinking_expanded_preference(qtbot: Any) -> None:
    view = ConversationView(thinking_expanded=True)
    qtbot.addWidget(view)
    view.show_conversation([make_message(1, "user", "q"),
                            make_message(2, "assistant", "a", reasoning="why")], None,
                           no_thumbnail)
    thinking = view.message_widget(2).thinking
    assert thinking is not None and thinking.is_expanded and thinking.shown_text == "why"


def test_version_switcher(qtbot: Any, view: ConversationView) -> None:
    first = make_message(2, "assistant", "v1")
    second = make_message(4, "assistant", "v2", version_of=2)
    third = make_message(6, "assistant", "v3", version_of=2)
    view.show_conversation([make_message(1, "user", "q"), second], {4: [2, 4, 6]},
                           no_thumbnail)
    settle(qtbot, view)
    widget = view.message_widget(4)
    assert widget is not None and widget.version_label.text() == "2 / 3"
    with qtbot.waitSignal(view.version_selected) as chosen:
        qtbot.mouseClick(widget.version_next, Qt.MouseButton.LeftButton)
    assert chosen.args == [6]
    with qtbot.waitSignal(view.version_selected) as chosen:
        qtbot.mouseClick(widget.version_previous, Qt.MouseButton.LeftButton)
    assert chosen.args == [2]
    view.replace_message(third)
    widget = view.message_widget(6)
    assert widget is not None and view.message_widget(4) is None
    assert widget.version_label.text() == "3 / 3" and not widget.version_next.isEnabled()
    view.replace_message(first)
    assert view.message_widget(2).version_label.text() == "1 / 3"


def test_regenerate_streams_in_place_as_a_new_version(qtbot: Any, view: ConversationView
                                                      ) -> None:
    view.show_conversation(conversation(3), None, no_thumbnail)
    settle(qtbot, view)
    view.begin_reply(None, make_message(7, "assistant", status="streaming", version_of=6,
                                        reply_to=5))
    view.append_content(7, "new answer")
    view.finish_reply(7, "complete", None)
    settle(qtbot, view)
    assert view.message_count == 6 and view.message_widget(6) is None
    widget = view.message_widget(7)
    assert widget is not None and widget.version_label.text() == "2 / 2"
    assert widget.body.toPlainText() == "new answer"


def test_edit_and_resend_replaces_the_turn(qtbot: Any, view: ConversationView) -> None:
    view.show_conversation(conversation(2), None, no_thumbnail)
    view.begin_reply(make_message(5, "user", "edited", version_of=3),
                     make_message(6, "assistant", status="streaming", reply_to=5, id=6))
    assert [view.message(i) is not None for i in (1, 2, 3, 4, 5, 6)] == [
        True, True, False, False, True, True]
    assert view.message_count == 4


def test_attachments_show_thumbnails_and_activate(qtbot: Any, view: ConversationView,
                                                  tmp_path: Path) -> None:
    thumb = tmp_path / "t.png"
    image = QImage(200, 100, QImage.Format.Format_RGB32)
    image.fill(0x3366AA)
    assert image.save(str(thumb))
    records = (
        AttachmentRecord(kind="image", mime="image/png", sha256="a" * 64, bytes=10,
                         width=200, height=100, duration_s=None, original_name="cat.png",
                         ordinal=0),
        AttachmentRecord(kind="video", mime="video/mp4", sha256="b" * 64, bytes=10,
                         width=200, height=100, duration_s=75.0, original_name="clip.mp4",
                         ordinal=1),
    )
    view.show_conversation([make_message(1, "user", "look", attachments=records)], None,
                           lambda sha: thumb)
    settle(qtbot, view)
    widget = view.message_widget(1)
    assert widget is not None
    buttons = widget.attachment_buttons
    assert [b.accessibleName() for b in buttons] == [
        "Image attachment cat.png", "Video attachment clip.mp4, 1:15"]
    assert not buttons[0].icon().isNull() and buttons[0].iconSize().width() <= 96
    with qtbot.waitSignal(view.attachment_activated) as activated:
        qtbot.mouseClick(buttons[1], Qt.MouseButton.LeftButton)
    assert activated.args == ["b" * 64]


def test_usage_and_effort_badge(qtbot: Any, view: ConversationView) -> None:
    view.show_conversation([], None, no_thumbnail)
    view.begin_reply(make_message(1, "user", "q"),
                     make_message(2, "assistant", status="streaming", effort="high"))
    view.set_usage(2, 1200, 345, 100)
    view.finish_reply(2, "truncated", None)
    widget = view.message_widget(2)
    assert widget is not None
    assert widget.usage_text == "effort high · 1,200 in · 345 out · 100 cached"
    assert set(widget.action_buttons) == {"continue", "regenerate"}


def test_clear_empties_the_view(qtbot: Any, view: ConversationView) -> None:
    view.show_conversation(conversation(5), None, no_thumbnail)
    view.clear()
    assert view.message_count == 0 and view.built_range == (0, 0)
    assert view.message_widget(1) is None



def test_empty_conversation_says_how_to_start(qtbot: Any, view: ConversationView) -> None:
    view.show()
    hint = view.findChild(QLabel, None)
    assert hint is not None and hint.isVisible() and "Ctrl+V" in hint.text()
    assert not view.scroll_area.isVisible()
    view.begin_reply(make_message(1, "user", "q"), make_message(2, "assistant",
                                                              status="streaming"))
    assert not hint.isVisible() and view.scroll_area.isVisible()
    view.clear()
    assert hint.isVisible()


def test_reveal_scrolls_to_an_old_search_hit(qtbot: Any, view: ConversationView) -> None:
    view.show_conversation(conversation(200), None, no_thumbnail)  # 400 messages
    settle(qtbot, view)
    assert view.message_widget(11) is None  # far from the last page: not built yet
    assert view.reveal(11)
    settle(qtbot, view)
    widget = view.message_widget(11)
    assert widget is not None
    top = widget.mapTo(view.scroll_area.widget(), widget.rect().topLeft()).y()
    bar = view.scroll_area.verticalScrollBar()
    assert bar.value() <= top <= bar.value() + view.scroll_area.viewport().height()
    assert bar.value() < bar.maximum()  # no longer pinned to the end
    assert not view.reveal(99_999)
