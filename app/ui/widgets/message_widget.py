"""One message of a conversation: attachments, thinking, answer, status and actions.

Laid out the way people read chats: every message sits in a centred column about 75
characters wide (it grows with the window only to that width); the user's turns are bubbles
on the right with their attachments as thumbnails, folded after about 12 lines with "Show
more"; the row of icon actions (copy, edit, regenerate, versions) appears under a message on
hover and when one of them has keyboard focus, so the conversation itself stays quiet.

A widget never talks to the store or the engine. It shows a `Message` (app.store's record,
duck-typed here) and reports what the user clicked; the conversation view forwards that as
its own signals, and the window's controller acts on them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import (
    QAction,
    QColor,
    QEnterEvent,
    QFont,
    QFontDatabase,
    QFontMetrics,
    QPainter,
    QPalette,
    QPixmap,
    QResizeEvent,
)
from PySide6.QtWidgets import (
    QAbstractButton,
    QFrame,
    QGraphicsOpacityEffect,
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
from app.ui.style.icons import icon
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
READABLE_CHARS = 75  # the column's width in average characters of prose…
CODE_COLUMNS = 80  # …or at least this many columns of code, so code blocks do not scroll
FOLD_LINES = 12  # a longer user turn folds, with "Show more"
BUBBLE_SHARE = 0.85  # a user bubble is at most this share of the column
_ICON_ACTIONS = {"regenerate": ("refresh-cw", "Regenerate the answer")}
"""Status actions shown as hover icons rather than buttons (the calm, finished states)."""


def readable_width(widget: QWidget) -> int:
    """About `READABLE_CHARS` characters of the widget's font in pixels, widened to fit
    `CODE_COLUMNS` of the fixed-pitch font (plus a code block's padding).

    Memoized per font: every message widget asks on every resize, and scrolling a long
    history resizes hundreds of them per frame."""
    font = widget.font()
    key = font.key()
    width = _READABLE_WIDTHS.get(key)
    if width is None:
        metrics = widget.fontMetrics()
        sample = "the quick brown fox jumps over a lazy dog "
        prose = round(metrics.horizontalAdvance(sample) / len(sample) * READABLE_CHARS)
        code_font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        code_font.setPointSizeF(font.pointSizeF() or code_font.pointSizeF())
        code = QFontMetrics(code_font).horizontalAdvance("m" * CODE_COLUMNS) + 32
        width = _READABLE_WIDTHS[key] = max(prose, code)
    return width


_READABLE_WIDTHS: dict[str, int] = {}


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
        self._renderer = renderer
        self.header_buttons: dict[str, QToolButton] = {}
        self.attachment_buttons: list[AttachmentButton] = []
        self.version_label: QLabel | None = None
        self.version_info: QLabel | None = None
        self.version_previous: QToolButton | None = None
        self.version_next: QToolButton | None = None
        self.fold_button: QToolButton | None = None
        self._folded = False
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self.setAccessibleName("Your message" if self._is_user else "Answer from Step")
        outer = QHBoxLayout(self)
        outer.setContentsMargins(12, 6, 12, 6)
        self.column = QWidget(self)
        outer.addStretch(1)
        outer.addWidget(self.column, 100)
        outer.addStretch(1)
        self._layout = QVBoxLayout(self.column)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(4)
        self.bubble: QFrame | None = None
        self._longest: tuple[tuple[str, str], int] | None = None
        content_layout = self._layout
        if self._is_user:
            self.bubble = QFrame(self.column)
            self.bubble.setProperty("role", "bubble")
            self.bubble.setObjectName("user-bubble")
            bubble_row = QHBoxLayout()
            bubble_row.setContentsMargins(0, 0, 0, 0)
            bubble_row.addStretch(1)
            bubble_row.addWidget(self.bubble)
            self._layout.addLayout(bubble_row)
            content_layout = QVBoxLayout(self.bubble)
            content_layout.setContentsMargins(12, 8, 12, 8)
            content_layout.setSpacing(6)
        if message.attachments:
            grid = self._build_attachments(message.attachments, thumbnails)
            if self._is_user:
                grid.setAlignment(Qt.AlignmentFlag.AlignRight)
            content_layout.addLayout(grid)
        if not self._is_user and (message.reasoning or message.status == "streaming"):
            self._ensure_thinking()
        self._body: SafeTextBrowser
        if self._is_user:
            self._body = SafeTextBrowser(self.bubble)
            self._body.setPlainText(message.content)
        else:
            # Pygments loads off the UI thread: the conversation's render steps wait for it
            self._body = MarkdownView(renderer, self, timestamps=timestamps,
                                      load_code_ahead=True)
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
        content_layout.addWidget(self._body)
        if self._is_user:
            self._fold_if_long(content_layout)
        self._action_buttons: list[QAbstractButton] = []
        self._hover_row = QWidget(self.column)
        self._hover_row.setObjectName("message-actions")
        self._hover_layout = QHBoxLayout(self._hover_row)
        self._hover_layout.setContentsMargins(0, 0, 0, 0)
        self._hover_layout.setSpacing(2)
        self._build_actions(self._hover_layout)
        self._hover_effect = QGraphicsOpacityEffect(self._hover_row)
        self._hover_effect.setOpacity(0.0)
        self._hover_row.setGraphicsEffect(self._hover_effect)
        self._layout.addWidget(self._hover_row)
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
    def action_buttons(self) -> dict[str, QAbstractButton]:
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
        if renderer is not None:
            self._renderer = renderer
        thinking = self._thinking is not None and self._thinking.set_renderer(self._renderer)
        if len(self._body.markdown_source) <= _PROGRESSIVE_CHARS:
            self._body.show_markdown(renderer=renderer)
            return thinking
        self._body.begin_progressive(renderer)
        return True

    def render_step(self) -> bool:
        """Draw a bounded part of pending reasoning, or else of the Markdown answer; True
        while more remains. One of the two per step: after a flood both are pending at once,
        and drawing both in one step would make it as long as the two together."""
        answer = self._body if isinstance(self._body, MarkdownView) else None
        if self._thinking is not None and self._thinking.has_pending:
            return self._thinking.render_step() or (answer is not None and answer.has_pending)
        if answer is not None and answer.has_pending:
            return answer.render_step(final=self.message.status != "streaming")
        return False

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

    def _build_actions(self, row: QHBoxLayout) -> None:
        """Copy, edit (your turns), then the versions switcher; Regenerate joins when due."""
        if self._is_user:
            row.addStretch(1)
        copy = self._icon_button("copy", "Copy message")
        copy.clicked.connect(self._copy)
        row.addWidget(copy)
        self.header_buttons["copy"] = copy
        if self._is_user:
            edit = self._icon_button("pencil", "Edit and resend this message")
            edit.clicked.connect(partial(self.action_requested.emit, "edit", self.message_id))
            row.addWidget(edit)
            self.header_buttons["edit"] = edit
            compare = self._icon_button("columns-3", "Compare: answer this again at low, "
                                                     "medium and high effort, side by side")
            compare.setAccessibleName("Compare efforts")
            compare.clicked.connect(partial(self.action_requested.emit, "compare",
                                            self.message_id))
            row.addWidget(compare)
            self.header_buttons["compare"] = compare
        if len(self._versions) > 1:
            self._add_version_switcher(row)
        if not self._is_user:
            row.addStretch(1)

    def _copy(self) -> None:
        self.copy_requested.emit(self.message.content)

    def _icon_button(self, name: str, tip: str) -> QToolButton:
        button = self._tool_button("", tip)
        button.setIcon(icon(name))
        button.setProperty("role", "icon")
        button.installEventFilter(self)  # keyboard focus shows the row (see eventFilter)
        return button

    # -- the hover row ---------------------------------------------------------------------
    def actions_shown(self) -> bool:
        return self._hover_effect.opacity() > 0

    def _set_actions_shown(self, shown: bool) -> None:
        self._hover_effect.setOpacity(1.0 if shown else 0.0)

    def _focus_within_actions(self) -> bool:
        focus = self.focusWidget()
        return focus is not None and self._hover_row.isAncestorOf(focus)

    def enterEvent(self, event: QEnterEvent) -> None:
        self._set_actions_shown(True)
        super().enterEvent(event)

    def leaveEvent(self, event: QEvent) -> None:
        self._set_actions_shown(self._focus_within_actions())
        super().leaveEvent(event)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.FocusIn:
            self._set_actions_shown(True)
        elif event.type() == QEvent.Type.FocusOut:
            self._set_actions_shown(self.underMouse())
        return super().eventFilter(watched, event)

    # -- the column and the bubble ---------------------------------------------------------
    def _fold_if_long(self, layout: QVBoxLayout) -> None:
        lines = self.message.content.count("\n") + 1
        if lines <= FOLD_LINES and len(self.message.content) <= FOLD_LINES * READABLE_CHARS:
            return
        self.fold_button = QToolButton(self.bubble)
        self.fold_button.setAutoRaise(True)
        self.fold_button.clicked.connect(self.toggle_fold)
        layout.addWidget(self.fold_button, 0, Qt.AlignmentFlag.AlignLeft)
        self.set_folded(True)

    @property
    def folded(self) -> bool:
        return self._folded

    def set_folded(self, folded: bool) -> None:
        if self.fold_button is None:
            return
        self._folded = folded
        line = self._body.fontMetrics().lineSpacing()
        self._body.set_fold_height(FOLD_LINES * line + 8 if folded else None)
        text = "Show more" if folded else "Show less"
        self.fold_button.setText(text)
        self.fold_button.setAccessibleName(text)
        self.fold_button.setToolTip("Show the whole message" if folded else
                                    "Fold the message to its first lines")

    def toggle_fold(self) -> None:
        self.set_folded(not self._folded)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_column()

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:
            self._fit_column()

    def _fit_column(self) -> None:
        width = readable_width(self)
        if self.column.maximumWidth() != width:
            self.column.setMaximumWidth(width)
        if self.bubble is not None:
            available = min(width, self.width() - 24)
            self.bubble.setMaximumWidth(max(80, min(int(available * BUBBLE_SHARE),
                                                    self._longest_line() + 40)))

    def _longest_line(self) -> int:
        """The user text's widest line in the body's font, measured once per font and text
        (resizes come on every layout pass; the text seldom changes)."""
        key = self._body.font().key(), self.message.content
        if self._longest is None or self._longest[0] != key:
            metrics = self._body.fontMetrics()
            lines = key[1][:4000].splitlines() or [""]
            self._longest = key, max(metrics.horizontalAdvance(line) for line in lines)
        return self._longest[1]

    def _add_version_switcher(self, header: QHBoxLayout) -> None:
        index = self._versions.index(self.message_id) if self.message_id in self._versions \
            else len(self._versions) - 1
        total = len(self._versions)
        previous = self._icon_button("chevron-left", "Previous version")
        about = version_about(self.message)
        label = QLabel(f"{index + 1} / {total}", self)
        label.setAccessibleName(f"Version {index + 1} of {total}"
                                + (f", {about}" if about else ""))
        self.version_info = QLabel(about, self)  # which effort, how long: compare at a glance
        self.version_info.setProperty("role", "muted")
        self.version_info.setVisible(bool(about))
        header.addWidget(self.version_info)
        following = self._icon_button("chevron-right", "Next version")
        previous.setEnabled(index > 0)
        following.setEnabled(index < total - 1)
        if index > 0:
            previous.clicked.connect(partial(self.version_selected.emit,
                                             self._versions[index - 1]))
        if index < total - 1:
            following.clicked.connect(partial(self.version_selected.emit,
                                              self._versions[index + 1]))
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
                live_since_ms=int(self.message.created_at) if live else None,
                renderer=self._renderer, parent=self)
            self._thinking.copy_requested.connect(self.copy_requested)
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
        for old in self._action_buttons:
            old.hide()
            old.deleteLater()
        self._action_buttons = []
        calm = len(actions) == 1 and actions[0][1] in _ICON_ACTIONS
        for n, (label, action) in enumerate(actions):
            button: QAbstractButton
            if calm:  # a finished answer: Regenerate is a quiet icon among the others
                name, tip = _ICON_ACTIONS[action]
                button = self._icon_button(name, tip)
                self._hover_layout.insertWidget(self._hover_layout.count() - 1, button)
            else:  # something went wrong or was cut off: the way on is a visible button
                push = QPushButton(label, self)
                push.setAutoDefault(False)
                button = push
                self._footer.insertWidget(1 + n, button)
            button.setProperty("action", action)
            button.setAccessibleName(label.replace("&&", "&"))
            button.clicked.connect(partial(self._on_action, action))
            if action == "edit" and self.message.reply_to is None:
                button.setEnabled(False)
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
