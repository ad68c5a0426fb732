"""The template picker: a popup list of task templates with type-to-filter.

Opened from the composer's Template button or Ctrl+T. Typing filters (every word must occur in
the name, slug, media or output), Up/Down move, Enter or a click picks, Esc closes. It only
emits what was picked; the window decides whether that sends at once or fills the composer.
The right-click menu manages templates: a built-in can be duplicated (into an editable copy)
and pinned or unpinned; the user's own can also be edited, moved and deleted.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QEvent, QObject, QPoint, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QFrame,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.safetext import one_line, visible
from app.templates.model import Template
from app.ui.style.glyphs import labelled, shown_icon

_NAV_KEYS = (Qt.Key.Key_Up, Qt.Key.Key_Down, Qt.Key.Key_PageUp, Qt.Key.Key_PageDown)


def describe(template: Template) -> str:
    """One line under the name: what it needs, how hard it thinks, what it gives back."""
    return (f"{template.media_noun()} · effort {template.effort.title()} · "
            f"{template.output.describe()}")


class TemplatePicker(QFrame):
    """Popup list of templates.

    Signals:
        picked(object): the chosen `Template`.
        manage_requested(str, str): (action, slug) from the right-click menu or the New
            button: "new" (slug ""), "edit", "duplicate", "pin", "unpin", "up", "down",
            "delete".
    """

    picked = Signal(object)
    manage_requested = Signal(str, str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Popup)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAccessibleName("Templates")
        self._templates: dict[str, Template] = {}
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Type to filter templates…")
        self.filter.setAccessibleName("Filter templates")
        self.filter.textChanged.connect(self._apply_filter)
        self.filter.installEventFilter(self)
        self.list = QListWidget()
        self.list.setAccessibleName("Template list")
        self.list.setUniformItemSizes(True)
        self.list.itemActivated.connect(self._activate)
        self.list.itemClicked.connect(self._activate)
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._context_menu)
        self.menu: QMenu | None = None
        self.new_button = QPushButton("New template…")
        self.new_button.clicked.connect(lambda: self._manage("new", ""))
        self.empty = QLabel("No template matches.")
        self.empty.hide()
        col = QVBoxLayout(self)
        col.setContentsMargins(6, 6, 6, 6)
        col.addWidget(self.filter)
        col.addWidget(self.list)
        col.addWidget(self.empty)
        col.addWidget(self.new_button)
        self.resize(420, 360)

    def set_templates(self, templates: Sequence[Template]) -> None:
        self._templates = {t.slug: t for t in templates}
        self.list.clear()
        for template in templates:
            pin = f"  {shown_icon('📌') or '(pinned)'}" if template.pinned else ""
            title = labelled(one_line(template.icon), one_line(template.name))
            item = QListWidgetItem(f"{title}{pin}\n{describe(template)}")
            item.setData(Qt.ItemDataRole.UserRole, template.slug)
            item.setToolTip(visible(template.prompt[:600]))
            self.list.addItem(item)
        self._apply_filter(self.filter.text())

    def popup_at(self, anchor: QWidget) -> None:
        """Show just above `anchor` (the composer's button), filter cleared and focused."""
        self.filter.clear()
        self._apply_filter("")
        top_left = anchor.mapToGlobal(QPoint(0, 0))
        self.move(top_left.x(), max(0, top_left.y() - self.height()))
        self.show()
        self.filter.setFocus(Qt.FocusReason.PopupFocusReason)

    def actions_for(self, template: Template) -> list[tuple[str, str]]:
        """(action, label) of the right-click menu for `template`."""
        pin = ("unpin", "Unpin from drop targets") if template.pinned else (
            "pin", "Pin as a drop target")
        if template.builtin:
            return [("duplicate", "Duplicate (editable copy)"), pin]
        return [("edit", "Edit…"), ("duplicate", "Duplicate"), pin, ("up", "Move up"),
                ("down", "Move down"), ("delete", "Delete")]

    def visible_slugs(self) -> list[str]:
        return [self.list.item(i).data(Qt.ItemDataRole.UserRole)
                for i in range(self.list.count()) if not self.list.item(i).isHidden()]

    # -- internals -----------------------------------------------------------------------

    def _apply_filter(self, text: str) -> None:
        words = text.lower().split()
        first: QListWidgetItem | None = None
        for index in range(self.list.count()):
            item = self.list.item(index)
            template = self._templates[item.data(Qt.ItemDataRole.UserRole)]
            haystack = " ".join((template.name, template.slug, template.media_noun(),
                                 template.output.describe())).lower()
            hidden = not all(word in haystack for word in words)
            item.setHidden(hidden)
            if not hidden and first is None:
                first = item
        if first is None:
            self.list.setCurrentRow(-1)
        else:
            self.list.setCurrentItem(first)
        self.empty.setVisible(first is None)

    def _context_menu(self, pos: QPoint) -> None:
        item = self.list.itemAt(pos)
        template = self._templates.get(item.data(Qt.ItemDataRole.UserRole)) if item else None
        if template is None:
            return
        self.menu = QMenu(self)
        for action, label in self.actions_for(template):
            self.menu.addAction(label).triggered.connect(
                lambda _checked=False, a=action: self._manage(a, template.slug))
        self.menu.popup(self.list.viewport().mapToGlobal(pos))  # never exec(): qasync

    def _manage(self, action: str, slug: str) -> None:
        self.hide()
        self.manage_requested.emit(action, slug)

    def _activate(self, item: QListWidgetItem) -> None:
        template = self._templates.get(item.data(Qt.ItemDataRole.UserRole))
        if template is not None and not item.isHidden():
            self.hide()
            self.picked.emit(template)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Keys typed in the filter box: arrows move in the list, Enter picks."""
        if watched is self.filter and event.type() == QEvent.Type.KeyPress:
            assert isinstance(event, QKeyEvent)
            if event.key() in _NAV_KEYS:
                self._move(-1 if event.key() in (Qt.Key.Key_Up, Qt.Key.Key_PageUp) else 1)
                return True
            if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                current = self.list.currentItem()
                if current is not None:
                    self._activate(current)
                return True
        return super().eventFilter(watched, event)

    def _move(self, step: int) -> None:
        visible = [i for i in range(self.list.count()) if not self.list.item(i).isHidden()]
        if not visible:
            return
        current = self.list.currentRow()
        position = visible.index(current) + step if current in visible else 0
        self.list.setCurrentRow(visible[max(0, min(len(visible) - 1, position))])
