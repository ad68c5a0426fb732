"""Templates in the window: the picker, the editor, using a template from the composer.

Picking a template with media attached (or still being prepared) sends at once; without media
it fills the composer with the template's prompt and says which media to add. The composer
shows the template's effort ("High (template)") until the turn is sent or the template is
dismissed; the effort selector itself never changes. The picker's New button and right-click
menu manage the user's templates (built-ins can only be duplicated and pinned). All catalogue
work goes through the `TemplatesController`.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from PySide6.QtCore import QMimeData, QObject, Signal
from PySide6.QtWidgets import QWidget

from app.ui.controllers.templates import dragged_kinds, media_hint
from app.ui.dialogs.ask import confirm
from app.ui.dialogs.template_picker import TemplatePicker

if TYPE_CHECKING:
    from app.templates.model import Template
    from app.ui.controllers.attachments import AttachmentController
    from app.ui.controllers.tasks import TaskSet
    from app.ui.controllers.templates import TemplatesController
    from app.ui.dialogs.template_editor import TemplateEditor
    from app.ui.widgets.composer import Composer


def mime_kinds(mime: QMimeData) -> set[str]:
    paths = [url.path() for url in mime.urls()] if mime.hasUrls() else []
    return dragged_kinds(paths, mime.hasImage())


class TemplateFlow(QObject):
    """Signals:
        send_requested(): a template with its media is ready: send the composer's text.
    """

    send_requested = Signal()

    def __init__(self, templates: TemplatesController, composer: Composer,
                 attachments: AttachmentController, tasks: TaskSet, parent: QWidget) -> None:
        super().__init__(parent)  # dialogs open over the Qt parent; no Python back-reference
        self.templates = templates
        self._composer = composer
        self._attachments = attachments
        self._tasks = tasks
        self.picker = TemplatePicker(parent)
        self.picker.picked.connect(self.use)
        self.picker.manage_requested.connect(self.manage)
        self.editor: TemplateEditor | None = None
        attachments.changed.connect(self.update_hint)

    def _window(self) -> QWidget:
        parent = self.parent()
        assert isinstance(parent, QWidget)
        return parent

    # --- picker --------------------------------------------------------------------------
    def open_picker(self) -> None:
        self._tasks.spawn(self._open_picker(), "templates")

    async def _open_picker(self) -> None:
        self.picker.set_templates(await self.templates.refresh())
        self.picker.popup_at(self._composer.template_button)

    def use(self, template: Template) -> None:
        """Apply a picked (or dropped-on) template: send now if media is there, else ask."""
        self._composer.set_template(template)
        self.update_hint()
        if self._attachments.ready() or self._attachments.preparing():
            self._tasks.spawn(self._send_when_ready(), "template-send")
        else:
            self._composer.edit.setFocus()

    def use_slug(self, slug: str) -> None:
        template = self.templates.pinned_slug(slug)
        if template is not None:
            self.use(template)

    def drop_targets(self, mime: QMimeData) -> list[tuple[str, str]]:
        return self.templates.drop_targets(mime_kinds(mime))

    async def _send_when_ready(self) -> None:
        await self._attachments.wait_prepared()
        self.send_requested.emit()

    def update_hint(self) -> None:
        template = self._composer.template
        if template is not None:
            self._composer.set_template_hint(media_hint(
                template, [m.kind for m in self._attachments.ready()],
                self._attachments.preparing()))

    # --- managing ------------------------------------------------------------------------
    def manage(self, action: str, slug: str) -> None:
        """The picker's New button and right-click menu (see TemplatePicker)."""
        self._tasks.spawn(self._manage(action, slug), "templates")

    async def _manage(self, action: str, slug: str) -> None:
        if action in ("new", "edit"):
            await self._open_editor(slug or None)
        elif action == "duplicate":  # straight into the editor: a copy is made to be changed
            copy = await self.templates.duplicate(slug)
            if copy is not None:
                await self._open_editor(copy)
        elif action == "delete":
            template = await self.templates.template(slug)
            chosen, _ = await confirm(self._window(), "Delete template",
                                      f"Delete the template “{template.name}”?")
            if chosen:
                await self.templates.change(action, slug)
        else:
            await self.templates.change(action, slug)

    async def _open_editor(self, slug: str | None) -> None:
        from app.ui.dialogs.template_editor import TemplateEditor

        template = await self.templates.template(slug) if slug else None
        editor = TemplateEditor(template, self._window())
        editor.save_requested.connect(partial(self._save, editor))
        editor.finished.connect(partial(self._closed, editor))
        self.editor = editor
        editor.open()

    def _save(self, editor: TemplateEditor, template: Template, replacing: str | None) -> None:
        self._tasks.spawn(self._saving(editor, template, replacing), "template-save")

    async def _saving(self, editor: TemplateEditor, template: Template,
                      replacing: str | None) -> None:
        problem = await self.templates.save(template, replacing)
        if problem:
            editor.show_error(problem)
        else:
            editor.saved()

    def _closed(self, editor: TemplateEditor, _result: int) -> None:
        if self.editor is editor:
            self.editor = None
        editor.deleteLater()
