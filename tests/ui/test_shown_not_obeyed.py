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


def test_settings_refuse_credentials_in_the_base_url_and_diagnostics_redact(
        qloop, gui_env: dict[str, str], standin) -> None:
    from PySide6.QtGui import QGuiApplication

    from app.ui.dialogs.settings import SettingsValues
    from tests.conftest import TEST_API_KEY
    from tests.ui.harness import close_window, open_window, run

    async def scenario() -> None:
        window = await open_window(gui_env)
        library = window.controllers.conversations.library
        values = SettingsValues(api_key="", use_key_file=False,
                                base_url="https://bob:hunter2-secret@api.stepfun.ai/v1",
                                model="step-3.7-flash", effort="low", detail="high",
                                api_style="chat", upload_media=True,
                                proxy="http://alice:pr0xy-secret@proxy.example:3128",
                                use_system_trust=False)
        note = await library.save_settings(values)
        assert note is not None and "user name or password" in note
        assert "hunter2-secret" not in note
        assert library.settings.base_url == standin.base_url  # nothing was applied
        library.services.settings = library.settings.with_changes(proxy=values.proxy)
        window.copy_diagnostics()
        report = QGuiApplication.clipboard().text()
        assert "proxy.example:3128" in report  # the proxy is named, its password is not
        assert TEST_API_KEY not in report and "pr0xy-secret" not in report
        await close_window(window)

    run(qloop, scenario())
