"""Composer key bindings and the drop/paste preference rules (no event loop needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QMimeData, Qt, QUrl
from PySide6.QtGui import QColor, QImage, QInputMethodEvent

from app.ui.widgets.composer import Composer
from app.ui.widgets.drop_overlay import media_from_mime


def make_composer(qtbot: Any) -> Composer:
    composer = Composer()
    qtbot.addWidget(composer)
    composer.show()
    composer.edit.setFocus()
    return composer


def test_enter_sends_shift_enter_adds_line(qtbot: Any) -> None:
    composer = make_composer(qtbot)
    sent: list[str] = []
    composer.send_requested.connect(sent.append)
    qtbot.keyClicks(composer.edit, "first")
    qtbot.keyClick(composer.edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClicks(composer.edit, "second")
    assert sent == []
    assert composer.text() == "first\nsecond"
    qtbot.keyClick(composer.edit, Qt.Key.Key_Return)
    assert sent == ["first\nsecond"]


def test_enter_committing_an_ime_composition_does_not_send(qtbot: Any) -> None:
    composer = make_composer(qtbot)
    sent: list[str] = []
    composer.send_requested.connect(sent.append)
    composer.edit.inputMethodEvent(QInputMethodEvent("nihao", []))
    qtbot.keyClick(composer.edit, Qt.Key.Key_Return)
    assert sent == []
    commit = QInputMethodEvent("", [])
    commit.setCommitString("你好")
    composer.edit.inputMethodEvent(commit)
    assert composer.text().endswith("你好")
    qtbot.keyClick(composer.edit, Qt.Key.Key_Return)
    assert sent == [composer.text()]


def test_send_becomes_stop_while_busy_and_escape_stops(qtbot: Any) -> None:
    composer = make_composer(qtbot)
    stops: list[bool] = []
    sent: list[str] = []
    composer.stop_requested.connect(lambda: stops.append(True))
    composer.send_requested.connect(sent.append)
    qtbot.keyClick(composer.edit, Qt.Key.Key_Escape)
    assert stops == []
    composer.set_busy(True)
    assert composer.send_button.text() == "Stop"
    assert composer.send_button.accessibleName() == "Stop"
    qtbot.keyClicks(composer.edit, "next question")
    qtbot.keyClick(composer.edit, Qt.Key.Key_Return)
    assert sent == []
    qtbot.keyClick(composer.edit, Qt.Key.Key_Escape)
    qtbot.mouseClick(composer.send_button, Qt.MouseButton.LeftButton)
    assert stops == [True, True]
    composer.set_busy(False)
    qtbot.mouseClick(composer.send_button, Qt.MouseButton.LeftButton)
    assert sent == ["next question"]


def test_effort_is_a_visible_segmented_control_with_the_guides_hints(qtbot: Any) -> None:
    composer = make_composer(qtbot)
    assert composer.current_effort() == "medium"
    tips = [composer.effort.button(e).toolTip() for e in ("low", "medium", "high")]
    assert "extraction" in tips[0] and "everyday" in tips[1] and "code" in tips[2]
    assert all(composer.effort.button(e).isVisible() for e in ("low", "medium", "high"))
    changes: list[str] = []
    composer.effort_changed.connect(changes.append)
    qtbot.mouseClick(composer.effort.button("high"), Qt.MouseButton.LeftButton)
    assert changes == ["high"] and composer.current_effort() == "high"
    composer.set_effort("low")  # shown for another conversation: not a user choice
    assert changes == ["high"] and composer.current_effort() == "low"
    for widget in (composer.edit, composer.effort, composer.model, composer.send_button,
                   composer.attach_button, composer.capture_button, composer.template_button):
        assert widget.accessibleName()
    for button in (composer.attach_button, composer.capture_button, composer.template_button):
        assert "(Ctrl+" in button.toolTip() and not button.icon().isNull()


def test_text_box_grows_to_ten_lines_then_scrolls(qtbot: Any) -> None:
    composer = make_composer(qtbot)
    composer.resize(600, 300)
    one = composer.edit.height()
    assert composer.edit.visible_lines() == 1
    composer.set_text("\n".join(f"line {n}" for n in range(4)))
    four = composer.edit.height()
    assert composer.edit.visible_lines() == 4 and four > one
    composer.set_text("\n".join(f"line {n}" for n in range(30)))
    assert composer.edit.visible_lines() == 10
    ten = composer.edit.height()
    assert ten > four
    composer.set_text("\n".join(f"line {n}" for n in range(60)))
    assert composer.edit.height() == ten  # stops growing: the rest scrolls
    assert composer.edit.verticalScrollBar().maximum() > 0
    composer.set_text("")
    assert composer.edit.height() == one


def test_model_chip_lists_models_and_reports_the_choice(qtbot: Any) -> None:
    composer = make_composer(qtbot)
    assert composer.current_model() == "step-3.7-flash"
    composer.set_models(["step-3.7-flash", "step-r1-v-mini"], "step-3.7-flash")
    chosen: list[str] = []
    composer.model_changed.connect(chosen.append)
    menu = composer.model.menu()
    assert menu is not None
    [other] = [a for a in menu.actions() if a.text() == "step-r1-v-mini"]
    other.trigger()
    assert chosen == ["step-r1-v-mini"] and composer.current_model() == "step-r1-v-mini"
    assert composer.model.text() == "step-r1-v-mini"


def test_send_icon_turns_into_stop(qtbot: Any) -> None:
    composer = make_composer(qtbot)
    send_icon = composer.send_button.icon().cacheKey()
    composer.set_busy(True)
    assert composer.send_button.icon().cacheKey() != send_icon
    assert composer.send_button.toolTip() == "Stop the reply (Esc)"
    composer.set_busy(False)
    assert composer.send_button.toolTip() == "Send (Enter)"


def test_mime_rules_prefer_files_then_image_data_then_urls(tmp_path: Path) -> None:
    photo = tmp_path / "photo.png"
    QImage(4, 4, QImage.Format.Format_RGB32).save(str(photo), "PNG")
    icon = QImage(16, 16, QImage.Format.Format_RGB32)
    icon.fill(QColor("gray"))

    files_and_icon = QMimeData()
    files_and_icon.setUrls([QUrl.fromLocalFile(str(photo))])
    files_and_icon.setImageData(icon)
    found = media_from_mime(files_and_icon)
    assert found.paths == [photo] and found.images == [] and found.urls == []

    browser = QMimeData()
    browser.setUrls([QUrl("https://example.org/cat.jpg")])
    browser.setImageData(icon)
    found = media_from_mime(browser)
    assert found.paths == [] and len(found.images) == 1 and found.urls == []
    assert found.images[0].startswith(b"\x89PNG")

    link_only = QMimeData()
    link_only.setUrls([QUrl("https://example.org/cat.jpg")])
    assert media_from_mime(link_only).urls == ["https://example.org/cat.jpg"]

    tiff = QMimeData()
    from app.ui.widgets.drop_overlay import image_to_png

    raw = QImage.fromData(image_to_png(icon))
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice

    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    raw.save(buf, "TIFF") or raw.save(buf, "BMP")
    buf.close()
    tiff.setData("image/tiff" if bytes(data.data()[:2]) in (b"II", b"MM") else "image/bmp", data)
    found = media_from_mime(tiff)
    assert len(found.images) == 1 and found.images[0].startswith(b"\x89PNG")

    text = QMimeData()
    text.setText("just words")
    assert not media_from_mime(text)
