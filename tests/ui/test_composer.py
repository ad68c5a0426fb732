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


def test_effort_selector_defaults_to_medium_with_tooltips(qtbot: Any) -> None:
    composer = make_composer(qtbot)
    assert composer.current_effort() == "medium"
    tips = [composer.effort.itemData(i, Qt.ItemDataRole.ToolTipRole)
            for i in range(composer.effort.count())]
    assert "simple Q&A" in tips[0] and "Default" in tips[1] and "code" in tips[2]
    changes: list[str] = []
    composer.effort_changed.connect(changes.append)
    composer.effort.setCurrentIndex(2)
    composer.effort.activated.emit(2)
    assert changes == ["high"] and composer.current_effort() == "high"
    for widget in (composer.edit, composer.effort, composer.model, composer.send_button,
                   composer.attach_button, composer.capture_button):
        assert widget.accessibleName()


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
