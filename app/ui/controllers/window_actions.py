"""What the window's menus, sidebar and composer ask for, as tasks on the `Library`.

Every handler either starts a turn through the `ChatController` or spawns one task in the
window's `TaskSet`; dialogs are opened with `open()` and awaited through futures, never with
`exec()` (a nested modal loop inside a coroutine breaks qasync).
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QUrl
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import QCheckBox, QFileDialog, QInputDialog, QMessageBox

from app.ui.controllers.turns import NEW

if TYPE_CHECKING:
    from app.ui.dialogs.settings import SettingsValues
    from app.ui.main_window import MainWindow

log = logging.getLogger(__name__)

MEDIA_FILTER = ("Images and videos (*.png *.jpg *.jpeg *.gif *.webp *.bmp *.tif *.tiff *.heic "
                "*.heif *.avif *.mp4 *.mov *.mkv *.webm *.avi);;All files (*)")


async def ask(dialog: QObject, signal_name: str = "finished") -> object:
    """Open a dialog with `open()` and await its result signal."""
    future: asyncio.Future[object] = asyncio.get_running_loop().create_future()
    getattr(dialog, signal_name).connect(
        lambda *args: future.done() or future.set_result(args[0] if args else None))
    dialog.open()
    return await future


class WindowActions(QObject):
    """The window's commands. Holds the edit state and the messages currently shown."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.w = window
        self.shown_messages: dict[int, object] = {}
        self.editing: int | None = None
        self._show_seq = 0
        self._search_seq = 0
        self._models: list[str] = []
        self._settings_dialog = None
        self._frame_preview = None
        self._conversation_effort: str | None = None  # see send(): a template's turn
        self._banner_mode = "key"
        window.banner.button.clicked.connect(self._banner_clicked)

    # --- helpers -------------------------------------------------------------------------
    def _ready(self) -> bool:
        if self.w.library is None:
            self.w.show_note("Step Desk is still starting…")
            return False
        return True

    def _connected(self) -> bool:
        """The key lookup has finished (it runs right after the first conversation shows)."""
        if not self._ready() or self.w.library.services.key is None:
            self.w.show_note("Step Desk is still connecting…")
            return False
        return True

    def spawn(self, coro, name: str = "") -> None:
        self.w.tasks.spawn(coro, name)

    def update_key_state(self) -> None:
        lib = self.w.library
        if lib is None:
            return
        if not lib.has_key:
            self._banner_mode = "key"
            problem = lib.services.key.keychain_problem if lib.services.key else None
            text = ("Welcome to Step Desk! Add your StepFun API key to start asking about "
                    "images and videos.")
            if problem:
                text += f" ({problem})"
            self.w.banner.show_message(text, "Set API key")
            self.w.connection_label.setText("No API key")
        else:
            if self._banner_mode == "key":
                self.w.banner.hide()
            self.w.connection_label.setText("Connecting…")
            self.spawn(self.check_connection(), "models")

    async def check_connection(self) -> None:
        from app.api.errors import ApiError, AuthError

        lib = self.w.library
        assert lib is not None
        try:
            models = await lib.models()
        except AuthError as exc:
            self.w.connection_label.setText("Key rejected")
            self.w.connection_label.setToolTip(str(exc))
            return
        except ApiError as exc:
            self.w.connection_label.setText("Offline")
            self.w.connection_label.setToolTip(str(exc))
            return
        self._models = models
        self.w.connection_label.setText("Connected")
        self.w.connection_label.setToolTip(lib.services.settings.base_url)
        self.w.composer.set_models(models, self.w.composer.current_model())

    def _banner_clicked(self) -> None:
        if self._banner_mode == "edit":
            self.cancel_edit()
        else:
            self.open_settings()

    def show_tokens(self, last: int | None = None) -> None:
        messages = [m for m in self.shown_messages.values() if m.role == "assistant"]
        total = sum((m.prompt_tokens or 0) + (m.completion_tokens or 0) for m in messages)
        if last is None:
            last = next((m.completion_tokens or 0 for m in reversed(messages)), 0)
        self.w.tokens_label.setText(f"Last answer {last:,} tokens · conversation {total:,} tokens"
                                    if messages else "")

    # --- conversations -------------------------------------------------------------------
    async def refresh_list(self) -> None:
        lib = self.w.library
        if lib is not None:
            self.w.sidebar.set_conversations(await lib.conversations(), self.w.current)

    def open_conversation(self, conversation_id: int) -> None:
        if self._ready() and conversation_id != self.w.current:
            self.spawn(self.show_conversation(conversation_id), "open")

    def open_hit(self, conversation_id: int, message_id: int) -> None:
        """A search hit: open its conversation and scroll to the message."""
        if self._ready():
            self.spawn(self._open_hit(conversation_id, message_id), "open")

    async def _open_hit(self, conversation_id: int, message_id: int) -> None:
        if conversation_id != self.w.current:
            await self.show_conversation(conversation_id)
        if not self.w.view.reveal(message_id):  # an older version, not on the shown path
            self.w.show_note("That match is in an earlier version of a message.")

    async def show_conversation(self, conversation_id: int, remember: bool = True) -> None:
        lib = self.w.library
        assert lib is not None
        self._show_seq += 1
        seq = self._show_seq
        data = await lib.load(conversation_id)
        if seq != self._show_seq:
            return  # the user already moved on
        if data is None:
            await self.refresh_list()
            self.new_conversation()
            return
        w = self.w
        w.current = conversation_id
        self.shown_messages = {m.id: m for m in data.messages}
        w.view.show_conversation(data.messages, data.versions, lib.services.blobs.thumbnail_path)
        w.attach_live(conversation_id)
        busy = w.chat is not None and w.chat.is_busy(conversation_id)
        w.composer.set_busy(busy)
        w.stop_action.setEnabled(busy)
        w.composer.set_effort(data.conversation.effort or lib.services.settings.effort)
        w.sidebar.select(conversation_id)
        self.show_tokens()
        w.conversation_shown.emit(conversation_id)
        if remember:
            await lib.remember_current(conversation_id)

    def new_conversation(self) -> None:
        w = self.w
        self._show_seq += 1
        self.cancel_edit()
        w.current = None
        w._live.clear()
        self.shown_messages = {}
        w.view.clear()
        w.sidebar.select(None)
        busy = w.chat is not None and w.chat.is_busy(NEW)
        w.composer.set_busy(busy)
        w.stop_action.setEnabled(busy)
        if w.library is not None:
            w.composer.set_effort(w.library.services.settings.effort)
            self.spawn(w.library.remember_current(None))
        self.show_tokens()
        w.focus_composer()
        w.conversation_shown.emit(NEW)

    async def after_new_conversation(self, conversation_id: int) -> None:
        effort, self._conversation_effort = self._conversation_effort, None
        if effort is not None and self.w.library is not None:  # (before the view loads it)
            await self.w.library.services.store.set_conversation_effort(conversation_id, effort)
        await self.refresh_list()
        if self.w.library is not None and self.w.current == conversation_id:
            await self.w.library.remember_current(conversation_id)

    async def after_turn(self, key: int) -> None:
        await self.refresh_list()
        if key == self.w.current and key != NEW:
            await self.show_conversation(key, remember=False)

    def rename(self, conversation_id: int, title: str) -> None:
        self.spawn(self._rename(conversation_id, title))

    async def _rename(self, conversation_id: int, title: str) -> None:
        dialog = QInputDialog(self.w)
        dialog.setWindowTitle("Rename conversation")
        dialog.setLabelText("Title:")
        dialog.setTextValue(title)
        if await ask(dialog) and dialog.textValue().strip() and self.w.library:
            await self.w.library.rename(conversation_id, dialog.textValue())
            await self.refresh_list()

    def pin(self, conversation_id: int, pinned: bool) -> None:
        if self._ready():
            self.spawn(self._pin(conversation_id, pinned))

    async def _pin(self, conversation_id: int, pinned: bool) -> None:
        await self.w.library.set_pinned(conversation_id, pinned)
        await self.refresh_list()

    def delete(self, conversation_id: int) -> None:
        if self._ready():
            self.spawn(self._delete(conversation_id), "delete")

    async def _delete(self, conversation_id: int) -> None:
        w, lib = self.w, self.w.library
        conversation = await lib.services.store.get_conversation(conversation_id)
        if conversation is None:
            return
        file_ids = await lib.files_only_in(conversation_id)
        box = QMessageBox(QMessageBox.Icon.Question, "Delete conversation",
                          f"Delete “{conversation.title}”?", parent=w)
        box.setInformativeText("Its messages and attachments are removed from this computer.")
        remove = box.addButton("Delete", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        also = None
        if file_ids:
            also = QCheckBox(f"Also delete its {len(file_ids)} uploaded file(s) from the "
                             "StepFun server (no other conversation uses them)")
            also.setChecked(True)
            box.setCheckBox(also)
        await ask(box)
        if box.clickedButton() is not remove:
            return
        if w.chat is not None and w.chat.is_busy(conversation_id):
            w.chat.stop(conversation_id)
            await asyncio.sleep(0.05)
        in_flight = {m.sha256 for m in w.attachments.ready()}
        problems = await lib.delete_conversation(
            conversation_id, file_ids if also is not None and also.isChecked() else [],
            in_flight)
        if w.current == conversation_id:
            self.new_conversation()
        await self.refresh_list()
        if problems:
            w.show_error("Some files could not be deleted from the server: " + problems[0])
        else:
            w.show_note("Conversation deleted.")

    # --- search and files ----------------------------------------------------------------
    def search(self, text: str) -> None:
        if self._ready():
            self._search_seq += 1
            self.spawn(self._search(text, self._search_seq), "search")

    async def _search(self, text: str, seq: int) -> None:
        hits = await self.w.library.search(text) if text.strip() else []
        if seq == self._search_seq:
            self.w.sidebar.set_search_results(text, hits)

    def refresh_files(self) -> None:
        if self._ready():
            self.spawn(self._refresh_files(), "uploads")

    async def _refresh_files(self) -> None:
        lib = self.w.library
        note = None if lib.has_key else "Set an API key to see uploaded files."
        self.w.sidebar.set_uploads(await lib.uploads(), note)

    def delete_files(self, file_ids: list[str]) -> None:
        if self._ready():
            self.spawn(self._delete_files(file_ids), "delete-files")

    async def _delete_files(self, file_ids: list[str]) -> None:
        box = QMessageBox(QMessageBox.Icon.Question, "Delete uploaded files",
                          f"Delete {len(file_ids)} file(s) from the StepFun server?",
                          parent=self.w)
        box.setInformativeText("Conversations that used them upload them again when needed.")
        remove = box.addButton("Delete", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        await ask(box)
        if box.clickedButton() is not remove:
            return
        problems = await self.w.library.delete_uploads(file_ids)
        if problems:
            self.w.show_error(problems[0])
        await self._refresh_files()

    # --- turns ---------------------------------------------------------------------------
    def send(self, text: str) -> None:
        w = self.w
        if not self._connected() or w.chat is None:
            return
        if not w.library.has_key:
            self.update_key_state()
            self.open_settings()
            return
        if w.attachments.preparing():
            w.show_note("Attachments are still being prepared…")
            return
        problem = w.attachments.limit_problem()
        if problem:
            w.show_error(problem)
            return
        text = text.strip()
        effort, model = w.composer.current_effort(), w.composer.current_model()
        if self.editing is not None and w.current is not None:
            if not text:
                return
            started = w.chat.edit_and_resend(w.current, self.editing, text, effort=effort)
            if started:
                self.cancel_edit()
                w.composer.set_text("")
            return
        template = w.composer.template
        if template is not None:  # its effort, for this turn only; its media, or nothing
            problem = template.media_problem([m.kind for m in w.attachments.ready()])
            if problem:
                w.show_error(f"{problem} Drop, paste or attach it, then send.")
                return
            if w.current is None:  # the new conversation keeps the selector's effort
                self._conversation_effort = effort
            effort = template.effort
        if not text and not w.attachments.ready():
            return
        media = w.attachments.take_for_send()
        title = None
        if template is not None:
            from app.chat import template_title

            own_words = text.removeprefix(template.prompt.strip()).strip()
            title = template_title(template.name, own_words, [m.original_name for m in media])
        if w.chat.send(w.current, text, media, effort=effort, model=model, title=title):
            w.composer.set_text("")
            if template is not None:
                w.composer.set_template(None)
                w.show_note(f"{template.name}: sent with effort {template.effort.title()} "
                            "(template).")

    def regenerate(self, assistant_id: int) -> None:
        w = self.w
        if self._connected() and w.current is not None and w.library.has_key:
            w.chat.regenerate(w.current, assistant_id)

    def continue_reply(self, assistant_id: int) -> None:
        w = self.w
        if self._connected() and w.current is not None and w.library.has_key:
            w.chat.continue_reply(w.current, assistant_id)

    def edit(self, user_id: int) -> None:
        message = self.shown_messages.get(user_id)
        if message is None:
            return
        self.editing = user_id
        self.w.composer.set_text(message.content)
        self._banner_mode = "edit"
        self.w.banner.show_message("Editing an earlier message: Enter sends it as a new "
                                   "version (the old one is kept).", "Cancel edit")
        self.w.focus_composer()

    def cancel_edit(self) -> None:
        if self.editing is None:
            return
        self.editing = None
        self._banner_mode = "key"
        self.w.banner.hide()
        self.w.composer.set_text("")
        self.update_key_state()

    def effort_changed(self, effort: str) -> None:
        if self._ready():
            self.spawn(self.w.library.set_effort(self.w.current, effort))

    def model_changed(self, model: str) -> None:
        self.w.model_label.setText(model)
        if self._ready():
            self.spawn(self.w.library.services.store.set_setting("model", model))

    def select_version(self, message_id: int) -> None:
        if self._ready():
            self.spawn(self._select_version(message_id), "version")

    async def _select_version(self, message_id: int) -> None:
        current = self.w.current
        for message in await self.w.library.version_view(message_id):
            if self.w.current != current or message.conversation_id != current:
                return
            self.shown_messages[message.id] = message
            self.w.view.replace_message(message)

    def open_attachment(self, sha256: str) -> None:
        lib = self.w.library
        path = lib.services.blobs.find(sha256) if lib else None
        if path is None:
            self.w.show_error("That attachment is no longer stored on this computer.")
            return
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))

    def show_frame(self, message_id: int, seconds: float) -> None:
        """A timestamp clicked in an answer: the frame of its video at that time."""
        from app.ui.dialogs.frame_preview import FramePreview

        lib = self.w.library
        video = self.w.view.video_for(message_id)
        path = lib.services.blobs.find(video.sha256) if lib and video else None
        if path is None:
            self.w.show_error("That video is no longer stored on this computer.")
            return
        if self._frame_preview is None:
            self._frame_preview = FramePreview(self.w)
        self.spawn(self._frame_preview.show_frame(path, seconds, video.original_name), "frame")

    # --- attach, capture, settings, help -------------------------------------------------
    def choose_files(self) -> None:
        dialog = QFileDialog(self.w, "Attach images or videos")
        dialog.setFileMode(QFileDialog.FileMode.ExistingFiles)
        dialog.setNameFilter(MEDIA_FILTER)
        dialog.filesSelected.connect(
            lambda files: self.w.attachments.add_paths([Path(f) for f in files]))
        dialog.open()

    def capture(self) -> None:
        self.spawn(self._capture(), "capture")

    async def _capture(self) -> None:
        from app.ui.platform.capture import CaptureError, capture_region

        try:
            data = await capture_region(self.w)
        except CaptureError as exc:
            self.w.show_error(str(exc))
            return
        if data:
            self.w.attachments.add_bytes(data, self.w.attachments.screenshot_name())

    def open_settings(self) -> None:
        if not self._connected():
            return
        from app.ui.dialogs.settings import SettingsDialog

        lib = self.w.library
        key = lib.services.key
        dialog = SettingsDialog(lib.services.settings, key.source if key else "none",
                                key.keychain_problem if key else None, self._models, self.w)
        dialog.saved.connect(lambda values: self.spawn(self._save_settings(values)))
        dialog.test_requested.connect(lambda values: self.spawn(self._test(dialog, values)))
        dialog.finished.connect(dialog.deleteLater)
        self._settings_dialog = dialog
        dialog.open()

    async def _test(self, dialog, values: SettingsValues) -> None:
        ok, text = await self.w.library.test_connection(values)
        dialog.show_test_result(ok, text)

    async def _save_settings(self, values: SettingsValues) -> None:
        lib = self.w.library
        note = await lib.save_settings(values)
        settings = lib.services.settings
        self.w.attachments.set_context(lib.services.blobs.tmp_dir, settings.proxy_for)
        self.w.model_label.setText(settings.model)
        self.w.view.set_thinking_expanded(settings.show_thinking_expanded)
        self.w.apply_appearance(settings.appearance)
        self.w.composer.set_models(self._models, settings.model)
        if note:
            self.w.show_note(note)
        self.update_key_state()

    def copy_diagnostics(self) -> None:
        from app.ui.app import diagnostics

        text = diagnostics(self.w)
        QGuiApplication.clipboard().setText(text)
        self.w.show_note("Diagnostics copied to the clipboard (they never include the key).")

    def about(self) -> None:
        from app import __version__

        box = QMessageBox(QMessageBox.Icon.Information, "About Step Desk",
                          f"Step Desk {__version__}\nA desktop client for StepFun's "
                          "step-3.7-flash: show it images, videos and screenshots.",
                          parent=self.w)
        box.finished.connect(box.deleteLater)
        box.open()
