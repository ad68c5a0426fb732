"""The left pane: search box, conversations grouped by date, search hits, uploaded files.

Conversations are grouped Pinned, Today, Yesterday, Previous 7 days, Previous 30 days, then by
month (`date_groups`, with the clock injected); titles are elided with the whole title as the
tooltip; pin, rename and delete appear as icons over the row under the mouse (one floating
row of buttons, not a widget per conversation) and over the current row for the keyboard.

A view only: it shows what the window's controllers give it and emits what the user asked
for. Search snippets arrive with matches wrapped in `HIT_OPEN` / `HIT_CLOSE` markers (the
store's snippet markers); they are HTML-escaped here and the markers turned into bold
highlights, so message text can never inject markup into the list.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, QPoint, Qt, QTimer, Signal, SignalInstance
from PySide6.QtGui import QAction, QKeySequence, QMouseEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QStackedWidget,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.safetext import one_line
from app.ui.style.icons import icon
from app.ui.widgets.date_groups import group_by_date

if TYPE_CHECKING:
    from app.store import Conversation, SearchHit, UploadRecord
    from app.ui.widgets.uploads_page import UploadsPage

HIT_OPEN = "\x02"
HIT_CLOSE = "\x03"
ID_ROLE = Qt.ItemDataRole.UserRole
MSG_ROLE = Qt.ItemDataRole.UserRole + 1
PIN_ROLE = Qt.ItemDataRole.UserRole + 2
GROUP_ROLE = Qt.ItemDataRole.UserRole + 3


def format_time(ms: int, now: datetime | None = None) -> str:
    """Today: 14:05; this year: 3 Nov; older: 3 Nov 2024."""
    when = datetime.fromtimestamp(ms / 1000)
    now = now or datetime.now()
    if when.date() == now.date():
        return when.strftime("%H:%M")
    if when.year == now.year:
        return f"{when.day} {when.strftime('%b')}"
    return f"{when.day} {when.strftime('%b %Y')}"


def format_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{size} B"


def highlight_snippet(snippet: str) -> str:
    """Escape a store snippet and turn its match markers into highlighted HTML."""
    from html import escape  # here: html.entities is not needed before the first paint

    escaped = escape(snippet)
    return escaped.replace(HIT_OPEN, "<b><u>").replace(HIT_CLOSE, "</u></b>")


class RowActions(QFrame):
    """Pin, rename and delete as icons, laid over the right end of one conversation row.

    Signals:
        pin_clicked(), rename_clicked(), delete_clicked(): for the row it is shown on.
    """

    pin_clicked = Signal()
    rename_clicked = Signal()
    delete_clicked = Signal()

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setProperty("role", "card")
        row = QHBoxLayout(self)
        row.setContentsMargins(2, 0, 2, 0)
        row.setSpacing(0)
        self.pin = self._button("pin", "Pin to top", self.pin_clicked)
        self.rename = self._button("pencil", "Rename (F2)", self.rename_clicked)
        self.delete = self._button("trash-2", "Delete (Del)", self.delete_clicked)
        for button in (self.pin, self.rename, self.delete):
            row.addWidget(button)
        self.hide()

    def _button(self, name: str, tip: str, signal: SignalInstance) -> QToolButton:
        button = QToolButton(self)
        button.setIcon(icon(name))
        button.setToolTip(tip)
        button.setAccessibleName(tip.split(" (")[0])
        button.setProperty("role", "icon")
        button.setAutoRaise(True)
        button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the list keeps focus; keys: F2, Del
        button.clicked.connect(signal)
        return button

    def set_pinned(self, pinned: bool) -> None:
        self.pin.setIcon(icon("pin-off" if pinned else "pin"))
        tip = "Unpin" if pinned else "Pin to top"
        self.pin.setToolTip(tip)
        self.pin.setAccessibleName(tip)


class Sidebar(QWidget):
    """Conversation navigation.

    Signals:
        conversation_activated(int): open this conversation.
        new_requested(): start a new conversation.
        rename_requested(int, str): rename conversation id (current title given for the dialog).
        delete_requested(int): delete conversation id (the window confirms first).
        pin_requested(int, bool): pin / unpin.
        search_requested(str): the (debounced) search text; "" leaves search mode.
        hit_activated(int, int): a search hit: conversation id, message id.
        files_requested(): the Uploaded files tab was opened (refresh it).
        delete_files_requested(list): file ids to delete from the server.
    """

    conversation_activated = Signal(int)
    new_requested = Signal()
    rename_requested = Signal(int, str)
    delete_requested = Signal(int)
    pin_requested = Signal(int, bool)
    search_requested = Signal(str)
    hit_activated = Signal(int, int)
    files_requested = Signal()
    delete_files_requested = Signal(list)

    def __init__(self, parent: QWidget | None = None,
                 clock: Callable[[], datetime] = datetime.now) -> None:
        super().__init__(parent)
        self._clock = clock
        self.setProperty("role", "sidebar")
        self.setAccessibleName("Sidebar")
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search all messages (Ctrl+K)")
        self.search.setAccessibleName("Search messages")
        self.new_button = QToolButton()
        self.new_button.setIcon(icon("square-pen"))
        self.new_button.setProperty("role", "icon")
        self.new_button.setAutoRaise(True)
        self.new_button.setAccessibleName("New conversation")
        self.new_button.setToolTip("New chat (Ctrl+N)")
        self.new_button.clicked.connect(self.new_requested)
        self._debounce = QTimer(self, singleShot=True, interval=200)
        self._debounce.timeout.connect(lambda: self.search_requested.emit(self.search.text()))
        self.search.textChanged.connect(lambda _t: self._debounce.start())
        self.search.textChanged.connect(self._offer_clear)
        self.search.returnPressed.connect(self._activate_first_hit)

        self.list = QListWidget()
        self.list.setAccessibleName("Conversations")
        self.list.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._context_menu)
        self.list.itemActivated.connect(self._on_item)
        self.list.itemClicked.connect(self._on_item)
        self.list.setMouseTracking(True)
        self.list.viewport().installEventFilter(self)
        self.list.currentItemChanged.connect(self._current_changed)
        self.row_actions = RowActions(self.list.viewport())
        self.row_actions.pin_clicked.connect(self._pin_action_row)
        self.row_actions.rename_clicked.connect(self._rename_action_row)
        self.row_actions.delete_clicked.connect(self._delete_action_row)
        self._action_item: QListWidgetItem | None = None
        self.hits = QListWidget()
        self.hits.setAccessibleName("Search results")
        self.hits.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.hits.itemActivated.connect(self._on_hit)
        self.hits.itemClicked.connect(self._on_hit)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.list)
        self.stack.addWidget(self.hits)

        # The Uploaded files page is built when its tab is first opened (`uploads_page`).
        self.uploads: UploadsPage | None = None
        self._uploads_tab = QWidget()
        QVBoxLayout(self._uploads_tab).setContentsMargins(0, 0, 0, 0)

        self.tabs = QTabWidget()
        self.tabs.addTab(self.stack, "Chats")
        self.tabs.addTab(self._uploads_tab, "Uploaded files")
        self.tabs.currentChanged.connect(self._tab_changed)

        top = QHBoxLayout()
        top.addWidget(self.search, 1)
        top.addWidget(self.new_button)
        col = QVBoxLayout(self)
        col.setContentsMargins(6, 6, 0, 6)
        col.addLayout(top)
        col.addWidget(self.tabs, 1)

        rename = QAction("Rename…", self.list, shortcut=QKeySequence(Qt.Key.Key_F2))
        rename.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        rename.triggered.connect(self._rename_current)
        delete = QAction("Delete…", self.list,
                         shortcut=QKeySequence(QKeySequence.StandardKey.Delete))
        delete.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        delete.triggered.connect(self._delete_current)
        self.list.addActions([rename, delete])

    # --- content -----------------------------------------------------------------------
    def set_conversations(self, conversations: Sequence[Conversation],
                          current: int | None) -> None:
        """Fill the list (ordered pinned-first, newest first by the store) under date groups."""
        self.list.blockSignals(True)
        self._hide_row_actions()
        self.list.clear()
        now = self._clock()
        groups = group_by_date(conversations, updated_ms=lambda c: int(c.updated_at),
                               pinned=lambda c: bool(c.pinned), now=now)
        for group in groups:
            header = QListWidgetItem(group.title)
            header.setFlags(Qt.ItemFlag.NoItemFlags)
            header.setData(GROUP_ROLE, group.title)
            font = header.font()
            font.setBold(True)
            header.setFont(font)
            header.setForeground(self.palette().placeholderText())
            self.list.addItem(header)
            for conv in group.items:
                title = one_line(conv.title)  # a title cannot add lines or control sequences
                item = QListWidgetItem(title or "Untitled")
                item.setData(ID_ROLE, conv.id)
                item.setData(PIN_ROLE, conv.pinned)
                item.setToolTip(f"{title}\n{format_time(conv.updated_at, now)}")
                item.setData(Qt.ItemDataRole.AccessibleTextRole,
                             f"{title}, {group.title.lower()}")
                self.list.addItem(item)
                if conv.id == current:
                    self.list.setCurrentItem(item)
        self.list.blockSignals(False)

    def group_titles(self) -> list[str]:
        """The date groups shown, in order (for tests and the accessibility tree)."""
        return [self.list.item(row).text() for row in range(self.list.count())
                if self.list.item(row).data(GROUP_ROLE)]

    def conversation_rows(self) -> list[tuple[str, int]]:
        """(group title, conversation id) for every conversation row, top to bottom."""
        rows, group = [], ""
        for row in range(self.list.count()):
            item = self.list.item(row)
            if item.data(GROUP_ROLE):
                group = item.text()
            else:
                rows.append((group, int(item.data(ID_ROLE))))
        return rows

    # --- hover actions -------------------------------------------------------------------
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.list.viewport():
            if event.type() == QEvent.Type.MouseMove and isinstance(event, QMouseEvent):
                self._show_row_actions(self.list.itemAt(event.position().toPoint()))
            elif event.type() == QEvent.Type.Leave:
                self._show_row_actions(self.list.currentItem() if self.list.hasFocus()
                                       else None)
        return super().eventFilter(watched, event)

    def _current_changed(self, item: QListWidgetItem | None, _old: object) -> None:
        if self.list.hasFocus():
            self._show_row_actions(item)

    def _show_row_actions(self, item: QListWidgetItem | None) -> None:
        if item is None or item.data(ID_ROLE) is None:
            self._hide_row_actions()
            return
        self._action_item = item
        rect = self.list.visualItemRect(item)
        self.row_actions.set_pinned(bool(item.data(PIN_ROLE)))
        self.row_actions.adjustSize()
        size = self.row_actions.sizeHint()
        self.row_actions.setGeometry(rect.right() - size.width() - 2,
                                     rect.top() + (rect.height() - size.height()) // 2,
                                     size.width(), size.height())
        self.row_actions.show()
        self.row_actions.raise_()

    def _hide_row_actions(self) -> None:
        self._action_item = None
        self.row_actions.hide()

    def _action_id(self) -> int | None:
        item = self._action_item
        return None if item is None else int(item.data(ID_ROLE))

    def _pin_action_row(self) -> None:
        item = self._action_item
        if item is not None:
            self.pin_requested.emit(int(item.data(ID_ROLE)), not bool(item.data(PIN_ROLE)))

    def _rename_action_row(self) -> None:
        item = self._action_item
        if item is not None:
            self.rename_requested.emit(int(item.data(ID_ROLE)), item.text())

    def _delete_action_row(self) -> None:
        conv = self._action_id()
        if conv is not None:
            self.delete_requested.emit(conv)

    def select(self, conversation_id: int | None) -> None:
        for row in range(self.list.count()):
            item = self.list.item(row)
            if item.data(ID_ROLE) == conversation_id:
                self.list.setCurrentItem(item)
                return
        self.list.clearSelection()
        self.list.setCurrentRow(-1)

    def set_search_results(self, query: str, hits: Sequence[SearchHit]) -> None:
        """Show hits (or leave search mode when the query is empty)."""
        from html import escape

        self.hits.clear()
        if not query.strip():
            self.stack.setCurrentWidget(self.list)
            return
        self.stack.setCurrentWidget(self.hits)
        if not hits:
            item = QListWidgetItem(f"No messages match “{query}”.")
            item.setFlags(Qt.ItemFlag.NoItemFlags)
            self.hits.addItem(item)
            return
        for hit in hits:
            item = QListWidgetItem()
            item.setData(ID_ROLE, hit.conversation_id)
            item.setData(MSG_ROLE, hit.message_id)
            plain = hit.snippet.replace(HIT_OPEN, "").replace(HIT_CLOSE, "")
            item.setData(Qt.ItemDataRole.AccessibleTextRole, f"{hit.title}: {plain}")
            label = QLabel(
                f"<b>{escape(hit.title)}</b> · {format_time(hit.created_at)}<br>"
                f"{highlight_snippet(hit.snippet)}")
            label.setWordWrap(True)
            label.setTextFormat(Qt.TextFormat.RichText)
            label.setContentsMargins(4, 3, 4, 3)
            label.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
            item.setSizeHint(label.sizeHint().grownBy(label.contentsMargins()))
            self.hits.addItem(item)
            self.hits.setItemWidget(item, label)

    def set_uploads(self, uploads: Sequence[UploadRecord], note: str | None = None) -> None:
        rows = [(up.file_id, [up.name or up.file_id, format_size(up.bytes),
                              format_time(up.last_used_at)], f"{up.file_id}\nsha256 {up.sha256}")
                for up in uploads]
        self.uploads_page().set_rows(rows, note or (
            f"{len(uploads)} file(s) uploaded from Step Desk to this account."
            if uploads else "No uploaded files for this account."))

    def uploads_page(self) -> UploadsPage:
        """The Uploaded files page, built on first use."""
        if self.uploads is None:
            from app.ui.widgets.uploads_page import UploadsPage

            self.uploads = UploadsPage()
            self.uploads.delete_requested.connect(self.delete_files_requested)
            layout = self._uploads_tab.layout()
            assert layout is not None
            layout.addWidget(self.uploads)
        return self.uploads

    # --- slots -------------------------------------------------------------------------
    def _tab_changed(self, index: int) -> None:
        if index == 1:
            self.uploads_page()
            self.files_requested.emit()

    def _offer_clear(self, text: str) -> None:
        """The clear button, enabled with the first character (Qt shows it only over text
        anyway): made at start-up it loads the style's icon, ~3 ms before the first paint."""
        if text and not self.search.isClearButtonEnabled():
            self.search.setClearButtonEnabled(True)

    def focus_search(self) -> None:
        self.tabs.setCurrentIndex(0)
        self.search.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search.selectAll()

    def _on_item(self, item: QListWidgetItem) -> None:
        if item.data(ID_ROLE) is not None:
            self.conversation_activated.emit(int(item.data(ID_ROLE)))

    def _on_hit(self, item: QListWidgetItem) -> None:
        if item.data(ID_ROLE) is not None:
            self.hit_activated.emit(int(item.data(ID_ROLE)), int(item.data(MSG_ROLE)))

    def _activate_first_hit(self) -> None:
        self._debounce.stop()
        self.search_requested.emit(self.search.text())

    def _current_id(self) -> int | None:
        item = self.list.currentItem()
        return None if item is None or item.data(ID_ROLE) is None else int(item.data(ID_ROLE))

    def _rename_current(self) -> None:
        item = self.list.currentItem()
        if item is not None and item.data(ID_ROLE) is not None:
            self.rename_requested.emit(int(item.data(ID_ROLE)), item.text())

    def _delete_current(self) -> None:
        conv = self._current_id()
        if conv is not None:
            self.delete_requested.emit(conv)

    def _context_menu(self, pos: QPoint) -> None:
        item = self.list.itemAt(pos)
        if item is None or item.data(ID_ROLE) is None:
            return
        conv = int(item.data(ID_ROLE))
        pinned = bool(item.data(PIN_ROLE))
        menu = QMenu(self)
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        menu.addAction("Rename…", lambda: self.rename_requested.emit(conv, item.text()))
        menu.addAction("Unpin" if pinned else "Pin to top",
                       lambda: self.pin_requested.emit(conv, not pinned))
        menu.addSeparator()
        menu.addAction("Delete…", lambda: self.delete_requested.emit(conv))
        menu.popup(self.list.viewport().mapToGlobal(pos))  # popup(), never exec()
