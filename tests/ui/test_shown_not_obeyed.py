"""In the window, model and server text never acts outside its widget: notifications, window
titles, tooltips and list rows get the same treatment as the terminal (`app.safetext`)."""

from __future__ import annotations

from app.safetext import one_line
from app.ui.platform.tray import notification_text

HOSTILE = "Error \x1b]0;pwned\x07 <img src='http://evil.example/x.png'> &amp;\nsecond\u202e"


def test_notification_text_has_no_controls_and_no_markup() -> None:
    text = notification_text(HOSTILE)
    for char in ("\x1b", "\x07", "<", ">", "&", "\n", "\u202e"):
        assert char not in text
    assert "pwned" in text and "evil.example" in text  # shown, not dropped


def test_titles_and_names_stay_one_line() -> None:
    assert "\n" not in one_line("title\nforged row") and "\x1b" not in one_line("\x1b[2J")
