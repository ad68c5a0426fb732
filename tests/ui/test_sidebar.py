"""The sidebar: date groups from an injected clock, elided titles, hover actions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from app.ui.widgets.sidebar import Sidebar

NOW = datetime(2026, 12, 3, 9, 30)


@dataclass
class Conv:
    id: int
    title: str
    updated_at: int
    pinned: bool = False


def ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def make_sidebar(qtbot: Any) -> Sidebar:
    sidebar = Sidebar(clock=lambda: NOW)
    qtbot.addWidget(sidebar)
    sidebar.resize(280, 600)
    sidebar.show()
    sidebar.set_conversations([
        Conv(1, "Pinned receipt", ms(datetime(2026, 6, 1)), pinned=True),
        Conv(2, "This morning's chart", ms(datetime(2026, 12, 3, 8))),
        Conv(3, "Yesterday's whiteboard", ms(datetime(2026, 12, 2, 22))),
        Conv(4, "A long title that is much wider than the sidebar can ever show at once",
             ms(datetime(2026, 11, 29))),
        Conv(5, "November invoice", ms(datetime(2026, 11, 10))),
        Conv(6, "Summer trip", ms(datetime(2026, 7, 14))),
        Conv(7, "Last year", ms(datetime(2025, 12, 24))),
    ], current=2)
    return sidebar


def test_conversations_are_grouped_by_date(qtbot: Any) -> None:
    sidebar = make_sidebar(qtbot)
    assert sidebar.group_titles() == ["Pinned", "Today", "Yesterday", "Previous 7 days",
                                      "Previous 30 days", "July", "December 2025"]
    assert sidebar.conversation_rows() == [
        ("Pinned", 1), ("Today", 2), ("Yesterday", 3), ("Previous 7 days", 4),
        ("Previous 30 days", 5), ("July", 6), ("December 2025", 7)]
    assert sidebar.list.currentItem().text() == "This morning's chart"


def test_group_headers_cannot_be_opened(qtbot: Any) -> None:
    sidebar = make_sidebar(qtbot)
    opened: list[int] = []
    sidebar.conversation_activated.connect(opened.append)
    header = sidebar.list.item(0)
    assert header.text() == "Pinned" and header.flags() == Qt.ItemFlag.NoItemFlags
    rect = sidebar.list.visualItemRect(header)
    qtbot.mouseClick(sidebar.list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert opened == []
    row = sidebar.list.item(1)
    qtbot.mouseClick(sidebar.list.viewport(), Qt.MouseButton.LeftButton,
                     pos=sidebar.list.visualItemRect(row).center())
    assert opened == [1]


def test_long_titles_are_elided_with_the_whole_title_as_tooltip(qtbot: Any) -> None:
    sidebar = make_sidebar(qtbot)
    long_row = next(sidebar.list.item(r) for r in range(sidebar.list.count())
                    if sidebar.list.item(r).text().startswith("A long title"))
    assert sidebar.list.textElideMode() == Qt.TextElideMode.ElideRight
    assert long_row.toolTip().startswith(long_row.text())
    assert "29 Nov" in long_row.toolTip()


def _hover(sidebar: Sidebar, point: QPoint) -> None:
    viewport = sidebar.list.viewport()
    event = QMouseEvent(QMouseEvent.Type.MouseMove, point.toPointF(),
                        viewport.mapToGlobal(point).toPointF(), Qt.MouseButton.NoButton,
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(viewport, event)


def test_hover_shows_pin_rename_delete_for_that_row(qtbot: Any) -> None:
    sidebar = make_sidebar(qtbot)
    pins: list[tuple[int, bool]] = []
    renames: list[tuple[int, str]] = []
    deletes: list[int] = []
    sidebar.pin_requested.connect(lambda c, p: pins.append((c, p)))
    sidebar.rename_requested.connect(lambda c, t: renames.append((c, t)))
    sidebar.delete_requested.connect(deletes.append)
    assert not sidebar.row_actions.isVisible()
    yesterday = next(sidebar.list.item(r) for r in range(sidebar.list.count())
                     if sidebar.list.item(r).text() == "Yesterday's whiteboard")
    _hover(sidebar, sidebar.list.visualItemRect(yesterday).center())
    actions = sidebar.row_actions
    assert actions.isVisible()
    assert sidebar.list.visualItemRect(yesterday).contains(actions.geometry().center())
    assert [b.accessibleName() for b in (actions.pin, actions.rename, actions.delete)] == [
        "Pin to top", "Rename", "Delete"]
    qtbot.mouseClick(actions.pin, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(actions.rename, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(actions.delete, Qt.MouseButton.LeftButton)
    assert pins == [(3, True)] and renames == [(3, "Yesterday's whiteboard")]
    assert deletes == [3]
    _hover(sidebar, sidebar.list.visualItemRect(sidebar.list.item(0)).center())  # a header
    assert not actions.isVisible()
    pinned = sidebar.list.item(1)
    _hover(sidebar, sidebar.list.visualItemRect(pinned).center())
    assert actions.pin.accessibleName() == "Unpin"


def test_keyboard_focus_shows_the_actions_on_the_current_row(qtbot: Any) -> None:
    sidebar = make_sidebar(qtbot)
    sidebar.activateWindow()
    sidebar.list.setFocus()
    qtbot.waitUntil(sidebar.list.hasFocus)
    qtbot.keyClick(sidebar.list, Qt.Key.Key_Down)
    current = sidebar.list.currentItem()
    assert current.text() == "Yesterday's whiteboard"
    assert sidebar.row_actions.isVisible()
    assert sidebar.list.visualItemRect(current).contains(
        sidebar.row_actions.geometry().center())


@dataclass
class Upload:
    file_id: str
    name: str
    bytes: int
    last_used_at: int
    sha256: str = "ab" * 32


def test_uploaded_files_tab_is_built_when_opened_and_deletes_the_selected(qtbot: Any) -> None:
    from PySide6.QtWidgets import QTreeWidget

    sidebar = make_sidebar(qtbot)
    assert sidebar.findChildren(QTreeWidget) == []  # not before the tab is opened
    with qtbot.waitSignal(sidebar.files_requested):
        sidebar.tabs.setCurrentIndex(1)
    page = sidebar.uploads_page()
    sidebar.set_uploads([Upload("file-1", "receipt.jpg", 2_500_000, ms(NOW)),
                         Upload("file-2", "", 900, ms(datetime(2025, 3, 4)))])
    tree = page.tree
    assert [tree.topLevelItem(i).text(0) for i in range(tree.topLevelItemCount())] == [
        "receipt.jpg", "file-2"]  # no name: the server's id
    assert tree.topLevelItem(0).text(1) == "2.5 MB" and tree.topLevelItem(1).text(1) == "900 B"
    assert page.note.text() == "2 file(s) uploaded from Step Desk to this account."
    qtbot.waitUntil(page.isVisible)  # added to a shown tab: Qt shows it on the next turn
    assert page.delete_button.accessibleName() == "Delete selected uploaded files"
    tree.topLevelItem(1).setSelected(True)
    with qtbot.waitSignal(sidebar.delete_files_requested) as deleted:
        qtbot.mouseClick(page.delete_button, Qt.MouseButton.LeftButton)
    assert deleted.args == [["file-2"]]


def test_search_offers_its_clear_button_over_text(qtbot: Any) -> None:
    from PySide6.QtWidgets import QToolButton

    sidebar = make_sidebar(qtbot)
    sidebar.search.setFocus()
    qtbot.keyClicks(sidebar.search, "chart")
    assert sidebar.search.isClearButtonEnabled()
    [clear] = [b for b in sidebar.search.findChildren(QToolButton) if b.isVisible()]
    qtbot.mouseClick(clear, Qt.MouseButton.LeftButton)
    assert sidebar.search.text() == ""
