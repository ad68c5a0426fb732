"""The main window: sidebar | conversation + composer, status bar, menus, drops, shutdown.

Layout and wiring only. Built in two steps so it is on screen fast: `MainWindow()` creates
the widgets (no store, no HTTP, no Pillow, no Markdown); the composition root (`ui/app.py`)
opens the services after the first paint, builds the controllers and hands them over with
`use()`, which connects controller signals to widget setters and widget signals to controller
methods. The few flows that need a dialog (rename, delete, settings, files) live here as short
coroutines: the dialogs are the window's, the work is the controllers'.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QMimeData, QSettings, Qt, Signal
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDragEnterEvent,
    QDragLeaveEvent,
    QDragMoveEvent,
    QDropEvent,
    QGuiApplication,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMenu,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.safetext import one_line
from app.ui.controllers.session import SHUTDOWN_BUDGET_S
from app.ui.platform.app_icon import app_icon
from app.ui.style.icons import icon
from app.ui.style.look import Look
from app.ui.widgets.composer import Composer
from app.ui.widgets.conversation_view import ConversationView
from app.ui.widgets.drop_overlay import DropOverlay, media_from_mime
from app.ui.widgets.efforts_panel import EffortsPanel
from app.ui.widgets.sidebar import Sidebar
from app.ui.widgets.welcome import WelcomeScreen

if TYPE_CHECKING:
    import asyncio

    from app.config import Settings
    from app.ui.compare_wiring import CompareWiring
    from app.ui.controllers.attachments import AttachmentController
    from app.ui.controllers.conversations import Shown
    from app.ui.controllers.session import Controllers
    from app.ui.controllers.tasks import TaskSet
    from app.ui.dialogs.frame_preview import FramePreview
    from app.ui.dialogs.settings import SettingsDialog
    from app.ui.dialogs.template_flow import TemplateFlow

log = logging.getLogger(__name__)

MEDIA_FILTER = ("Images and videos (*.png *.jpg *.jpeg *.gif *.webp *.bmp *.tif *.tiff *.heic "
                "*.heif *.avif *.mp4 *.mov *.mkv *.webm *.avi);;All files (*)")


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
        settings_opened(object): a `SettingsDialog` about to open (others add sections).
        capture_requested(): Ctrl+Shift+S or a Capture button (the background service
            captures and calls `add_capture`).
        restore_requested(): File › Restore from… (the sync controller opens its dialog).
    """

    ready = Signal()
    conversation_shown = Signal(int)
    closed = Signal()
    settings_opened = Signal(object)
    capture_requested = Signal()
    restore_requested = Signal()

    def __init__(self, data_dir: Path, tasks: TaskSet, attachments: AttachmentController
                 ) -> None:
        super().__init__()
        self.setWindowTitle("Step Desk")
        self.setWindowIcon(app_icon())
        self.setAcceptDrops(True)
        self._geometry = QSettings(str(data_dir / "window.ini"), QSettings.Format.IniFormat)
        self.tasks = tasks
        tasks.set_error_handler(self.show_error)
        self.attachments = attachments
        self.controllers: Controllers | None = None
        self.template_flow: TemplateFlow | None = None
        self.frame_preview: FramePreview | None = None
        self.settings_dialog: SettingsDialog | None = None
        self.on_shutdown: Callable[[], Awaitable[None]] | None = None  # set by ui/app.py
        self.quit_work_s = 0.0  # seconds work at quit (sync on quit) may add to the budget
        # Set by the background service (ui/background.py): asked on close; True hides the
        # window to the tray instead of quitting.
        self.close_to_tray: Callable[[], bool] | None = None
        self._banner_mode = "key"
        self._shown_id: int | None = None
        self._closing = False
        self._shutdown_done = False
        self._shutdown_task: asyncio.Future[None] | None = None

        app = QApplication.instance()
        assert isinstance(app, QApplication)
        # The last look is applied before the first paint (no light flash before a dark
        # theme); the Settings choice confirms or changes it once the store is open.
        self.look = Look(app, appearance=str(self._geometry.value("appearance", "system")),
                         text_scale=float(str(self._geometry.value("text_scale", 1.0))))
        self.look.apply()
        self.look.text_scale_changed.connect(self._remember_text_scale)
        self.sidebar = Sidebar()
        self.sidebar.search.setAcceptDrops(False)
        self.view = ConversationView()
        self.view.setAccessibleName("Conversation")
        self.composer = Composer()
        self.banner = Banner()
        self.banner.button.clicked.connect(self._banner_clicked)

        self.sidebar_button = QToolButton()
        self.sidebar_button.setIcon(icon("panel-left"))
        self.sidebar_button.setProperty("role", "icon")
        self.sidebar_button.setAutoRaise(True)
        self.sidebar_button.setToolTip("Hide or show the sidebar (Ctrl+B)")
        self.sidebar_button.setAccessibleName("Toggle sidebar")
        self.sidebar_button.clicked.connect(self.toggle_sidebar)
        self.title_label = QLabel()
        self.title_label.setAccessibleName("Conversation title")
        self.title_label.setTextFormat(Qt.TextFormat.PlainText)
        header = QHBoxLayout()
        header.setContentsMargins(0, 0, 0, 0)
        header.addWidget(self.sidebar_button)
        header.addWidget(self.title_label, 1)

        right = QWidget()
        col = QVBoxLayout(right)
        col.setContentsMargins(0, 6, 6, 0)
        col.setSpacing(4)
        col.addLayout(header)
        col.addWidget(self.banner)
        self.efforts_panel = EffortsPanel()
        col.addWidget(self.efforts_panel)
        # The conversation, or the comparison view in its place while one is looked at.
        self.center = QStackedWidget()
        self.center.addWidget(self.view)
        self.welcome = WelcomeScreen()  # a new, empty conversation shows this instead
        self.welcome.attach_requested.connect(self.choose_files)
        self.welcome.capture_requested.connect(self.capture)
        self.welcome.key_requested.connect(self.open_key_settings)
        self.welcome.template_chosen.connect(self._welcome_template)
        self.center.addWidget(self.welcome)
        self.center.setCurrentWidget(self.welcome)
        col.addWidget(self.center, 1)
        col.addWidget(self.composer)
        self.compare: CompareWiring | None = None
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
        self._wire_attachments(attachments)
        self.composer.setEnabled(True)
        free = self.screen().availableGeometry()  # 1080p at 150 %: 720 logical pixels high
        self.resize(min(1100, int(free.width() * 0.95)), min(760, int(free.height() * 0.9)))
        self._restore_geometry()
        self.composer.edit.setFocus()

    # --- layout --------------------------------------------------------------------------
    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self.new_action = self._action(file_menu, "&New conversation", self.new_conversation,
                                       QKeySequence.StandardKey.New)
        self._action(file_menu, "&Attach files…", self.choose_files,
                     QKeySequence.StandardKey.Open)
        self._action(file_menu, "&Capture screen region", self.capture, "Ctrl+Shift+S")
        self.markup_captures = QAction("&Mark up captures before sending", self)
        self.markup_captures.setCheckable(True)  # read when a capture arrives
        self.markup_captures.setToolTip("Open each screen capture in the image editor first")
        file_menu.addAction(self.markup_captures)
        file_menu.addSeparator()
        self._action(file_menu, "&Settings…", self.open_settings, "Ctrl+,")
        self.restore_action = self._action(file_menu, "&Restore from…",
                                           self.restore_requested.emit)
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", self.close, QKeySequence.StandardKey.Quit)
        edit_menu = self.menuBar().addMenu("&Edit")
        self._action(edit_menu, "&Search messages", self.sidebar.focus_search, "Ctrl+K")
        self.stop_action = self._action(edit_menu, "S&top reply", self.stop_current, "Esc")
        self.stop_action.setEnabled(False)
        self._action(edit_menu, "Focus &message box", self.focus_composer, "Ctrl+L")
        self._action(edit_menu, "Use a &template…", self.open_template_picker, "Ctrl+T")
        self._action(edit_menu, "Com&pare efforts", self.compare_composed, "Ctrl+Shift+Return")
        view_menu = self.menuBar().addMenu("&View")
        self.sidebar_action = self._action(view_menu, "Hide &sidebar", self.toggle_sidebar,
                                           "Ctrl+B")
        view_menu.addSeparator()
        bigger = self._action(view_menu, "&Bigger text", self.bigger_text, "Ctrl+=")
        bigger.setShortcuts([QKeySequence("Ctrl+="), QKeySequence("Ctrl++")])
        self._action(view_menu, "S&maller text", self.smaller_text, "Ctrl+-")
        self._action(view_menu, "&Actual text size", self.actual_text_size, "Ctrl+0")
        help_menu = self.menuBar().addMenu("&Help")
        self._action(help_menu, "&Keyboard shortcuts", self.show_shortcuts, "Ctrl+/")
        self._action(help_menu, "&Copy diagnostics", self.copy_diagnostics)
        self._action(help_menu, "&About Step Desk", self.about)

    def _action(self, menu: QMenu, text: str, slot: Callable[[], object],
                shortcut: QKeySequence | QKeySequence.StandardKey | str | None = None
                ) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(partial(_call, slot))
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
        if str(self._geometry.value("sidebar_hidden", "false")).lower() == "true":
            self.set_sidebar_visible(False)

    # --- view: sidebar, text size, shortcuts ---------------------------------------------
    def set_sidebar_visible(self, visible: bool) -> None:
        self.sidebar.setVisible(visible)
        self.sidebar_action.setText("Hide &sidebar" if visible else "Show &sidebar")
        self._geometry.setValue("sidebar_hidden", not visible)
        if not visible and self.sidebar.isAncestorOf(self.focusWidget()):
            self.focus_composer()

    def toggle_sidebar(self) -> None:
        self.set_sidebar_visible(self.sidebar.isHidden())

    def bigger_text(self) -> None:
        self.look.step_text(+1)

    def smaller_text(self) -> None:
        self.look.step_text(-1)

    def actual_text_size(self) -> None:
        self.look.step_text(0)

    def _remember_text_scale(self, scale: float) -> None:
        self._geometry.setValue("text_scale", scale)

    def show_shortcuts(self) -> None:
        from app.ui.dialogs.shortcuts import ShortcutsSheet, shortcut_rows

        sheet = ShortcutsSheet(shortcut_rows(self.actions()), self)
        sheet.finished.connect(sheet.deleteLater)
        sheet.open()

    # --- wiring --------------------------------------------------------------------------
    def _wire_attachments(self, attachments: AttachmentController) -> None:
        """The tray and the attachment controller exist before the services (files given on
        the command line are prepared while the store opens)."""
        tray = self.composer.tray
        attachments.added.connect(tray.add_item)
        attachments.item_ready.connect(tray.set_ready)
        attachments.item_failed.connect(tray.set_failed)
        attachments.item_sending.connect(tray.set_sending)
        attachments.item_progress.connect(tray.set_progress)
        attachments.removed.connect(tray.remove_item)
        attachments.status.connect(self._upload_status)
        tray.remove_requested.connect(attachments.remove)
        tray.edit_requested.connect(attachments.edit)
        attachments.edit_opened.connect(self.open_image_editor)
        attachments.edit_failed.connect(self.show_error)
        self.composer.media_pasted.connect(attachments.add_mime)
        self.composer.attach_requested.connect(self.choose_files)
        self.composer.capture_requested.connect(self.capture)

    def use(self, controllers: Controllers) -> None:
        """Connect the controllers (the services are open)."""
        from app.ui.dialogs.template_flow import TemplateFlow

        self.controllers = c = controllers
        conv, turns, settings = c.conversations, c.turns, c.settings
        composer, sidebar, view = self.composer, self.sidebar, self.view

        composer.send_requested.connect(self.send)
        composer.stop_requested.connect(self.stop_current)
        composer.template_requested.connect(self.open_template_picker)
        composer.effort_changed.connect(conv.set_effort)
        composer.model_changed.connect(self.model_label.setText)
        composer.model_changed.connect(settings.set_model)
        sidebar.conversation_activated.connect(conv.open)
        sidebar.new_requested.connect(self.new_conversation)
        sidebar.rename_requested.connect(self.rename)
        sidebar.delete_requested.connect(self.delete)
        sidebar.pin_requested.connect(conv.pin)
        sidebar.search_requested.connect(conv.search)
        sidebar.hit_activated.connect(conv.open_hit)
        sidebar.files_requested.connect(conv.refresh_uploads)
        sidebar.delete_files_requested.connect(self.delete_files)
        view.retry_requested.connect(conv.regenerate)
        view.regenerate_requested.connect(conv.regenerate)
        view.continue_requested.connect(conv.continue_reply)
        view.edit_requested.connect(conv.edit)
        view.attachment_activated.connect(self.open_attachment)
        if c.image_edits is not None:
            view.attachment_edit_requested.connect(c.image_edits.edit_again)
            c.image_edits.opened.connect(self.open_sent_image_editor)
            c.image_edits.failed.connect(self.show_error)
        view.version_selected.connect(conv.select_version)
        view.timestamp_activated.connect(self.show_frame)
        view.copy_text.connect(self._copied)

        conv.list_changed.connect(sidebar.set_conversations)
        conv.list_changed.connect(self._refresh_title)
        conv.shown.connect(self._show)
        conv.reply_started.connect(view.begin_reply)
        conv.reply_started.connect(self._show_view)
        conv.reasoning.connect(view.append_reasoning)
        conv.content.connect(view.append_content)
        conv.usage.connect(view.set_usage)
        conv.reply_finished.connect(self._reply_finished)
        conv.message_replaced.connect(view.replace_message)
        conv.revealed.connect(view.reveal)
        conv.tokens.connect(self.tokens_label.setText)
        conv.busy.connect(self._set_busy)
        conv.search_results.connect(sidebar.set_search_results)
        conv.uploads.connect(sidebar.set_uploads)
        conv.edit_started.connect(self._edit_started)
        conv.edit_ended.connect(self._edit_ended)
        conv.key_needed.connect(self._key_needed)
        conv.note.connect(self.show_note)
        conv.error.connect(self.show_error)

        turns.streaming.connect(c.attachments.sent)
        turns.turn_ended.connect(c.attachments.sent)
        turns.upload_progress.connect(c.attachments.upload_progress)
        turns.notice.connect(self._notice)

        settings.applied.connect(self._apply_settings)
        settings.key_missing.connect(self._key_missing)
        settings.key_present.connect(self._key_present)
        settings.connection.connect(self._connection)
        settings.models.connect(self._models)
        settings.note.connect(self.show_note)
        c.templates.note.connect(self.show_note)
        c.templates.error.connect(self.show_error)

        if c.compare is not None:
            from app.ui.compare_wiring import CompareWiring

            self.compare = CompareWiring(c, self.center, composer, view, self.efforts_panel)
            self.conversation_shown.connect(self.compare.conversation_shown)

        self.template_flow = flow = TemplateFlow(c.templates, composer, c.attachments,
                                                 self.tasks, self)
        c.templates.changed.connect(self.welcome.set_templates)
        flow.send_requested.connect(self._send_composed)

    # --- controller → widgets ------------------------------------------------------------
    def _show(self, shown: Shown) -> None:
        from app.ui.controllers.turns import NEW

        self._shown_id = shown.conversation_id
        self._refresh_title()
        self.view.show_conversation(shown.messages, shown.versions, shown.thumbnail_for)
        if self.center.currentWidget() in (self.view, self.welcome):  # not a comparison
            self.center.setCurrentWidget(self.view if shown.messages else self.welcome)
        self.composer.set_effort(shown.effort)
        self._set_busy(shown.busy)
        self.sidebar.select(shown.conversation_id)
        if shown.conversation_id is None:
            self.focus_composer()
        self.conversation_shown.emit(NEW if shown.conversation_id is None
                                     else shown.conversation_id)

    def _show_view(self, *_reply: object) -> None:
        if self.center.currentWidget() is self.welcome:
            self.center.setCurrentWidget(self.view)

    def _welcome_template(self, slug: str) -> None:
        if self.template_flow is not None:
            self.tasks.spawn(self._use_template(slug), "templates")

    async def _use_template(self, slug: str) -> None:
        if self.template_flow is not None:
            self.template_flow.use(await self.template_flow.templates.template(slug))

    def open_key_settings(self) -> None:
        """Settings, with the key field focused (the welcome screen's "Set API key")."""
        self.open_settings()
        if self.settings_dialog is not None:
            self.settings_dialog.key.setFocus(Qt.FocusReason.OtherFocusReason)

    def _refresh_title(self, *_changed: object) -> None:
        """The open conversation's title above the view (it arrives after the first turn)."""
        from app.safetext import one_line

        title = None
        if self.controllers is not None and self._shown_id is not None:
            title = self.controllers.conversations.title_of(self._shown_id)
        text = one_line(title) if title else "New conversation"
        metrics = self.title_label.fontMetrics()
        self.title_label.setText(metrics.elidedText(text, Qt.TextElideMode.ElideRight,
                                                    max(120, self.title_label.width())))
        self.title_label.setToolTip(text)

    def _reply_finished(self, message_id: int, status: str, error: str) -> None:
        self.view.finish_reply(message_id, status, error or None)

    def _set_busy(self, busy: bool) -> None:
        self.composer.set_busy(busy)
        self.stop_action.setEnabled(busy)

    def _notice(self, key: int, text: str) -> None:
        if self.controllers is not None and key == self.controllers.conversations.key:
            self.show_note(text)

    def _upload_status(self, text: str) -> None:
        if text:
            self.statusBar().showMessage(one_line(text))
        else:
            self.statusBar().clearMessage()

    def _apply_settings(self, settings: Settings) -> None:
        self.model_label.setText(settings.model)
        self.view.set_thinking_expanded(settings.show_thinking_expanded)
        self.apply_appearance(settings.appearance)
        known = self.controllers.settings.known_models if self.controllers else []
        self.composer.set_models(known or [settings.model], settings.model)

    def _models(self, models: list[str]) -> None:
        self.composer.set_models(models, self.composer.current_model())

    def _connection(self, text: str, tooltip: str) -> None:
        self.connection_label.setText(one_line(text))
        self.connection_label.setToolTip(one_line(tooltip))

    def _key_missing(self, text: str) -> None:
        self.welcome.set_key_missing(True)
        self._banner_mode = "key"
        self.banner.show_message(text, "Set API key")

    def _key_present(self) -> None:
        self.welcome.set_key_missing(False)
        if self._banner_mode == "key":
            self.banner.hide()

    def _key_needed(self) -> None:
        if self.controllers is not None:
            self.controllers.settings.update_key_state()
        self.open_settings()

    def _edit_started(self, text: str) -> None:
        self.composer.set_text(text)
        self._banner_mode = "edit"
        self.banner.show_message("Editing an earlier message: Enter sends it as a new "
                                 "version (the old one is kept).", "Cancel edit")
        self.focus_composer()

    def _edit_ended(self) -> None:
        self._banner_mode = "key"
        self.banner.hide()
        self.composer.set_text("")
        if self.controllers is not None:
            self.controllers.settings.update_key_state()

    def _banner_clicked(self) -> None:
        if self._banner_mode == "edit" and self.controllers is not None:
            self.controllers.conversations.cancel_edit()
        else:
            self.open_settings()

    def _copied(self, _text: str) -> None:
        self.show_note("Copied.")

    def focus_composer(self) -> None:
        self.composer.edit.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def apply_appearance(self, appearance: str) -> None:
        """Light, dark or the system's scheme (Settings → Appearance), remembered for the
        next start's first paint."""
        self._geometry.setValue("appearance", appearance)
        self.look.set_appearance(appearance)

    def show_error(self, text: str) -> None:
        self.statusBar().showMessage(f"⚠ {one_line(text)}", 12000)

    def show_note(self, text: str) -> None:
        self.statusBar().showMessage(one_line(text), 6000)

    def show_sync_status(self, text: str, failing: bool) -> None:
        """The sync schedule's sentence; a failure keeps its ⚠ until a sync succeeds."""
        label = getattr(self, "sync_label", None)
        if label is None:
            label = self.sync_label = QLabel()
            label.setAccessibleName("Sync")
            self.statusBar().insertPermanentWidget(0, label)
        shown = one_line(text)
        label.setText(f"⚠ {shown}" if failing and shown else shown)
        label.setToolTip(text)
        label.setVisible(bool(text))

    def show_startup_error(self, text: str) -> None:
        self.banner.show_message(text, None)
        self.connection_label.setText("Not started")

    # --- commands (menus, composer) --------------------------------------------------------
    def _started(self) -> Controllers | None:
        if self.controllers is None:
            self.show_note("Step Desk is still starting…")
        return self.controllers

    def new_conversation(self) -> None:
        if (c := self._started()) is not None:
            c.conversations.new_conversation()

    def send(self, text: str) -> None:
        c = self._started()
        if c is None:
            return
        composer = self.composer
        template = composer.template
        if c.conversations.send(text, composer.current_effort(), composer.current_model(),
                                template):
            composer.set_text("")
            if template is not None:
                composer.set_template(None)

    def compare_composed(self) -> None:
        """Ctrl+Shift+Enter: compare the composer's question at low, medium and high."""
        if self._started() is not None and self.compare is not None:
            self.compare.compare_composed()

    def _send_composed(self) -> None:
        self.send(self.composer.text())

    def stop_current(self) -> None:
        if self.controllers is not None:
            self.controllers.conversations.stop()

    def open_template_picker(self) -> None:
        if self._started() is not None and self.template_flow is not None:
            self.template_flow.open_picker()

    def choose_files(self) -> None:
        from PySide6.QtWidgets import QFileDialog  # the dialogs' types: made when first used

        dialog = QFileDialog(self, "Attach images or videos")
        dialog.setFileMode(QFileDialog.FileMode.ExistingFiles)
        dialog.setNameFilter(MEDIA_FILTER)
        dialog.filesSelected.connect(self._files_chosen)
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()

    def _files_chosen(self, files: list[str]) -> None:
        self.attachments.add_paths([Path(f) for f in files])

    def capture(self) -> None:
        """Ctrl+Shift+S: the background service runs the same capture session as the global
        shortcut and hands the region back to `add_capture`."""
        self.capture_requested.emit()

    def add_capture(self, data: bytes) -> None:
        self.attachments.add_bytes(data, self.attachments.screenshot_name(),
                                   then_edit=self.markup_captures.isChecked())

    def open_image_editor(self, key: int, session: object, name: str, keep: bool) -> None:
        """`AttachmentController.edit_opened`: the editor for an item in the tray."""
        from app.ui.dialogs.image_editor import open_image_editor
        from app.ui.widgets.edit_canvas import OpenedImage

        assert isinstance(session, OpenedImage)
        editor = open_image_editor(self, session, name, keep,
                                   partial(self.attachments.apply_edit, key))
        editor.editsDiscarded.connect(partial(self.attachments.edit_closed, key))

    def open_sent_image_editor(self, token: int, session: object, name: str,
                               keep: bool) -> None:
        """`SentImageEdits.opened`: "Edit again" on a sent image; using it resends the turn."""
        from app.ui.dialogs.image_editor import open_image_editor
        from app.ui.widgets.edit_canvas import OpenedImage

        edits = self.controllers.image_edits if self.controllers else None
        if edits is None or not isinstance(session, OpenedImage):
            return
        editor = open_image_editor(self, session, name, keep, partial(edits.apply, token))
        editor.editsDiscarded.connect(partial(edits.forget, token))

    def rename(self, conversation_id: int, title: str) -> None:
        if self._started() is not None:
            self.tasks.spawn(self._rename(conversation_id, title), "rename")

    async def _rename(self, conversation_id: int, title: str) -> None:
        from PySide6.QtWidgets import QInputDialog

        from app.ui.dialogs.ask import ask

        dialog = QInputDialog(self)
        dialog.setWindowTitle("Rename conversation")
        dialog.setLabelText("Title:")
        dialog.setTextValue(title)
        accepted = await ask(dialog)
        dialog.deleteLater()
        if accepted and self.controllers is not None:
            await self.controllers.conversations.rename(conversation_id, dialog.textValue())

    def delete(self, conversation_id: int) -> None:
        if self._started() is not None:
            self.tasks.spawn(self._delete(conversation_id), "delete")

    async def _delete(self, conversation_id: int) -> None:
        from app.ui.dialogs.ask import confirm

        assert self.controllers is not None
        conv = self.controllers.conversations
        title = conv.title_of(conversation_id)
        if title is None:
            return
        file_ids = await conv.files_only_in(conversation_id)
        chosen, also = await confirm(
            self, "Delete conversation", f"Delete “{title}”?",
            "Its messages and attachments are removed from this computer.",
            check=(f"Also delete its {len(file_ids)} uploaded file(s) from the StepFun server "
                   "(no other conversation uses them)") if file_ids else None)
        if chosen:
            await conv.delete(conversation_id, file_ids if also else [])

    def delete_files(self, file_ids: list[str]) -> None:
        if self._started() is not None:
            self.tasks.spawn(self._delete_files(file_ids), "delete-files")

    async def _delete_files(self, file_ids: list[str]) -> None:
        from app.ui.dialogs.ask import confirm

        chosen, _ = await confirm(
            self, "Delete uploaded files",
            f"Delete {len(file_ids)} file(s) from the StepFun server?",
            "Conversations that used them upload them again when needed.")
        if chosen and self.controllers is not None:
            await self.controllers.conversations.delete_uploads(file_ids)

    def open_attachment(self, sha256: str) -> None:
        c = self._started()
        path = c.conversations.attachment_path(sha256) if c else None
        if path is None:
            self.show_error("That attachment is no longer stored on this computer.")
            return
        from PySide6.QtCore import QUrl
        from PySide6.QtGui import QDesktopServices

        QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))

    def show_frame(self, message_id: int, seconds: float) -> None:
        """A timestamp clicked in an answer: the frame of its video at that time."""
        from app.ui.dialogs.frame_preview import FramePreview

        c = self._started()
        video = self.view.video_for(message_id)
        path = c.conversations.attachment_path(video.sha256) if c and video else None
        if path is None or video is None:
            self.show_error("That video is no longer stored on this computer.")
            return
        if self.frame_preview is None:
            self.frame_preview = FramePreview(self)
        self.tasks.spawn(self.frame_preview.show_frame(path, seconds, video.original_name),
                         "frame")

    def open_settings(self) -> None:
        c = self._started()
        if c is None:
            return
        if c.settings.library.connecting:
            self.show_note("Step Desk is still connecting…")
            return
        from app.ui.dialogs.settings import SettingsDialog

        source, problem = c.settings.key_source()
        dialog = SettingsDialog(c.settings.settings, source, problem, c.settings.known_models,
                                self)
        dialog.saved.connect(c.settings.save)
        dialog.test_requested.connect(c.settings.test)
        c.settings.test_result.connect(dialog.show_test_result)
        dialog.finished.connect(partial(self._settings_closed, dialog))
        self.settings_dialog = dialog
        self.settings_opened.emit(dialog)  # the background service adds its capture section
        dialog.open()

    def _settings_closed(self, dialog: SettingsDialog, _result: int) -> None:
        if self.controllers is not None:
            self.controllers.settings.test_result.disconnect(dialog.show_test_result)
        if self.settings_dialog is dialog:
            self.settings_dialog = None
        dialog.deleteLater()

    def copy_diagnostics(self) -> None:
        c = self.controllers
        if c is not None:
            text = c.settings.diagnostics(c.turns.last_trace_id)
        else:
            from app.ui.platform.diagnostics import diagnostics

            text = diagnostics(None, None)
        QGuiApplication.clipboard().setText(text)
        self.show_note("Diagnostics copied to the clipboard (they never include the key).")

    def about(self) -> None:
        from PySide6.QtWidgets import QMessageBox

        from app import __version__

        box = QMessageBox(QMessageBox.Icon.Information, "About Step Desk",
                          f"Step Desk {__version__}\nA desktop client for StepFun's "
                          "step-3.7-flash: show it images, videos and screenshots.",
                          parent=self)
        box.finished.connect(box.deleteLater)
        box.open()

    # --- drag and drop -------------------------------------------------------------------
    def drop_targets(self, mime: QMimeData) -> list[tuple[str, str]]:
        return self.template_flow.drop_targets(mime) if self.template_flow else []

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        mime = event.mimeData()
        if mime.hasUrls() or mime.hasImage() or mime.hasText():
            event.acceptProposedAction()
            self.overlay.show_over(self.splitter, targets=self.drop_targets(mime))

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
            if template is not None and self.template_flow is not None:
                self.template_flow.use_slug(template)  # dropped on a pinned template: send
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
        if not self._closing and self.close_to_tray is not None and self.close_to_tray():
            self.hide()
            return
        if not self._closing:
            self._closing = True
            self._geometry.setValue("geometry", self.saveGeometry())
            self._geometry.setValue("splitter", self.splitter.saveState())
            self._geometry.sync()
            self.statusBar().showMessage("Closing…")
            import asyncio  # the window is painted before asyncio is imported (first_paint)

            self._shutdown_task = asyncio.ensure_future(self._shutdown())

    async def _shutdown(self) -> None:
        """The composition root's shutdown (replies saved, HTTP and SQLite closed), bounded."""
        import asyncio

        try:
            if self.on_shutdown is not None:
                await asyncio.wait_for(self.on_shutdown(), SHUTDOWN_BUDGET_S + self.quit_work_s)
            else:
                await asyncio.wait_for(self.tasks.shutdown(SHUTDOWN_BUDGET_S), SHUTDOWN_BUDGET_S)
        except TimeoutError:
            log.warning("shutdown took longer than %.1f s", SHUTDOWN_BUDGET_S)
        finally:
            self._shutdown_done = True
            self.close()


def _call(slot: Callable[[], object], _checked: bool = False) -> None:
    """A menu action's `triggered(bool)` calls a command that takes no argument."""
    slot()
