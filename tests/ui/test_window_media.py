"""Attaching media to the window: drops, pastes, refusals, uploads, single instance, capture."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QColor, QDragEnterEvent, QDropEvent, QGuiApplication, QImage
from PySide6.QtWidgets import QApplication

from tests.ui.harness import close_window, next_signal, open_window, run, until

ROOT = Path(__file__).resolve().parents[2]


def make_png(path: Path, color: str = "#3366cc", size: tuple[int, int] = (64, 48)) -> Path:
    image = QImage(size[0], size[1], QImage.Format.Format_RGB32)
    image.fill(QColor(color))
    assert image.save(str(path), "PNG")
    return path


def drop(window: Any, mime: QMimeData) -> None:
    """Drag-enter then drop on the window, as a drag from another app does."""
    where, action = QPointF(200, 200), Qt.DropAction.CopyAction
    buttons, keys = Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier
    try:
        enter = QDragEnterEvent(where, action, mime, buttons, keys)
    except TypeError:  # PySide6 < 6.12 only has the QPoint signature
        enter = QDragEnterEvent(where.toPoint(), action, mime, buttons, keys)
    QApplication.sendEvent(window, enter)
    assert enter.isAccepted()
    assert window.overlay.isVisible()
    QApplication.sendEvent(window, QDropEvent(where, action, mime, buttons, keys))
    assert not window.overlay.isVisible()


def tray_states(window: Any) -> list[str]:
    return [item.state for item in window.composer.tray.items()]


def test_dropping_two_files_attaches_both_and_send_uploads_each(
        qloop: Any, gui_env: dict[str, str], standin: Any, tmp_path: Path) -> None:
    first = make_png(tmp_path / "red.png", "#cc2222")
    second = make_png(tmp_path / "blue.png", "#2222cc", (80, 60))

    async def scenario() -> None:
        window = await open_window(gui_env)
        mime = QMimeData()
        mime.setUrls([QUrl.fromLocalFile(str(first)), QUrl.fromLocalFile(str(second))])
        mime.setImageData(QImage(8, 8, QImage.Format.Format_RGB32))  # a file icon: ignored
        drop(window, mime)
        await until(lambda: tray_states(window) == ["ready", "ready"], what="two ready items")
        assert [i.name for i in window.composer.tray.items()] == ["red.png", "blue.png"]
        window.composer.set_effort("low")
        window.composer.set_text("Compare these")
        ended = await next_signal(window.controllers.turns.turn_ended,
                                  window.composer.edit.submit.emit)
        assert ended[2] == "complete", ended
        body = standin.chat_requests()[-1].json
        assert body["reasoning_effort"] == "low"
        parts = body["messages"][-1]["content"]
        urls = [p["image_url"]["url"] for p in parts if p["type"] == "image_url"]
        assert len(urls) == 2 and all(u.startswith("stepfile://") for u in urls)
        assert len(set(urls)) == 2
        assert len(standin.upload_requests()) == 2
        await until(lambda: not window.composer.tray.items(), what="the tray to empty")
        user = next(m for m in window.controllers.conversations.shown_messages.values()
                    if m.role == "user")
        assert [a.original_name for a in user.attachments] == ["red.png", "blue.png"]
        buttons = window.view.message_widget(user.id).attachment_buttons  # a new conversation
        assert len(buttons) == 2 and not any(b.icon().isNull() for b in buttons)
        await close_window(window)

    run(qloop, scenario())


def test_dropping_unsupported_file_shows_reason(qloop: Any, gui_env: dict[str, str],
                                               tmp_path: Path) -> None:
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer\n%%EOF\n")

    async def scenario() -> None:
        window = await open_window(gui_env)
        mime = QMimeData()
        mime.setUrls([QUrl.fromLocalFile(str(pdf))])
        drop(window, mime)
        await until(lambda: tray_states(window) == ["failed"], what="a refusal")
        item = window.composer.tray.items()[0]
        assert "report.pdf" in item.reason
        assert item.reason in window.composer.tray.refusals.text()  # written out whole
        assert "d32f2f" in item.caption.styleSheet()
        assert item.isVisible()
        assert window.attachments.ready() == []
        await close_window(window)

    run(qloop, scenario())


def test_the_same_file_dropped_twice_is_one_attachment(qloop: Any, gui_env: dict[str, str],
                                                       tmp_path: Path) -> None:
    original = make_png(tmp_path / "chart.png", "#22aa44")
    copy = tmp_path / "chart copy.png"
    copy.write_bytes(original.read_bytes())

    async def scenario() -> None:
        window = await open_window(gui_env)
        mime = QMimeData()
        mime.setUrls([QUrl.fromLocalFile(str(original)), QUrl.fromLocalFile(str(copy))])
        drop(window, mime)
        await until(lambda: sorted(tray_states(window)) == ["failed", "ready"],
                    what="one ready item and one marked as a duplicate")
        twin = next(i for i in window.composer.tray.items() if i.state == "failed")
        assert "Already attached" in twin.reason
        other = ({"chart.png", "chart copy.png"} - {twin.name}).pop()  # whichever came first
        assert other in twin.reason and other in window.composer.tray.refusals.text()
        assert len(window.attachments.ready()) == 1
        await close_window(window)

    run(qloop, scenario())


def test_pasting_image_data_attaches_png(qloop: Any, gui_env: dict[str, str]) -> None:
    async def scenario() -> None:
        window = await open_window(gui_env)
        image = QImage(120, 90, QImage.Format.Format_ARGB32)
        image.fill(QColor("#22aa55"))
        mime = QMimeData()
        mime.setImageData(image)  # what a screenshot tool or browser "copy image" offers
        QGuiApplication.clipboard().setMimeData(mime)
        window.composer.edit.setFocus()
        window.composer.edit.paste()
        QGuiApplication.clipboard().clear()  # the clipboard owns `mime`; leave it empty
        await until(lambda: tray_states(window) == ["ready"], what="the pasted image")
        prepared = window.attachments.ready()[0]
        assert prepared.mime == "image/png"
        assert (prepared.width, prepared.height) == (120, 90)
        assert prepared.original_name == "Pasted image 1.png"
        assert window.composer.text() == ""
        await close_window(window)

    run(qloop, scenario())


@pytest.mark.qt_log_ignore("does not support raise")  # offscreen cannot raise windows
def test_second_invocation_reaches_running_window(qloop: Any, gui_env: dict[str, str],
                                                  tmp_path: Path) -> None:
    """A real second `python -m app FILE` process hands its file over and exits 0."""
    from app.ui.platform.single_instance import SingleInstanceServer, send_to_running, server_name

    photo = make_png(tmp_path / "from-cli.png")

    async def scenario() -> None:
        window = await open_window(gui_env)
        name = server_name(Path(gui_env["STEPDESK_DATA_DIR"]))
        server = SingleInstanceServer(name, window)
        assert server.listen()
        server.files_received.connect(window.receive_files)
        env = {**os.environ, **gui_env, "QT_QPA_PLATFORM": "offscreen"}
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "app", str(photo), env=env, cwd=str(ROOT),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        _out, err = await asyncio.wait_for(child.communicate(), 30)
        assert child.returncode == 0, err.decode()
        await until(lambda: tray_states(window) == ["ready"], what="the handed-over file")
        assert window.composer.tray.items()[0].name == "from-cli.png"
        server.close()
        assert send_to_running(name, [photo]) is False  # nobody listens any more
        await close_window(window)

    run(qloop, scenario())


def test_delete_conversation_offers_to_delete_its_uploaded_files(
        qloop: Any, gui_env: dict[str, str], standin: Any, tmp_path: Path) -> None:
    from PySide6.QtWidgets import QMessageBox

    photo = make_png(tmp_path / "only-here.png")

    async def scenario() -> None:
        window = await open_window(gui_env, [photo])
        await until(lambda: tray_states(window) == ["ready"], what="the file from argv")
        window.composer.set_text("Look")
        await next_signal(window.controllers.turns.turn_ended,
                                  window.composer.edit.submit.emit)
        conv = window.controllers.conversations.current
        file_ids = await window.controllers.conversations.library.files_only_in(conv)
        assert len(file_ids) == 1
        window.sidebar.delete_requested.emit(conv)
        await until(lambda: window.findChildren(QMessageBox), what="the confirmation")
        box = window.findChildren(QMessageBox)[0]
        assert box.checkBox() is not None and box.checkBox().isChecked()
        assert "1 uploaded file" in box.checkBox().text()
        delete = next(b for b in box.buttons() if b.text() == "Delete")
        conversations = window.controllers.conversations
        noted = await next_signal(conversations.note, delete.click)
        assert noted == ("Conversation deleted.",)
        assert window.sidebar.list.count() == 0
        assert conversations.current is None
        deletes = [r for r in standin.requests if r.method == "DELETE"]
        assert [r.path.rsplit("/", 1)[-1] for r in deletes] == file_ids
        assert await window.controllers.conversations.library.uploads() == []
        await close_window(window)

    run(qloop, scenario())


def test_a_large_upload_shows_percent_and_bytes_in_the_tray_and_status_bar(
        qloop: Any, gui_env: dict[str, str], standin: Any, tmp_path: Path) -> None:
    """UploadProgress reaches the window: each step is shown on the item and in the status
    bar, while the file uploads (a noise PNG of a few MB: 256 KB chunks, many steps)."""
    from PIL import Image

    noisy = tmp_path / "noise.png"
    Image.frombytes("RGB", (1200, 1000), os.urandom(1200 * 1000 * 3)).save(noisy)

    async def scenario() -> None:
        window = await open_window(gui_env)
        attachments = window.controllers.attachments
        attachments.add_paths([noisy])
        await until(lambda: tray_states(window) == ["ready"], what="the ready item")
        seen: list[tuple[int, int, str, str]] = []

        def snapshot(_key: int, sent: int, total: int) -> None:
            [item] = window.composer.tray.items()
            seen.append((sent, total, item.caption.text(), window.statusBar().currentMessage()))

        attachments.item_progress.connect(snapshot)
        window.composer.set_text("What is this noise?")
        ended = await next_signal(window.controllers.turns.turn_ended,
                                  window.composer.edit.submit.emit)
        assert ended[2] == "complete", ended
        assert len(standin.upload_requests()) == 1
        assert len(seen) >= 4, seen
        total = seen[-1][1]
        assert total > 3_000_000 and seen[-1][0] == total
        middle = [s for s in seen if 0 < s[0] < total]
        assert middle, seen
        sent, _, caption, status = middle[0]
        percent = 100 * sent // total
        assert caption.startswith(f"Uploading {percent}% (") and " of 3." in caption, caption
        assert status.startswith(f"Uploading noise.png: {percent}% ("), status
        assert seen[-1][2].startswith("Uploaded 3.")
        await until(lambda: not window.composer.tray.items(), what="the tray to empty")
        assert not window.statusBar().currentMessage().startswith("Uploading")
        await close_window(window)

    run(qloop, scenario())
