"""How a message looks and behaves: readable column, user bubbles, folding, hover actions."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QEnterEvent
from PySide6.QtWidgets import QApplication

from app.ui.widgets.conversation_view import ConversationView
from app.ui.widgets.message_widget import FOLD_LINES, MessageWidget, readable_width
from tests.ui.test_conversation_view import make_message, no_thumbnail, settle


def show(qtbot: Any, width: int, *messages: Any) -> ConversationView:
    view = ConversationView(first_page=12, page_size=30, max_built=90)
    qtbot.addWidget(view)
    view.resize(width, 900)
    view.show()
    view.show_conversation(list(messages), None, no_thumbnail)
    settle(qtbot, view)
    return view


def widget(view: ConversationView, message_id: int) -> MessageWidget:
    found = view.message_widget(message_id)
    assert found is not None
    return found


def test_answers_keep_a_readable_column_centred_in_a_wide_window(qtbot: Any) -> None:
    view = show(qtbot, 1800, make_message(1, "user", "hi"),
                make_message(2, "assistant", "word " * 400))
    answer = widget(view, 2)
    column = answer.column.geometry()
    assert column.width() <= readable_width(answer) + 1
    assert abs(column.center().x() - answer.rect().center().x()) <= 2
    narrow = show(qtbot, 500, make_message(1, "user", "hi"),
                  make_message(2, "assistant", "word " * 400))
    assert widget(narrow, 2).column.width() < readable_width(answer)  # grows only to max


def test_user_turn_is_a_bubble_on_the_right(qtbot: Any) -> None:
    view = show(qtbot, 1000, make_message(1, "user", "Short question?"),
                make_message(2, "assistant", "An answer."))
    user = widget(view, 1)
    assert user.bubble is not None and user.bubble.property("role") == "bubble"
    bubble = user.bubble.geometry()
    assert bubble.right() >= user.column.width() - 2  # flush right
    assert bubble.width() < user.column.width() * 0.6  # hugs a short text
    assert widget(view, 2).bubble is None


def test_long_user_turn_folds_with_show_more(qtbot: Any) -> None:
    text = "\n".join(f"line {n}" for n in range(40))
    view = show(qtbot, 900, make_message(1, "user", text),
                make_message(2, "assistant", "ok"))
    user = widget(view, 1)
    assert user.fold_button is not None and user.folded
    assert user.fold_button.text() == "Show more"
    line = user.body.fontMetrics().lineSpacing()
    folded = user.body.height()
    assert folded <= (FOLD_LINES + 1) * line + 10
    qtbot.mouseClick(user.fold_button, Qt.MouseButton.LeftButton)
    assert not user.folded and user.fold_button.text() == "Show less"
    assert user.body.height() > 30 * line
    short = show(qtbot, 900, make_message(1, "user", "one line"),
                 make_message(2, "assistant", "ok"))
    assert widget(short, 1).fold_button is None


def test_actions_appear_on_hover_and_keyboard_focus(qtbot: Any) -> None:
    view = show(qtbot, 900, make_message(1, "user", "q"), make_message(2, "assistant", "a"))
    answer = widget(view, 2)
    assert not answer.actions_shown()
    names = {b.accessibleName() for b in (answer.header_buttons["copy"],
                                         answer.action_buttons["regenerate"])}
    assert names == {"Copy message", "Regenerate"}
    assert not answer.action_buttons["regenerate"].icon().isNull()
    enter = QEnterEvent(QPointF(5, 5), QPointF(5, 5), QPointF(answer.mapToGlobal(QPoint(5, 5))))
    QApplication.sendEvent(answer, enter)
    assert answer.actions_shown()
    QApplication.sendEvent(answer, _leave())
    assert not answer.actions_shown()
    view.activateWindow()
    answer.header_buttons["copy"].setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.waitUntil(answer.header_buttons["copy"].hasFocus)
    assert answer.actions_shown()


def _leave() -> Any:
    from PySide6.QtCore import QEvent

    return QEvent(QEvent.Type.Leave)


def test_a_finished_answer_from_history_does_not_read_as_still_thinking(qtbot: Any) -> None:
    """How long a stored reply thought is not kept: its header names the part, and does not
    say "Thinking" as a live one does."""
    view = show(qtbot, 900, make_message(1, "user", "Why?"),
                make_message(2, "assistant", "Because.", reasoning="Let me see."))
    thinking = widget(view, 2).thinking
    assert thinking is not None
    assert not thinking.header_text.startswith("Thinking")
    assert thinking.header_text == "Thought process"
