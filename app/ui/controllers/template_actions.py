"""Task templates in the window: the picker, sending with a template, drop targets.

Picking a template with media attached (or still being prepared) sends at once; without media
it fills the composer with the template's prompt and says which media to add. Either way the
template's effort applies to that one turn only, and the composer shows it ("High
(template)") until the turn is sent or the template is dismissed; the effort selector itself
never changes. The picker's New button and right-click menu manage the user's templates
(built-ins can only be duplicated and pinned).
"""

from __future__ import annotations

import asyncio
from pathlib import PurePath
from typing import TYPE_CHECKING

from PySide6.QtCore import QMimeData, QObject
from PySide6.QtWidgets import QMessageBox

from app.templates.model import Template, TemplateError
from app.ui.dialogs.template_picker import TemplatePicker

if TYPE_CHECKING:
    from app.templates.service import TemplateCatalogue
    from app.ui.dialogs.template_editor import TemplateEditor
    from app.ui.main_window import MainWindow

VIDEO_SUFFIXES = frozenset({".mp4", ".mov", ".mkv", ".webm", ".avi", ".m4v"})


def dragged_kinds(mime: QMimeData) -> set[str]:
    """What a drag seems to carry ("image"/"video"), from file names; image data is an image."""
    kinds = {"video" if PurePath(url.path()).suffix.lower() in VIDEO_SUFFIXES else "image"
             for url in mime.urls()} if mime.hasUrls() else set()
    if not kinds and mime.hasImage():
        kinds.add("image")
    return kinds


class TemplateActions(QObject):
    """The window's template commands; the catalogue opens once the services are up."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.w = window
        self.picker = TemplatePicker(window)
        self.picker.picked.connect(self.use)
        self.picker.manage_requested.connect(self.manage)
        self.pinned: list[Template] = []  # the drop targets, refreshed from the catalogue
        self.editor: TemplateEditor | None = None
        self._catalogue: TemplateCatalogue | None = None
        self._changing = asyncio.Lock()  # one change at a time: each reads, then writes
        window.attachments.changed.connect(self._update_hint)

    def catalogue(self) -> TemplateCatalogue | None:
        lib = self.w.library
        if lib is not None and self._catalogue is None:
            from app.templates.builtin import load_builtins
            from app.templates.service import TemplateCatalogue

            self._catalogue = TemplateCatalogue(lib.services.store, load_builtins())
        return self._catalogue

    async def refresh(self) -> list[Template]:
        """Every template (and the pinned ones, for drops), read again from the catalogue."""
        catalogue = self.catalogue()
        templates = await catalogue.all() if catalogue is not None else []
        self.pinned = [t for t in templates if t.pinned]
        return templates

    # --- picker --------------------------------------------------------------------------
    def open_picker(self) -> None:
        """The composer's Template button and Ctrl+T."""
        if self.catalogue() is None:
            self.w.show_note("Step Desk is still starting…")
            return
        self.w.tasks.spawn(self._open_picker(), "templates")

    async def _open_picker(self) -> None:
        self.picker.set_templates(await self.refresh())
        self.picker.popup_at(self.w.composer.template_button)

    def use(self, template: Template) -> None:
        """Apply a picked (or dropped-on) template: send now if media is there, else ask."""
        attachments = self.w.attachments
        self.w.composer.set_template(template)
        self._update_hint()
        if attachments.ready() or attachments.preparing():
            self.w.tasks.spawn(self._send_when_ready(), "template-send")
        else:
            self.w.focus_composer()

    def use_slug(self, slug: str) -> None:
        template = next((t for t in self.pinned if t.slug == slug), None)
        if template is not None:
            self.use(template)

    def drop_targets(self, mime: QMimeData) -> list[tuple[str, str]]:
        """(slug, label) of each pinned template that fits what is being dragged."""
        kinds = dragged_kinds(mime)
        return [(t.slug, f"{t.icon} {t.name}".strip()) for t in self.pinned
                if kinds and t.media_problem(sorted(kinds)) is None]

    # --- managing ------------------------------------------------------------------------
    def manage(self, action: str, slug: str) -> None:
        """The picker's New button and right-click menu (see TemplatePicker)."""
        if self.catalogue() is None:
            return
        if action in ("new", "edit"):
            self.w.tasks.spawn(self._open_editor(slug or None), "template-editor")
        else:
            self.w.tasks.spawn(self._change(action, slug), "templates")

    async def _open_editor(self, slug: str | None) -> None:
        from app.ui.dialogs.template_editor import TemplateEditor

        catalogue = self.catalogue()
        assert catalogue is not None
        template = await catalogue.require(slug) if slug else None
        editor = TemplateEditor(template, self.w)
        editor.save_requested.connect(
            lambda t, old: self.w.tasks.spawn(self._save(editor, t, old), "template-save"))
        editor.finished.connect(lambda _result: self._closed(editor))
        self.editor = editor
        editor.open()

    def _closed(self, editor: TemplateEditor) -> None:
        if self.editor is editor:
            self.editor = None
        editor.deleteLater()

    async def _save(self, editor: TemplateEditor, template: Template,
                    replacing: str | None) -> None:
        catalogue = self.catalogue()
        assert catalogue is not None
        try:
            async with self._changing:
                await catalogue.save(template, replacing=replacing)
        except TemplateError as exc:
            editor.show_error(str(exc))
            return
        editor.saved()
        await self.refresh()
        self.w.show_note(f"Saved the template “{template.name}”.")

    async def _change(self, action: str, slug: str) -> None:
        catalogue = self.catalogue()
        assert catalogue is not None
        try:
            async with self._changing:
                await self._apply(catalogue, action, slug)
        except TemplateError as exc:
            self.w.show_error(str(exc))
        await self.refresh()

    async def _apply(self, catalogue: TemplateCatalogue, action: str, slug: str) -> None:
        from app.ui.controllers.window_actions import ask

        if action == "duplicate":  # straight into the editor: a copy is made to be changed
            copy = await catalogue.duplicate(slug)
            await self._open_editor(copy.slug)
        elif action in ("pin", "unpin"):
            await catalogue.set_pinned(slug, action == "pin")
        elif action == "delete":
            template = await catalogue.require(slug)
            box = QMessageBox(QMessageBox.Icon.Question, "Delete template",
                              f"Delete the template “{template.name}”?", parent=self.w)
            remove = box.addButton("Delete", QMessageBox.ButtonRole.DestructiveRole)
            box.addButton(QMessageBox.StandardButton.Cancel)
            await ask(box)
            if box.clickedButton() is remove:
                await catalogue.delete(slug)
        else:  # "up" / "down" among the user's own
            own = [t.slug for t in await catalogue.all() if not t.builtin]
            here = own.index(slug) if slug in own else -1
            there = here - 1 if action == "up" else here + 1
            if here >= 0 and 0 <= there < len(own):
                own[here], own[there] = own[there], own[here]
                await catalogue.reorder(own)

    async def _send_when_ready(self) -> None:
        while self.w.attachments.preparing():
            await asyncio.sleep(0.05)
        self.w.actions_.send(self.w.composer.text())

    def _update_hint(self) -> None:
        template = self.w.composer.template
        if template is None:
            return
        kinds = [m.kind for m in self.w.attachments.ready()]
        if self.w.attachments.preparing():
            hint = "preparing the attachments…"
        elif kinds:
            hint = template.media_problem(kinds) or "ready to send"
        else:
            hint = f"add {template.media_noun()}: drop, paste or Attach…"
        self.w.composer.set_template_hint(hint)
