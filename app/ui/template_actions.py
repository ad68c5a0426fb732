"""Task templates in the window: the picker, sending with a template, drop targets.

Picking a template with media attached (or still being prepared) sends at once; without media
it fills the composer with the template's prompt and says which media to add. Either way the
template's effort applies to that one turn only, and the composer shows it ("High
(template)") until the turn is sent or the template is dismissed; the effort selector itself
never changes.
"""

from __future__ import annotations

import asyncio
from pathlib import PurePath
from typing import TYPE_CHECKING

from PySide6.QtCore import QMimeData, QObject

from app.templates.model import Template
from app.ui.template_picker import TemplatePicker

if TYPE_CHECKING:
    from app.templates.service import TemplateCatalogue
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
        self.pinned: list[Template] = []  # the drop targets, refreshed from the catalogue
        self._catalogue: TemplateCatalogue | None = None
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
