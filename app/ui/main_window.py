"""The main window: sidebar | conversation + composer, status bar, menus, drops, shutdown.

Built in two steps so it is on screen fast: `MainWindow()` creates only widgets (no store,
no HTTP, no Pillow, no Markdown); `start()` then opens the services after the first paint
and wires the controllers. Conversation and settings work is in `WindowActions`
(window_actions.py); this module keeps layout, routing of streaming signals and lifecycle.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDragEnterEvent,
    QDragLeaveEvent,
    QDragMoveEvent,
    QDropEvent,
    QIcon,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.ui.controllers.template_actions import TemplateActions
from app.ui.controllers.turns import NEW, ChatController, TaskSet
from app.ui.platform.appearance import apply_appearance, current_system_palette
from app.ui.widgets.attachment_tray import AttachmentController
from app.ui.widgets.composer import Composer
from app.ui.widgets.conversation_view import ConversationView
from app.ui.widgets.drop_overlay import DropOverlay, media_from_mime
from app.ui.widgets.sidebar import Sidebar

if TYPE_CHECKING:
    from app.ui.controllers.library import Library

log = logging.getLogger(__name__)

SHUTDOWN_BUDGET_S = 2.0
ICON_SIZES = (16, 32, 48, 64, 128, 256)


def app_icon() -> QIcon:
    """The window icon from the packaged PNGs (plain files, importlib.resources)."""
    from importlib.resources import files

    icon = QIcon()
    base = files("app") / "resources" / "icons"
    for size in ICON_SIZES:
        icon.addFile(str(base / f"stepdesk-{size}.png"))
    return icon


class Banner(QFrame):
    """A friendly in-window notice with one action (e.g. "Set API key")."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("banner")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setStyleSheet("#banner { background: palette(alternate-base); "
                           "border: 1px solid palette(highlight); border-radius: 6px; }")
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.button = QPushButton()
        row = QHBoxLayout(self)
        row.setContentsMargins(10, 6, 10, 6)
        row.addWidget(self.label, 1)
        row.addWidget(self.button)
        self.setAccessibleName("Notice")
        self.hide()

    def show_message(self, text: str, action: str | None) -> None:
        self.label.setText(text)
        self.button.setText(action or "")
        self.button.setAccessibleName(action or "")
        self.button.setVisible(bool(action))
        self.show()


