"""The quick-ask panel and its controller on a real window, stand-in and SQLite store.

The capture itself is made here (a QImage pattern: the X-server tests cover the grab); the
rest is the real pipeline: PNG encoding, intake, upload, streaming into the panel, the
conversation kept. Time is an injected clock, so "within a minute" needs no waiting.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageChops
from PySide6.QtCore import QMimeData, QRect
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QToolButton

from tests.ui.harness import close_window, next_signal, run, until

pytestmark = pytest.mark.qt_log_ignore("does not support raise")  # offscreen cannot raise


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def pattern(width: int = 120, height: int = 80) -> QImage:
    image = QImage(width, height, QImage.Format.Format_RGB32)
    for y in range(height):
        for x in range(width):
            image.setPixelColor(x, y, QColor((x * 3) % 256, (y * 7) % 256, (x ^ y) % 256))
    return image


def as_pil(image: QImage) -> Image.Image:
    from app.ui.widgets.drop_overlay import image_to_png

    return Image.open(io.BytesIO(image_to_png(image))).convert("RGB")


async def open_background(env: dict[str, str], clock: Clock,
                          hotkeys: Any = None) -> tuple[Any, Any]:
    from app.ui.app import build_background, build_window, make_application, start
    from app.ui.capture.hotkeys.base import HotkeyBackend

    make_application()
    window = build_window(Path(env["STEPDESK_DATA_DIR"]))
    background = build_background(window, hotkeys or HotkeyBackend(), clock)
    await start(window, env, [], lambda: background)
    return window, background


def captured(image: QImage) -> Any:
    from app.ui.capture.session import Captured

    return Captured(image, QRect(100, 100, image.width(), image.height()))


async def ask(qa: Any, text: str, slug: str = "") -> tuple[Any, ...]:
    panel = qa.panel
    panel.prompt.setPlainText(text)
    return await next_signal(qa.finished, lambda: qa.send(text, "low", slug), timeout=30)


def test_capture_asks_streams_and_keeps_the_conversation(qloop: Any, gui_env: dict[str, str],
                                                         standin: Any) -> None:
    clock = Clock()

    async def scenario() -> None:
        window, bg = await open_background(gui_env, clock)
        qa = bg.quick_ask
        image = pattern()
        qa.open_capture(captured(image))
        assert qa.panel.isVisible() and qa.panel.thumbnail.isVisible()
        assert not qa.panel.choice_row.isVisible()  # no earlier quick ask: only "new"
        conversation, status, error = await ask(qa, "what is this")
        assert (status, error) == ("complete", "")
        upload = standin.upload_requests()[-1].file_bytes
        got = Image.open(io.BytesIO(upload)).convert("RGB")
        assert ImageChops.difference(got, as_pil(image)).getbbox() is None
        assert "what is this" in qa.panel.answer_text()  # the stand-in echoes the prompt
        assert qa.panel.answer_bar.isVisible()
        qa.panel.dismissed.emit()  # Esc: the panel goes, the conversation stays
        assert not qa.panel.isVisible()
        assert conversation in window.controllers.conversations.conversation_ids()

        clock.now += 30  # within a minute: "add to that conversation" is offered
        qa.open_capture(captured(pattern(60, 40)))
        assert qa.panel.choice_row.isVisible()
        qa.panel.add_choice.setChecked(True)
        again, status, _ = await ask(qa, "and now")
        assert again == conversation and status == "complete"
        qa.panel.dismissed.emit()

        clock.now += 61  # more than a minute later: only "new"
        qa.open_capture(captured(pattern(50, 50)))
        assert not qa.panel.choice_row.isVisible()
        third, _, _ = await ask(qa, "third")
        assert third != conversation
        await close_window(window)

    run(qloop, scenario())


def test_capture_while_streaming_is_queued_not_interrupting(qloop: Any, gui_env: dict[str, str],
                                                            standin: Any) -> None:
    async def scenario() -> None:
        window, bg = await open_background(gui_env, Clock())
        qa = bg.quick_ask
        standin.fault("stall", seconds=30)
        qa.open_capture(captured(pattern()))
        qa.panel.prompt.setPlainText("first")
        started = next_signal(window.controllers.turns.streaming,
                              lambda: qa.send("first", "low", ""), timeout=30)
        await started
        assert qa.streaming
        qa.open_capture(captured(pattern(40, 40)))  # arrives while the answer streams
        assert qa.streaming and qa.panel.note.text().startswith("The new capture waits")
        await until(lambda: len(qa.attachments.ready()) == 1, what="the queued capture")
        _, status, _ = await next_signal(qa.finished, qa.stop)
        assert status == "stopped"
        assert len(qa.attachments.ready()) == 1  # still there for the next question
        uploads = len(standin.upload_requests())
        _, status, _ = await ask(qa, "second")
        assert status == "complete" and len(standin.upload_requests()) == uploads + 1
        await close_window(window)

    run(qloop, scenario())


def test_no_key_says_how_to_set_one(qloop: Any, gui_env: dict[str, str], standin: Any) -> None:
    from app.ui.controllers.quick_ask import NO_KEY

    env = {k: v for k, v in gui_env.items() if k != "STEP_API_KEY"}
    env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.null.Keyring"

    async def scenario() -> None:
        window, bg = await open_background(env, Clock())
        qa = bg.quick_ask
        qa.open_empty()
        assert qa.panel.note.text() == NO_KEY
        await qa.send("hello", "low", "")
        assert qa.panel.note.text() == NO_KEY and not standin.chat_requests()
        await close_window(window)

    run(qloop, scenario())


def test_template_tile_paste_and_escape(qloop: Any, gui_env: dict[str, str],
                                        standin: Any) -> None:
    async def scenario() -> None:
        window, bg = await open_background(gui_env, Clock())
        qa = bg.quick_ask
        qa.open_empty()  # the second shortcut: no capture
        assert not qa.panel.thumbnail.isVisible()
        mime = QMimeData()
        mime.setImageData(pattern(30, 30))
        qa.panel.prompt.insertFromMimeData(mime)  # Ctrl+V of an image
        await until(lambda: len(qa.attachments.ready()) == 1, what="the pasted image")
        qa.panel.dismissed.emit()  # Esc leaves nothing attached
        assert qa.panel.tray.items() == [] and qa.attachments.ready() == []

        pinned = window.controllers.templates.pinned
        assert pinned, "built-in templates are pinned"
        template = next(t for t in pinned if t.media in ("image", "either"))
        qa.open_capture(captured(pattern()))
        tile = next(b for b in qa.panel.tiles_row.findChildren(QToolButton)
                    if b.property("slug") == template.slug)
        _, status, _ = await next_signal(qa.finished, tile.click, timeout=30)
        assert status == "complete"
        assert template.prompt.strip()[:40] in str(standin.chat_requests()[-1].json)
        await close_window(window)

    run(qloop, scenario())


def test_the_capture_section_saves_through_the_options_registry(
        qloop: Any, gui_env: dict[str, str], standin: Any) -> None:
    """Settings' capture section reads and writes the registry's options; a shortcut the
    registry refuses (no modifier) is said and nothing is stored."""
    from app.ui.capture.hotkeys.base import HotkeyBackend
    from app.ui.widgets.shortcut_settings import ShortcutSettings

    class Granting(HotkeyBackend):  # every shortcut free (the X tests grab for real)
        def register(self, name: str, sequence: str) -> str | None:
            return None

    async def section_of(window: Any) -> Any:
        window.open_settings()
        await until(lambda: window.settings_dialog is not None, what="the Settings dialog")
        return window.settings_dialog, window.settings_dialog.findChild(ShortcutSettings)

    async def scenario() -> None:
        window, bg = await open_background(gui_env, Clock(), Granting())
        library = window.controllers.settings.library
        await until(lambda: not library.connecting, what="the key lookup")
        assert bg.capture.shortcuts == {"capture": "Ctrl+Alt+S", "quick_ask": "Ctrl+Alt+Space"}
        dialog, section = await section_of(window)
        assert section.sequence("capture") == "Ctrl+Alt+S"
        section.set_sequence("capture", "Ctrl+Shift+X")
        section.set_sequence("quick_ask", "")  # Off
        dialog.accept()
        await until(lambda: bg.capture.shortcuts == {"capture": "Ctrl+Shift+X"},
                    what="the new shortcut grabbed")
        assert library.settings.capture_shortcut == "Ctrl+Shift+X"
        assert library.settings.quick_ask_shortcut == "off"
        keys = ["capture_shortcut", "quick_ask_shortcut"]
        store = library.services.store
        assert await store.get_settings(keys) == dict(zip(keys, ["Ctrl+Shift+X", "off"],
                                                          strict=True))
        await until(lambda: window.settings_dialog is None, what="the dialog to close")

        dialog, section = await section_of(window)
        assert section.sequence("capture") == "Ctrl+Shift+X" and section.sequence("quick_ask") == ""
        section.set_sequence("capture", "X")
        dialog.accept()
        said = "Capture shortcut must be a shortcut"  # where _say puts it: window hidden
        await until(lambda: said in bg.quick_ask.panel.note.text(), what="the refusal")
        assert await store.get_settings(keys[:1]) == {"capture_shortcut": "Ctrl+Shift+X"}
        assert bg.capture.shortcuts == {"capture": "Ctrl+Shift+X"}
        await close_window(window)

    run(qloop, scenario())


def test_mark_up_captures_is_remembered_as_an_option(qloop: Any, gui_env: dict[str, str],
                                                     standin: Any) -> None:
    async def scenario() -> None:
        window, _bg = await open_background(gui_env, Clock())
        library = window.controllers.settings.library
        assert not window.markup_captures.isChecked()
        window.markup_captures.setChecked(True)  # File › Mark up captures before sending
        await until(lambda: library.settings.mark_up_captures, what="the option saved")
        await close_window(window)
        window, _bg = await open_background(gui_env, Clock())
        assert window.markup_captures.isChecked()
        await close_window(window)

    run(qloop, scenario())
