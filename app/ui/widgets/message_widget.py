"""One message of a conversation: header, attachments, thinking, answer, status and actions.

A widget never talks to the store or the engine. It shows a `Message` (app.store's record,
duck-typed here) and reports what the user clicked; the conversation view forwards that as
its own signals, and the window's controller acts on them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QColor, QFont, QPainter, QPalette, QPixmap
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.ui.render.markdown import MarkdownRenderer
from app.ui.render.markdown_view import MarkdownView, SafeTextBrowser
from app.ui.widgets.message_thumbnails import THUMB_SIDE
from app.ui.widgets.thinking_section import ThinkingSection

if TYPE_CHECKING:
    from app.store import AttachmentRecord, Message

ThumbnailLoader = Callable[[str], QPixmap | None]
"""sha256 → a thumbnail pixmap (cached by the view), or None when there is none on disk."""

# status → (line shown, [(button label, action)]); DESIGN.md's status table.
STATUS_ACTIONS: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    "streaming": ("", ()),
    "complete": ("", (("Regenerate", "regenerate"),)),
    "truncated": ("Cut off at the token limit.", (("Continue", "continue"),
                                                   ("Regenerate", "regenerate"))),
    "stopped": ("Stopped.", (("Retry", "retry"),)),
    "interrupted": ("Interrupted.", (("Retry", "retry"),)),
    "blocked": ("Blocked by content review.", (("Edit && resend", "edit"),)),
    "error": ("Failed.", (("Retry", "retry"),)),
}
_PROGRESSIVE_CHARS = 4_000  # longer answers are rendered in steps, not in one go
_GRID_COLUMNS = 6


def _duration_text(seconds: float) -> str:
    whole = round(seconds)
    return f"{whole // 60}:{whole % 60:02d}"


class AttachmentButton(QToolButton):
    """A clickable thumbnail; videos get a duration badge painted on their first frame."""

    def __init__(self, record: AttachmentRecord, pixmap: QPixmap | None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.sha256 = record.sha256
        self.edit_again: QAction | None = None  # a sent image's "Edit again and resend…"
        kind = "Video" if record.kind == "video" else "Image"
        name = record.original_name or record.sha256[:12]
        label = f"{kind} attachment {name}"
        if record.kind == "video" and record.duration_s is not None:
            label += f", {_duration_text(record.duration_s)}"
        self.setAccessibleName(label)
        self.setToolTip(label)
        self.setAutoRaise(True)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        if pixmap is None or pixmap.isNull():
            self.setText(f"{kind}\n{name[:14]}")
            self.setFixedSize(THUMB_SIDE, THUMB_SIDE)
            return
        if record.kind == "video" and record.duration_s is not None:
            pixmap = self._with_badge(pixmap, _duration_text(record.duration_s))
        self.setIcon(pixmap)
        self.setIconSize(pixmap.size())

    @staticmethod
    def _with_badge(pixmap: QPixmap, text: str) -> QPixmap:
        badged = QPixmap(pixmap)
        painter = QPainter(badged)
        font = QFont(painter.font())
        font.setBold(True)
        painter.setFont(font)
        metrics = painter.fontMetrics()
        width, height = metrics.horizontalAdvance(text) + 8, metrics.height() + 2
        x, y = badged.width() - width - 3, badged.height() - height - 3
        painter.fillRect(x, y, width, height, QColor(0, 0, 0, 170))
        painter.setPen(QColor(255, 255, 255))
        painter.drawText(x, y, width, height, Qt.AlignmentFlag.AlignCenter, text)
        painter.end()
        return badged


class MessageWidget(QFrame):
    """Shows one message; assistant messages can stream.

    Args:
        message: the record to show.
        renderer: Markdown renderer shared by the view (memoised).
        thumbnails: loads attachment thumbnails.
        versions: ids of every version of this turn, oldest first (just this id if none).
        thinking_expanded: whether a finished Thinking section starts open.
        markdown: render Markdown now (False: plain text now, `show_markdown()` later).
        timestamps: for an answer about a video, its duration in seconds: `mm:ss` times up
            to it become links (seek_requested).

    Signals:
        action_requested(str, int): ("retry"|"regenerate"|"continue"|"edit", message id;
            for "edit" the id of the user message to edit).
        version_selected(int): the id of the version to show instead.
        attachment_activated(str): sha256 of a clicked attachment.
        attachment_edit_requested(int, int): (user message id, attachment ordinal): "Edit
            again" on an image the user sent.
        copy_requested(str): text to put on the clipboard.
        save_requested(str, str): (code, language) of a code block to save.
        table_save_requested(str, int): (CSV text, table number) of a table to save; a
            table's "Copy as CSV" comes as copy_requested.
        seek_requested(float): a timestamp clicked in an answer about a video (seconds).
    """

    action_requested = Signal(str, int)
    version_selected = Signal(int)
    attachment_activated = Signal(str)
    attachment_edit_requested = Signal(int, int)
    copy_requested = Signal(str)
    save_requested = Signal(str, str)
    table_save_requested = Signal(str, int)
    seek_requested = Signal(float)

    def __init__(self, message: Message, *, renderer: MarkdownRenderer,
                 thumbnails: ThumbnailLoader, versions: Sequence[int] = (),
                 thinking_expanded: bool = False, markdown: bool = True,
                 timestamps: float | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.message = message
        self._versions = list(versions) or [message.id]
        self._is_user = message.role == "user"
        self._thinking: ThinkingSection | None = None
        self._thinking_expanded = thinking_expanded
        self.header_buttons: dict[str, QToolButton] = {}
        self.attachment_buttons: list[AttachmentButton] = []
        self.version_label: QLabel | None = None
        self.version_info: QLabel | None = None
        self.version_previous: QToolButton | None = None
        self.version_next: QToolButton | None = None
        self.setBackgroundRole(QPalette.ColorRole.AlternateBase if self._is_user
                               else QPalette.ColorRole.Base)
        self.setAutoFillBackground(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(12, 8, 12, 8)
        self._layout.setSpacing(4)
        self._layout.addLayout(self._build_header())
        if message.attachments:
            self._layout.addLayout(self._build_attachments(message.attachments, thumbnails))
        if not self._is_user and (message.reasoning or message.status == "streaming"):
            self._ensure_thinking()
        self._body: SafeTextBrowser
        if self._is_user:
            self._body = SafeTextBrowser(self)
            self._body.setPlainText(message.content)
        else:
            self._body = MarkdownView(renderer, self, timestamps=timestamps)
            if message.status == "streaming":
                self._body.append(message.content)  # drawn by the view's render steps
            elif markdown and len(message.content) <= _PROGRESSIVE_CHARS:
                self._body.show_markdown(message.content)
            else:
                self._body.show_plain(message.content)
        self._body.setAccessibleName("Your message" if self._is_user else "Answer")
        self._body.code_copy_requested.connect(self.copy_requested)
        self._body.code_save_requested.connect(self.save_requested)
        self._body.table_copy_requested.connect(self.copy_requested)
        self._body.table_save_requested.connect(self.table_save_requested)
        self._body.seek_requested.connect(self.seek_requested)
        self._layout.addWidget(self._body)
        self._action_buttons: list[QPushButton] = []
        self._footer = QHBoxLayout()
        self._status_label: QLabel | None = None
        self._usage_label: QLabel | None = None
        if not self._is_user:  # the status line: what happened, what can be done, the cost
            self._status_label = QLabel(self)
            self._status_label.setWordWrap(True)
            self._status_label.setTextInteractionFlags(
                Qt.TextInteractionFlag.TextSelectableByMouse)
            self._usage_label = QLabel(self)
            self._usage_label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
            self._footer.addWidget(self._status_label, 1)
            self._footer.addWidget(self._usage_label, 0, Qt.AlignmentFlag.AlignRight)
            self._layout.addLayout(self._footer)
            self._update_status()
            self._update_usage()

    # -- public API (called by the conversation view) --------------------------------------

    @property
    def message_id(self) -> int:
        return int(self.message.id)

    @property
    def thinking(self) -> ThinkingSection | None:
        return self._thinking

    @property
    def body(self) -> SafeTextBrowser:
        return self._body

    @property
    def action_buttons(self) -> dict[str, QPushButton]:
        """The status line's buttons by action name (for tests and focus handling)."""
        return {str(b.property("action")): b for b in self._action_buttons}

    @property
    def status_text(self) -> str:
        return self._status_label.text() if self._status_label is not None else ""

    @property
    def usage_text(self) -> str:
        return self._usage_label.text() if self._usage_label is not None else ""

    def needs_markdown(self) -> bool:
        return isinstance(self._body, MarkdownView) and not self._body.is_markdown

    @property
    def has_pending_render(self) -> bool:
        """True while `render_step()` has text to draw (stream, long message)."""
        return ((isinstance(self._body, MarkdownView) and self._body.has_pending)
                or (self._thinking is not None and self._thinking.has_pending))

    def show_markdown(self, renderer: MarkdownRenderer | None = None) -> bool:
        """Replace the plain-text first paint (or an old theme's rendering) with Markdown.

        Returns True when the text is long and will be drawn by `render_step()` calls.
        """
        if not isinstance(self._body, MarkdownView) or self.message.status == "streaming":
            return False
        if len(self._body.source) <= _PROGRESSIVE_CHARS:
            self._body.show_markdown(renderer=renderer)
            return False
        self._body.begin_progressive(renderer)
        return True

    def render_step(self) -> bool:
        """Draw a bounded part of pending reasoning and Markdown; True while more remains."""
        more = self._thinking is not None and self._thinking.render_step()
        if isinstance(self._body, MarkdownView) and self._body.has_pending:
            more = self._body.render_step(final=self.message.status != "streaming") or more
        return more

    def stream(self, message: Message, reasoning: str, content: str) -> None:
        """Take one coalesced batch of deltas (`message` already includes them); the text is
        drawn by `render_step()`."""
        self.message = message
        if reasoning:
            self._ensure_thinking().append(reasoning)
        if content and isinstance(self._body, MarkdownView):
            if self._thinking is not None:
                self._thinking.finish()
            self._body.append(content)

    def update_message(self, message: Message) -> None:
        """Status, error or usage changed (finish_reply, set_usage)."""
        old, self.message = self.message, message
        if old.status == "streaming" and message.status != "streaming":
            if self._thinking is not None:
                self._thinking.finish()
            if isinstance(self._body, MarkdownView):
                self._body.finish_stream()
        if (old.status, old.error, old.reply_to) != (message.status, message.error,
                                                     message.reply_to):
            self._update_status()
        self._update_usage()

    # -- building --------------------------------------------------------------------------

    def _build_header(self) -> QHBoxLayout:
        header = QHBoxLayout()
        who = QLabel("You" if self._is_user else "Step", self)
        font = QFont(who.font())
        font.setBold(True)
        who.setFont(font)
        header.addWidget(who)
        header.addStretch(1)
        if len(self._versions) > 1:
            self._add_version_switcher(header)
        if self._is_user:
            edit = self._tool_button("Edit", "Edit and resend this message")
            edit.clicked.connect(lambda: self.action_requested.emit("edit", self.message_id))
            header.addWidget(edit)
            self.header_buttons["edit"] = edit
            compare = self._tool_button("Compare", "Answer this again at low, medium and high "
                                                   "effort, side by side")
            compare.clicked.connect(partial(self.action_requested.emit, "compare",
                                            self.message_id))
            header.addWidget(compare)
            self.header_buttons["compare"] = compare
        copy = self._tool_button("Copy", "Copy message")
        copy.clicked.connect(lambda: self.copy_requested.emit(self.message.content))
        header.addWidget(copy)
        self.header_buttons["copy"] = copy
        return header

    def _add_version_switcher(self, header: QHBoxLayout) -> None:
        index = self._versions.index(self.message_id) if self.message_id in self._versions \
            else len(self._versions) - 1
        total = len(self._versions)
        previous = self._tool_button("‹", "Previous version")
        about = version_about(self.message)
        label = QLabel(f"{index + 1} / {total}", self)
        label.setAccessibleName(f"Version {index + 1} of {total}"
                                + (f", {about}" if about else ""))
        self.version_info = QLabel(about, self)  # which effort, how long: compare at a glance
        self.version_info.setProperty("role", "muted")
        self.version_info.setVisible(bool(about))
        header.addWidget(self.version_info)
        following = self._tool_button("›", "Next version")
        previous.setEnabled(index > 0)
        following.setEnabled(index < total - 1)
        previous.clicked.connect(lambda: self.version_selected.emit(self._versions[index - 1]))
        following.clicked.connect(lambda: self.version_selected.emit(self._versions[index + 1]))
        self.version_previous, self.version_next = previous, following
        self.version_label = label
        for widget in (previous, label, following):
            header.addWidget(widget)

    def _tool_button(self, text: str, accessible: str) -> QToolButton:
        button = QToolButton(self)
        button.setText(text)
        button.setAccessibleName(accessible)
        button.setToolTip(accessible)
        button.setAutoRaise(True)
        button.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        return button

    def _build_attachments(self, records: Sequence[AttachmentRecord],
                           thumbnails: ThumbnailLoader) -> QGridLayout:
        grid = QGridLayout()
        grid.setSpacing(4)
        grid.setAlignment(Qt.AlignmentFlag.AlignLeft)
        for n, record in enumerate(sorted(records, key=lambda r: r.ordinal)):
            button = AttachmentButton(record, thumbnails(record.sha256), self)
            button.clicked.connect(lambda _=False, sha=record.sha256:
                                   self.attachment_activated.emit(sha))
            if record.kind == "image" and self.message.role == "user":
                self._add_edit_again(button, record)
            grid.addWidget(button, n // _GRID_COLUMNS, n % _GRID_COLUMNS)
            self.attachment_buttons.append(button)
        return grid

    def _add_edit_again(self, button: AttachmentButton, record: AttachmentRecord) -> None:
        """Right-click (or the menu key) on a sent image: mark it up again and resend."""
        action = QAction("Edit again and resend…", button)
        action.triggered.connect(partial(self.attachment_edit_requested.emit, self.message.id,
                                         record.ordinal))
        button.addAction(action)
        button.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        button.setToolTip(f"{button.toolTip()} — right-click to edit again and resend")
        button.edit_again = action

    def _ensure_thinking(self) -> ThinkingSection:
        if self._thinking is None:
            live = self.message.status == "streaming" and not self.message.content
            self._thinking = ThinkingSection(
                self.message.reasoning, expanded=self._thinking_expanded,
                live_since_ms=int(self.message.created_at) if live else None, parent=self)
            body = getattr(self, "_body", None)
            index = self._layout.indexOf(body) if body is not None else -1
            self._layout.insertWidget(index, self._thinking)
        return self._thinking

    def _update_status(self) -> None:
        if self._status_label is None:
            return
        status = self.message.status
        text, actions = STATUS_ACTIONS.get(status, ("", ()))
        if status in ("error", "interrupted", "blocked") and self.message.error:
            text = f"{text} {self.message.error}".strip() if status != "error" \
                else self.message.error
        self._status_label.setText(text)
        self._status_label.setAccessibleName(f"Status: {text or status}")
        for button in self._action_buttons:
            self._footer.removeWidget(button)
            button.deleteLater()
        self._action_buttons = []
        for n, (label, action) in enumerate(actions):
            button = QPushButton(label, self)
            button.setProperty("action", action)
            button.setAccessibleName(label.replace("&&", "&"))
            button.setAutoDefault(False)
            button.clicked.connect(lambda _=False, a=action: self._on_action(a))
            if action == "edit" and self.message.reply_to is None:
                button.setEnabled(False)
            self._footer.insertWidget(1 + n, button)
            self._action_buttons.append(button)

    def _on_action(self, action: str) -> None:
        if action == "edit":
            if self.message.reply_to is not None:
                self.action_requested.emit("edit", int(self.message.reply_to))
        else:
            self.action_requested.emit(action, self.message_id)

    def _update_usage(self) -> None:
        if self._usage_label is None:
            return
        m = self.message
        parts = []
        if m.effort:
            parts.append(f"effort {m.effort}")
        if m.prompt_tokens is not None or m.completion_tokens is not None:
            parts.append(f"{m.prompt_tokens or 0:,} in · {m.completion_tokens or 0:,} out")
            if m.cached_tokens:
                parts.append(f"{m.cached_tokens:,} cached")
        text = " · ".join(parts)
        self._usage_label.setText(text)
        self._usage_label.setAccessibleName(f"Usage: {text}" if text else "Usage")
        if m.finished_at and m.created_at:
            seconds = (int(m.finished_at) - int(m.created_at)) / 1000
            self._usage_label.setToolTip(f"{m.model or ''} · {seconds:.1f} s".strip(" ·"))


def version_about(message: Message) -> str:
    """"medium · 3.1 s": the effort and time of the version shown (figures when compared)."""
    parts = [message.effort] if message.effort else []
    figures = getattr(message, "figures", None) or {}
    total = figures.get("total_s")
    if isinstance(total, int | float):
        parts.append(f"{total:.1f} s")
    elif message.finished_at and message.created_at and message.role == "assistant":
        parts.append(f"{(int(message.finished_at) - int(message.created_at)) / 1000:.1f} s")
    return " · ".join(parts)


def now_ms() -> int:
    """Wall-clock milliseconds, the unit of Message.created_at / finished_at."""
    return int(time.time() * 1000)
