"""The window's look as a user meets it: sidebar collapse, text size, shortcuts sheet,
and an accessible name on every control a keyboard or screen-reader user can reach."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QLineEdit,
    QPlainTextEdit,
    QTextEdit,
    QWidget,
)

from app.ui.widgets.message_widget import MessageWidget
from tests.ui.harness import close_window, open_window, run

INTERACTIVE = (QAbstractButton, QComboBox, QLineEdit, QPlainTextEdit, QTextEdit,
               QAbstractItemView, QAbstractSpinBox)


def _trigger(window: Any, keys: str) -> None:
    """Press a window shortcut the way Qt dispatches it: the action that owns it."""
    [action] = [a for a in window.actions()
                if any(k.toString() == keys for k in a.shortcuts())]
    action.trigger()


def unnamed_controls(root: QWidget) -> list[str]:
    """Visible, enabled, focusable controls without an accessible name (or a visible text
    a screen reader would read instead)."""
    missing = []
    for widget in root.findChildren(QWidget):
        if not isinstance(widget, INTERACTIVE) or not widget.isVisible():
            continue
        if widget.focusPolicy() == Qt.FocusPolicy.NoFocus and not isinstance(
                widget, QAbstractButton):
            continue
        owner = widget.parent()
        if isinstance(widget, QLineEdit) and isinstance(owner, QComboBox | QAbstractSpinBox):
            continue  # the editor inside a combo/spin box is named by its owner
        text = widget.text() if isinstance(widget, QAbstractButton) else ""
        if not (widget.accessibleName() or text.strip()):
            missing.append(f"{type(widget).__name__} {widget.objectName()!r} "
                           f"in {type(widget.parent()).__name__}")
    return missing


def test_sidebar_collapses_with_ctrl_b_and_stays_collapsed(qloop: Any,
                                                           gui_env: dict[str, str]) -> None:
    async def scenario() -> None:
        window = await open_window(gui_env)
        assert window.sidebar.isVisible()
        _trigger(window, "Ctrl+B")
        assert not window.sidebar.isVisible()
        assert window.sidebar_action.text() == "Show &sidebar"
        await close_window(window)
        again = await open_window(gui_env)
        assert not again.sidebar.isVisible()
        again.sidebar_button.click()
        assert again.sidebar.isVisible()
        await close_window(again)

    run(qloop, scenario())


def test_text_size_steps_and_is_remembered(qloop: Any, gui_env: dict[str, str]) -> None:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    base = QFont(app.font()).pointSizeF()

    async def scenario() -> None:
        window = await open_window(gui_env)
        _trigger(window, "Ctrl+=")
        _trigger(window, "Ctrl+=")
        assert window.look.text_scale == 1.25
        assert app.font().pointSizeF() > base
        await close_window(window)
        again = await open_window(gui_env)
        assert again.look.text_scale == 1.25
        _trigger(again, "Ctrl+0")
        assert again.look.text_scale == 1.0
        assert app.font().pointSizeF() == base
        _trigger(again, "Ctrl+-")
        assert again.look.text_scale == 0.9
        await close_window(again)

    try:
        run(qloop, scenario())
    finally:
        font = app.font()
        font.setPointSizeF(base)
        app.setFont(font)


def test_shortcuts_sheet_lists_every_window_shortcut(qloop: Any,
                                                     gui_env: dict[str, str]) -> None:
    from app.ui.dialogs.shortcuts import ShortcutsSheet

    async def scenario() -> None:
        window = await open_window(gui_env)
        _trigger(window, "Ctrl+/")
        [sheet] = window.findChildren(ShortcutsSheet)
        rows = dict(sheet.rows())
        assert rows["Hide sidebar"] == "Ctrl+B"
        assert rows["New conversation"] == "Ctrl+N"
        assert rows["Search messages"] == "Ctrl+K"
        assert rows["Keyboard shortcuts"] == "Ctrl+/"
        assert rows["Send the message"] == "Enter"
        assert "Ctrl+=" in rows["Bigger text"]
        sheet.reject()
        await close_window(window)

    run(qloop, scenario())


def test_every_visible_control_has_an_accessible_name(qloop: Any,
                                                       gui_env: dict[str, str]) -> None:
    async def scenario() -> None:
        window = await open_window(gui_env)
        assert unnamed_controls(window) == []
        await close_window(window)

    run(qloop, scenario())


def test_new_conversation_welcomes_with_templates_and_ways_to_bring_media(
        qloop: Any, gui_env: dict[str, str], standin: Any) -> None:
    standin.reply(content="Done.", chunks=2)

    async def scenario() -> None:
        from tests.ui.harness import next_signal, until

        window = await open_window(gui_env)
        welcome = window.welcome
        assert window.center.currentWidget() is welcome
        await until(lambda: welcome.cards, what="the template cards")
        assert all(card.accessibleName().startswith("Template ") for card in welcome.cards)
        assert "Ctrl+Shift+S" in welcome.capture_way.toolTip()
        assert "Ctrl+V" in welcome.paste_way.toolTip()
        assert not welcome.key_note.isVisible()  # the stand-in key is set
        card = welcome.cards[0]
        card.click()
        await until(lambda: window.composer.template is not None, what="the template in use")
        assert window.composer.template.slug == card.property("slug")
        window.composer.set_template(None)
        window.composer.set_text("hello")
        await next_signal(window.controllers.turns.turn_ended, window.composer.edit.submit.emit)
        assert window.center.currentWidget() is window.view
        window.new_conversation()
        await until(lambda: window.center.currentWidget() is welcome, what="welcome again")
        await close_window(window)

    run(qloop, scenario())


@pytest.mark.parametrize("width", [1100, 900])
def test_welcome_tiles_show_their_whole_text(qloop: Any, gui_env: dict[str, str],
                                             width: int) -> None:
    """A tool button narrower than its size hint elides its text mid-word ("Drop images and
    vid...re"): at the first-start width and a narrower one, every tile gets its full width."""
    async def scenario() -> None:
        from tests.ui.harness import until

        window = await open_window(gui_env)
        welcome = window.welcome
        await until(lambda: welcome.cards, what="the template cards")
        tiles = [welcome.attach_way, welcome.paste_way, welcome.capture_way, *welcome.cards]

        def squeezed() -> list[str]:
            return [t.accessibleName() for t in tiles
                    if t.width() < t.sizeHint().width() or not t.isVisible()]
        window.resize(width, 760)
        await until(lambda: window.width() == width, what="the resize")
        await until(lambda: not squeezed(), what=f"whole tiles, not {squeezed()}")
        for tile in welcome.cards:  # and all on the page, none cut off at its right edge
            right = tile.mapTo(welcome.viewport(), tile.rect().topRight()).x()
            assert right < welcome.viewport().width()
        await close_window(window)

    run(qloop, scenario())


def test_welcome_offers_the_key_when_none_is_set(qloop: Any, gui_env: dict[str, str]) -> None:
    env = {k: v for k, v in gui_env.items() if k != "STEP_API_KEY"}
    env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.null.Keyring"

    async def scenario() -> None:
        from app.ui.dialogs.settings import SettingsDialog
        from tests.ui.harness import until

        window = await open_window(env)
        await until(window.welcome.key_note.isVisible, what="the key note")
        window.welcome.key_button.click()
        await until(lambda: window.findChildren(SettingsDialog), what="Settings")
        dialog = window.findChildren(SettingsDialog)[0]
        assert window.settings_dialog is dialog
        dialog.reject()
        await close_window(window)

    run(qloop, scenario())


def test_refusals_are_readable_however_many_attachments(qloop: Any, gui_env: dict[str, str],
                                                       standin: Any, tmp_path: Any) -> None:
    import os

    from tests import media_factory as mf
    from tests.test_cli_ask import make_png

    folder = tmp_path / "a folder"
    folder.mkdir()
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    files = [folder, fifo, mf.huge_png_header(tmp_path), make_png(tmp_path / "ok.png")]
    from pathlib import Path

    files.insert(2, Path("/dev/zero"))
    standin.reply(content="Seen.", chunks=2)

    async def scenario() -> None:
        from tests.ui.harness import next_signal, until

        window = await open_window(gui_env, files)
        tray = window.composer.tray
        await until(lambda: all(i.state in ("ready", "failed") for i in tray.items())
                    and len(tray.items()) == 5, what="all five prepared")
        failed = [i for i in tray.items() if i.state == "failed"]
        assert len(failed) == 4
        lines = tray.refusal_lines()
        assert len(lines) == 4
        shown = tray.refusals.text()
        for item in failed:
            assert item.reason and item.reason in shown  # whole, not elided
            assert item.property("state") == "failed"
        assert tray.refusals.isVisible() and "Send leaves these 4 files out." in shown
        # the strip's scroll bar has room of its own: every card is fully inside the view
        viewport = tray.strip.viewport().rect()
        for item in tray.items():
            top_left = item.mapTo(tray.strip.viewport(), item.rect().topLeft())
            assert top_left.y() >= 0 and top_left.y() + item.height() <= viewport.height()
        window.composer.set_text("What is this?")
        await next_signal(window.controllers.turns.turn_ended, window.composer.edit.submit.emit)
        [upload] = standin.upload_requests()
        assert upload is not None  # only ok.png went out
        await close_window(window)

    run(qloop, scenario())


def tab_cycle(start: QWidget) -> list[QWidget]:
    """The controls Tab visits from `start` until it comes back (visible, enabled, tabbable)."""
    cycle: list[QWidget] = []
    current = start
    for _ in range(1000):
        current = current.nextInFocusChain()
        if current is start:
            return cycle
        if current.isVisible() and current.isEnabled() and \
                current.focusPolicy() & Qt.FocusPolicy.TabFocus:
            cycle.append(current)
    raise AssertionError("the focus chain does not come back to where it started")


def _group(widget: QWidget, window: Any) -> str:
    """Which part of the window a control belongs to, as a person would say it."""
    owner: QWidget | None = widget
    while owner is not None:
        if owner is window.composer:
            return "composer"
        if owner is window.sidebar:
            return "sidebar"
        if isinstance(owner, MessageWidget):
            return f"message {owner.message_id}"
        owner = owner.parentWidget()
    return "other"


def test_tab_reaches_every_control_in_reading_order(qloop: Any, gui_env: dict[str, str],
                                                    standin: Any) -> None:
    """Tab from the composer walks its controls left to right, then each message's controls
    top to bottom, then the sidebar, and comes back; no visible control is out of reach and
    no part of the window is split across the cycle. Tab in the composer moves on (it does
    not type a tab)."""
    from PySide6.QtTest import QTest

    from tests.ui.harness import next_signal

    standin.reply(content="Done.\n\n```python\nprint(1)\n```\n", chunks=2)

    async def scenario() -> None:
        window = await open_window(gui_env)
        window.composer.set_text("hello")
        await next_signal(window.controllers.turns.turn_ended, window.composer.edit.submit.emit)
        edit = window.composer.edit
        cycle = tab_cycle(edit)
        reachable = set(cycle) | {edit}
        out_of_reach = [
            f"{type(w).__name__} {w.accessibleName()!r}" for w in window.findChildren(QWidget)
            if isinstance(w, INTERACTIVE) and w.isVisible() and w.isEnabled()
            and w.focusPolicy() & Qt.FocusPolicy.TabFocus and w not in reachable
            and not (isinstance(w, QLineEdit) and isinstance(w.parent(), QComboBox))]
        assert out_of_reach == []

        groups = [_group(w, window) for w in cycle]
        order = [g for i, g in enumerate(groups) if i == 0 or groups[i - 1] != g]
        assert len(order) == len(set(order)), f"a part of the window is split: {order}"
        assert order[0] == "composer"
        messages = [g for g in order if g.startswith("message ")]
        assert len(messages) == 2
        assert messages == sorted(messages, key=lambda g: int(g.split()[1]))
        assert order.index("sidebar") > order.index(messages[-1])

        composer = [w for w in cycle if _group(w, window) == "composer"]
        xs = [w.mapTo(window, w.rect().center()).x() for w in composer]
        assert xs == sorted(xs), "composer controls are not left to right"
        assert composer[-1].accessibleName() == "Send"

        window.activateWindow()
        edit.setFocus()
        QTest.keyClick(edit, Qt.Key.Key_Tab)
        assert QApplication.focusWidget() is cycle[0]
        assert "\t" not in window.composer.text()
        await close_window(window)

    run(qloop, scenario())
