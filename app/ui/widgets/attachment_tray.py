"""The row of attachments above the composer: thumbnail, what the pipeline changed, ×.

Every item that enters the tray stays visible until the user removes it or it is sent:
a refused file is marked (red frame, alert icon) and its whole reason is written out under
the strip, one wrapped line per refusal, however many attachments there are — never a silent
drop, never a reason cut off by the card's width or hidden under a scroll bar. Refused files
are left out of the send, and the tray says so. The tray is a view with
setters by item key; `controllers/attachments.py` decides what goes in it.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QSize, Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QScrollArea,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.ui.style.icons import icon

THUMB = 64
ERROR_COLOR = "#d32f2f"


def format_bytes(count: int) -> str:
    """1,536 → "1.5 KB": the size a person reads in an upload caption."""
    size = float(count)
    for unit in ("B", "KB", "MB"):
        if size < 1024 or unit == "MB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} MB"


class TrayItem(QFrame):
    """One attachment. States: preparing → ready (→ uploading) | failed.

    Signals:
        remove_clicked(int): the × of this item was pressed (the item's key).
        edit_clicked(int): the thumbnail or the pencil of a ready image was pressed.
    """

    remove_clicked = Signal(int)
    edit_clicked = Signal(int)

    def __init__(self, key: int, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.key = key
        self.name = name
        self.state = "preparing"
        self.reason = ""
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setFixedSize(180, THUMB + 8)  # a card never outgrows the strip; long text is in
        # the tooltip (and, for a refusal, written out under the strip)
        self.thumb = QLabel()
        self.thumb.setFixedSize(THUMB, THUMB)
        self.thumb.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.thumb.setText("…")
        self.title = QLabel()
        self.title.setToolTip(name)
        self.title.setText(self.title.fontMetrics().elidedText(
            name, Qt.TextElideMode.ElideMiddle, 96))
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        self.caption = QLabel("Preparing…")
        self.caption.setWordWrap(True)
        self.caption.setTextFormat(Qt.TextFormat.PlainText)
        small = self.caption.font()
        small.setPointSizeF(small.pointSizeF() * 0.85)
        self.caption.setFont(small)
        self.progress = QProgressBar()
        self.progress.setMaximumHeight(6)
        self.progress.setTextVisible(False)
        self.progress.hide()
        close = QToolButton()
        close.setText("×")
        close.setAutoRaise(True)
        close.setAccessibleName(f"Remove {name}")
        close.setToolTip(f"Remove {name}")
        close.clicked.connect(lambda: self.remove_clicked.emit(self.key))
        self.close_button = close
        edit = QToolButton()
        edit.setIcon(icon("pencil"))
        edit.setAutoRaise(True)
        edit.setAccessibleName(f"Mark up or redact {name}")
        edit.setToolTip(f"Mark up or redact {name} before sending (or click the thumbnail)")
        edit.clicked.connect(self._edit)
        edit.hide()
        self.edit_button = edit
        self.thumb.installEventFilter(self)

        text = QVBoxLayout()
        text.setSpacing(1)
        text.addWidget(self.title)
        text.addWidget(self.caption, 1)
        text.addWidget(self.progress)
        row = QHBoxLayout(self)
        row.setContentsMargins(4, 4, 2, 4)
        row.addWidget(self.thumb)
        row.addLayout(text, 1)
        buttons = QVBoxLayout()
        buttons.setSpacing(0)
        buttons.addWidget(close)
        buttons.addWidget(edit)
        buttons.addStretch(1)
        row.addLayout(buttons)
        self.setAccessibleName(f"Attachment {name}")

    def editable(self) -> bool:
        return self.state == "ready" and self.edit_button.isVisibleTo(self)

    def _edit(self) -> None:
        if self.editable():
            self.edit_clicked.emit(self.key)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.thumb and event.type() == QEvent.Type.MouseButtonRelease:
            self._edit()
        return super().eventFilter(watched, event)

    def set_preparing(self) -> None:
        """Prepared again (an edit was applied): back to "Preparing…" until ready."""
        self.state = "preparing"
        self.reason = ""
        self.edit_button.hide()
        self.close_button.setEnabled(True)
        self.caption.setStyleSheet("")
        self.caption.setText("Preparing…")

    def set_ready(self, thumbnail: bytes | None, changes: tuple[str, ...], summary: str) -> None:
        self.state = "ready"
        if thumbnail:
            pix = QPixmap()
            if pix.loadFromData(thumbnail):
                dpr = self.devicePixelRatioF()
                pix = pix.scaled(QSize(int(THUMB * dpr), int(THUMB * dpr)),
                                 Qt.AspectRatioMode.KeepAspectRatio,
                                 Qt.TransformationMode.SmoothTransformation)
                pix.setDevicePixelRatio(dpr)
                self.thumb.setPixmap(pix)
        else:
            self.thumb.setText("▶" if summary.startswith("video") else "🖼")
        self.caption.setStyleSheet("")
        self.caption.setText("; ".join(changes) if changes else summary)
        tip = [self.name, summary, *changes]
        self.setToolTip("\n".join(tip))
        image = summary.startswith("image")
        self.edit_button.setVisible(image)
        self.thumb.setCursor(Qt.CursorShape.PointingHandCursor if image
                             else Qt.CursorShape.ArrowCursor)

    def set_failed(self, reason: str) -> None:
        self.state = "failed"
        self.reason = reason
        self.edit_button.hide()
        self.thumb.setPixmap(icon("circle-alert", colour=ERROR_COLOR).pixmap(
            QSize(28, 28), self.devicePixelRatioF()))
        self.caption.setText("Refused — the reason is below")  # whole, under the strip
        self.caption.setToolTip(reason)
        self.caption.setStyleSheet(f"color: {ERROR_COLOR};")
        self.setProperty("state", "failed")
        self.setStyleSheet(f"TrayItem {{ border: 1px solid {ERROR_COLOR}; "
                           "border-radius: 6px; }")
        self.setToolTip(reason)
        self.setAccessibleDescription(f"Refused: {reason}")
        self.progress.hide()

    def set_sending(self) -> None:
        self.close_button.setEnabled(False)
        self.edit_button.hide()
        self.caption.setText("Sending…")

    def set_progress(self, sent: int, total: int) -> None:
        """Upload progress: percent and bytes in the caption, a bar under it."""
        if total <= 0:
            return
        sent = min(sent, total)
        self.caption.setStyleSheet("")
        self.caption.setText(f"Uploading {100 * sent // total}% "
                             f"({format_bytes(sent)} of {format_bytes(total)})")
        self.progress.setRange(0, 1000)
        self.progress.setValue(int(1000 * sent / total))
        self.progress.setVisible(sent < total)
        if sent >= total:
            self.caption.setText(f"Uploaded {format_bytes(total)}")


class AttachmentTray(QWidget):
    """A horizontal strip of `TrayItem`s over the reasons for any refusals; hidden while empty.

    Signals:
        remove_requested(int): the user pressed × on the item with this key.
        edit_requested(int): the user wants to mark up or redact this image.
    """

    remove_requested = Signal(int)
    edit_requested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Attachments")
        self.strip = QScrollArea(self)
        self.strip.setAccessibleName("Attached files")
        self.strip.setWidgetResizable(True)
        self.strip.setFrameShape(QFrame.Shape.NoFrame)
        # Reached by Tab, not by a click: clicking a card's edit or remove button leaves the
        # keyboard in the composer (a scroll area takes it on click by default).
        self.strip.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        self.strip.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.strip.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        # Room for the cards *and* the scroll bar under them: it never covers a card.
        bar = self.strip.horizontalScrollBar().sizeHint().height()
        self.strip.setFixedHeight(THUMB + 12 + bar)
        inner = QWidget()
        self._row = QHBoxLayout(inner)
        self._row.setContentsMargins(0, 0, 0, 0)
        self._row.addStretch(1)
        self.strip.setWidget(inner)
        self.refusals = QLabel(self)
        self.refusals.setAccessibleName("Refused attachments")
        self.refusals.setWordWrap(True)
        self.refusals.setTextFormat(Qt.TextFormat.PlainText)
        self.refusals.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.refusals.setStyleSheet(f"color: {ERROR_COLOR};")
        self.refusals.hide()
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(2)
        col.addWidget(self.strip)
        col.addWidget(self.refusals)
        self._items: dict[int, TrayItem] = {}
        self.hide()

    def add_item(self, key: int, name: str) -> TrayItem:
        """A new item, preparing; a key already shown is being prepared again (edited)."""
        existing = self._items.get(key)
        if existing is not None:
            existing.set_preparing()
            return existing
        item = TrayItem(key, name)
        item.remove_clicked.connect(self.remove_requested)
        item.edit_clicked.connect(self.edit_requested)
        self._row.insertWidget(self._row.count() - 1, item)
        self._items[key] = item
        self.show()
        return item

    def item(self, key: int) -> TrayItem | None:
        return self._items.get(key)

    def items(self) -> list[TrayItem]:
        return list(self._items.values())

    def set_ready(self, key: int, thumbnail: bytes | None, changes: tuple[str, ...],
                  summary: str) -> None:
        if (item := self._items.get(key)) is not None:
            item.set_ready(thumbnail, changes, summary)

    def set_failed(self, key: int, reason: str) -> None:
        if (item := self._items.get(key)) is not None:
            item.set_failed(reason)
            self._show_refusals()

    def refusal_lines(self) -> list[str]:
        return [f"⚠ {item.name} — {item.reason}" for item in self._items.values()
                if item.state == "failed"]

    def _show_refusals(self) -> None:
        """Every refusal's whole reason, then what happens to those files on send."""
        lines = self.refusal_lines()
        if lines:
            some = "this file" if len(lines) == 1 else f"these {len(lines)} files"
            lines.append(f"Send leaves {some} out.")
        self.refusals.setText("\n".join(lines))
        self.refusals.setVisible(bool(lines))

    def set_sending(self, key: int) -> None:
        if (item := self._items.get(key)) is not None:
            item.set_sending()

    def set_progress(self, key: int, sent: int, total: int) -> None:
        if (item := self._items.get(key)) is not None:
            item.set_progress(sent, total)

    def remove_item(self, key: int) -> None:
        item = self._items.pop(key, None)
        if item is not None:
            item.setParent(None)
            item.deleteLater()
        self._show_refusals()
        self.setVisible(bool(self._items))