class MainWindow(QMainWindow):
    """Step Desk's window.

    Signals:
        ready(): services are open and the last conversation is shown (or none exists).
        conversation_shown(int): a conversation was displayed (id; -1 for a new one).
        closed(): shutdown finished; the window is gone and the loop may end.
    """

    ready = Signal()
    conversation_shown = Signal(int)
    closed = Signal()

    def __init__(self, data_dir: Path) -> None:
        super().__init__()
        self.setWindowTitle("Step Desk")
        self.setWindowIcon(app_icon())
        self.setAcceptDrops(True)
        self._geometry = QSettings(str(data_dir / "window.ini"), QSettings.Format.IniFormat)
        self.tasks = TaskSet(self.show_error)
        self.library: Library | None = None
        self.chat: ChatController | None = None
        self.current: int | None = None  # the conversation shown; None = a new one
        self._live: set[int] = set()  # assistant ids streaming into the view right now
        self._closing = False
        self._shutdown_done = False
        self._shutdown_task: asyncio.Future[None] | None = None

        self._system_palette = current_system_palette()
        self.sidebar = Sidebar()
        self.sidebar.search.setAcceptDrops(False)
        self.view = ConversationView()
        self.view.setAccessibleName("Conversation")
        self.composer = Composer()
        self.banner = Banner()
        self.attachments = AttachmentController(self.composer.tray, self.tasks, self)

        right = QWidget()
        col = QVBoxLayout(right)
        col.setContentsMargins(0, 6, 6, 0)
        col.setSpacing(4)
        col.addWidget(self.banner)
        col.addWidget(self.view, 1)
        col.addWidget(self.composer)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.sidebar)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([260, 840])
        self.splitter.setChildrenCollapsible(False)
        self.setCentralWidget(self.splitter)
        self.overlay = DropOverlay(self.splitter)

        self.model_label = QLabel("step-3.7-flash")
        self.model_label.setAccessibleName("Model")
        self.connection_label = QLabel("Starting…")
        self.connection_label.setAccessibleName("Connection")
        self.tokens_label = QLabel()
        self.tokens_label.setAccessibleName("Tokens")
        bar = self.statusBar()
        for label in (self.tokens_label, self.model_label, self.connection_label):
            bar.addPermanentWidget(label)
        self._build_menus()
        self.composer.setEnabled(True)
        self.resize(1100, 760)
        self._restore_geometry()
        self.composer.edit.setFocus()

    # --- layout helpers ------------------------------------------------------------------
    def _build_menus(self) -> None:
        from app.ui.controllers.window_actions import WindowActions

        self.actions_ = WindowActions(self)
        self.templates_ = TemplateActions(self)
        a = self.actions_
        file_menu = self.menuBar().addMenu("&File")
        self.new_action = self._action(file_menu, "&New conversation", a.new_conversation,
                                       QKeySequence.StandardKey.New)
        self._action(file_menu, "&Attach files…", a.choose_files, QKeySequence.StandardKey.Open)
        self._action(file_menu, "&Capture screen region", a.capture, "Ctrl+Shift+S")
        file_menu.addSeparator()
        self._action(file_menu, "&Settings…", a.open_settings, "Ctrl+,")
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", self.close, QKeySequence.StandardKey.Quit)
        edit_menu = self.menuBar().addMenu("&Edit")
        self._action(edit_menu, "&Search messages", self.sidebar.focus_search, "Ctrl+K")
        self.stop_action = self._action(edit_menu, "S&top reply", self.stop_current, "Esc")
        self.stop_action.setEnabled(False)
        self._action(edit_menu, "Focus &message box", self.focus_composer, "Ctrl+L")
        self._action(edit_menu, "Use a &template…", self.templates_.open_picker, "Ctrl+T")
        help_menu = self.menuBar().addMenu("&Help")
        self._action(help_menu, "&Copy diagnostics", a.copy_diagnostics)
        self._action(help_menu, "&About Step Desk", a.about)

        self.composer.send_requested.connect(a.send)
        self.composer.stop_requested.connect(self.stop_current)
        self.composer.media_pasted.connect(self.attachments.add_mime)
        self.composer.attach_requested.connect(a.choose_files)
        self.composer.capture_requested.connect(a.capture)
        self.composer.template_requested.connect(self.templates_.open_picker)
        self.composer.effort_changed.connect(a.effort_changed)
        self.composer.model_changed.connect(a.model_changed)
        s = self.sidebar
        s.conversation_activated.connect(a.open_conversation)
        s.new_requested.connect(a.new_conversation)
        s.rename_requested.connect(a.rename)
        s.delete_requested.connect(a.delete)
        s.pin_requested.connect(a.pin)
        s.search_requested.connect(a.search)
        s.hit_activated.connect(a.open_hit)
        s.files_requested.connect(a.refresh_files)
        s.delete_files_requested.connect(a.delete_files)
        v = self.view
        v.retry_requested.connect(a.regenerate)
        v.regenerate_requested.connect(a.regenerate)
        v.continue_requested.connect(a.continue_reply)
        v.edit_requested.connect(a.edit)
        v.attachment_activated.connect(a.open_attachment)
        v.version_selected.connect(a.select_version)
        v.timestamp_activated.connect(a.show_frame)
        v.copy_text.connect(lambda _text: self.show_note("Copied."))

    def _action(self, menu, text: str, slot, shortcut=None) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(lambda _checked=False: slot())
        menu.addAction(action)
        self.addAction(action)
        return action

    def _restore_geometry(self) -> None:
        geometry = self._geometry.value("geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        state = self._geometry.value("splitter")
        if state is not None:
            self.splitter.restoreState(state)

    def focus_composer(self) -> None:
        self.composer.edit.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def apply_appearance(self, appearance: str) -> None:
        """Light, dark or the system's scheme (Settings → Appearance)."""
        app = QApplication.instance()
        if isinstance(app, QApplication):
            apply_appearance(app, appearance, self._system_palette)

    def show_error(self, text: str) -> None:
        self.statusBar().showMessage(f"⚠ {text}", 12000)

    def show_note(self, text: str) -> None:
        self.statusBar().showMessage(text, 6000)

    # --- start-up ------------------------------------------------------------------------
    async def start(self, env: Mapping[str, str], files: list[Path]) -> None:
        """Open the services after the first paint, then show the last conversation."""
        if files:
            self.attachments.add_paths(files)
        await asyncio.sleep(0)
        from app.ui.app import connect, open_services
        from app.ui.controllers.library import Library

        services = await open_services(env, self)
        if services is None:
            return
        self.library = Library(services)
        self.chat = ChatController(services.engine, self)
        self._wire_chat(self.chat)
        settings = services.settings
        self.attachments.set_context(services.blobs.tmp_dir, settings.proxy_for)
        self.composer.set_effort(settings.effort)
        self.view.set_thinking_expanded(settings.show_thinking_expanded)
        self.apply_appearance(settings.appearance)
        self.composer.set_models([settings.model], settings.model)
        self.model_label.setText(settings.model)
        await self.actions_.refresh_list()
        await self.templates_.refresh()
        last = await self.library.last_conversation()
        listed = await self.library.conversations()
        ids = [c.id for c in listed]
        target = last if last in ids else (max(ids, key=lambda i: i) if ids else None)
        if target is not None:
            await self.actions_.show_conversation(target)
        else:
            self.conversation_shown.emit(NEW)
        await self._settled(1.0)  # let the view finish its first page before httpx/keyring load
        await connect(env, services)
        self.actions_.update_key_state()
        self.ready.emit()

    async def _settled(self, limit: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit
        while not self.view.is_idle() and loop.time() < deadline:
            await asyncio.sleep(0.01)

    # --- streaming routing ---------------------------------------------------------------
    def _wire_chat(self, chat: ChatController) -> None:
        chat.turn_started.connect(self._on_turn_started)
        chat.reasoning.connect(self._on_reasoning)
        chat.content.connect(self._on_content)
        chat.usage.connect(self._on_usage)
        chat.upload_progress.connect(self.attachments.upload_progress)
        chat.notice.connect(lambda key, text: key == self.key() and self.show_note(text))
        chat.turn_ended.connect(self._on_turn_ended)
        chat.busy_changed.connect(self._on_busy)

    def key(self) -> int:
        return NEW if self.current is None else self.current

    def _on_turn_started(self, key: int, conversation_id: int, _user: int, _aid: int) -> None:
        if key == NEW and self.current is None:
            self.current = conversation_id
            self.tasks.spawn(self.actions_.after_new_conversation(conversation_id))
        if conversation_id == self.current:
            self.tasks.spawn(self.actions_.show_conversation(conversation_id, remember=False))

    def attach_live(self, conversation_id: int) -> None:
        """After (re)showing a conversation: put the running reply's text so far in place."""
        self._live.clear()
        run = self.chat.run_for(conversation_id) if self.chat else None
        if run is None or run.assistant_id is None:
            return
        message = self.view_message(run.assistant_id)
        if message is not None:
            self.view.replace_message(dataclasses.replace(
                message, reasoning="".join(run.reasoning), content="".join(run.content),
                status="streaming"))
        self._live.add(run.assistant_id)

    def view_message(self, message_id: int):
        return self.actions_.shown_messages.get(message_id)

    def _on_reasoning(self, conv: int, aid: int, text: str) -> None:
        self.attachments.sent()
        if aid in self._live and conv == self.current:
            self.view.append_reasoning(aid, text)

    def _on_content(self, conv: int, aid: int, text: str) -> None:
        self.attachments.sent()
        if aid in self._live and conv == self.current:
            self.view.append_content(aid, text)

    def _on_usage(self, conv: int, aid: int, prompt: int, completion: int, cached: int) -> None:
        if aid in self._live and conv == self.current:
            self.view.set_usage(aid, prompt, completion, cached)
            self.actions_.show_tokens(last=completion)

    def _on_turn_ended(self, key: int, aid: int, status: str, error: str) -> None:
        self.attachments.sent()
        if aid and aid in self._live and key == self.current:
            self._live.discard(aid)
            self.view.finish_reply(aid, status, error or None)
        if error:
            self.show_error(error)
        elif status == "stopped":
            self.show_note("Stopped; the partial reply is kept.")
        self.tasks.spawn(self.actions_.after_turn(key))

    def _on_busy(self, key: int, busy: bool) -> None:
        if key == self.key():
            self.composer.set_busy(busy)
            self.stop_action.setEnabled(busy)

    def stop_current(self) -> None:
        if self.chat is not None:
            self.chat.stop(self.key())

    # --- drag and drop -------------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        mime = event.mimeData()
        if mime.hasUrls() or mime.hasImage() or mime.hasText():
            event.acceptProposedAction()
            self.overlay.show_over(self.splitter, targets=self.templates_.drop_targets(mime))

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        event.acceptProposedAction()
        self.overlay.hover(self.overlay.mapFrom(self, event.position().toPoint()))

    def dragLeaveEvent(self, event: QDragLeaveEvent) -> None:
        self.overlay.hide()

    def dropEvent(self, event: QDropEvent) -> None:
        template = self.overlay.target_at(self.overlay.mapFrom(self, event.position().toPoint()))
        self.overlay.hide()
        mime = event.mimeData()
        media = media_from_mime(mime)
        if media:
            self.attachments.add_mime(media)
            if template is not None:  # dropped on a pinned template: attach, then send
                self.templates_.use_slug(template)
        elif mime.hasText():
            self.composer.edit.insertPlainText(mime.text())
        else:
            self.show_error("Nothing that could be attached was dropped.")
            return
        event.acceptProposedAction()
        self.activateWindow()

    def receive_files(self, files: list[str]) -> None:
        """Files from a second `stepdesk FILE…`: attach them and come to the front."""
        if files:
            self.attachments.add_paths([Path(f) for f in files])
        self.showNormal()
        self.raise_()
        self.activateWindow()
        self.focus_composer()

    # --- shutdown ------------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:
        if self._shutdown_done:
            event.accept()
            self.closed.emit()
            return
        event.ignore()
        if not self._closing:
            self._closing = True
            self._geometry.setValue("geometry", self.saveGeometry())
            self._geometry.setValue("splitter", self.splitter.saveState())
            self._geometry.sync()
            self.statusBar().showMessage("Closing…")
            self._shutdown_task = asyncio.ensure_future(self._shutdown())

    async def _shutdown(self) -> None:
        """Cancel replies (partial text saved as stopped), close HTTP and SQLite, then close."""
        try:
            await asyncio.wait_for(self._shutdown_steps(), SHUTDOWN_BUDGET_S)
        except TimeoutError:
            log.warning("shutdown took longer than %.1f s", SHUTDOWN_BUDGET_S)
        finally:
            self._shutdown_done = True
            self.close()

    async def _shutdown_steps(self) -> None:
        if self.chat is not None:
            await self.chat.shutdown(SHUTDOWN_BUDGET_S * 0.6)
        await self.tasks.shutdown(SHUTDOWN_BUDGET_S * 0.2)
        if self.library is not None:
            await self.library.aclose()
