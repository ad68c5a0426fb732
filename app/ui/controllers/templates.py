"""Task templates for the window: the catalogue, the pinned drop targets, managing them.

Picking a template with media attached (or still being prepared) sends at once; without media
it fills the composer with the template's prompt and says which media to add. Either way the
template's effort applies to that one turn only (see `ConversationsController.send`). The
picker, the editor and the confirmations are the window's; this controller is their only path
to the catalogue (built-ins plus the user's own, in the store through `Library`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import PurePath
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from app.templates.model import Template, TemplateError
from app.ui.style.glyphs import labelled

if TYPE_CHECKING:
    from app.templates.service import TemplateCatalogue
    from app.ui.controllers.library import Library

VIDEO_SUFFIXES = frozenset({".mp4", ".mov", ".mkv", ".webm", ".avi", ".m4v"})


def dragged_kinds(paths: Sequence[str], has_image: bool) -> set[str]:
    """What a drag seems to carry ("image"/"video"), from file names; image data is an image."""
    kinds = {"video" if PurePath(path).suffix.lower() in VIDEO_SUFFIXES else "image"
             for path in paths}
    if not kinds and has_image:
        kinds.add("image")
    return kinds


def media_hint(template: Template, kinds: Sequence[str], preparing: bool) -> str:
    """The composer's line under a chosen template: what is still missing, or "ready"."""
    if preparing:
        return "preparing the attachments…"
    if kinds:
        return template.media_problem(list(kinds)) or "ready to send"
    return f"add {template.media_noun()}: drop, paste or Attach…"


class TemplatesController(QObject):
    """Signals:
        changed(list): every template, after any change (and at start).
        note(str), error(str): one sentence for the status bar.
    """

    changed = Signal(list)
    note = Signal(str)
    error = Signal(str)

    def __init__(self, library: Library, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.library = library
        self.pinned: list[Template] = []  # the drop targets
        self._catalogue: TemplateCatalogue | None = None
        self._changing = asyncio.Lock()  # one change at a time: each reads, then writes

    def catalogue(self) -> TemplateCatalogue:
        if self._catalogue is None:
            from app.templates.builtin import load_builtins

            self._catalogue = self.library.template_catalogue(load_builtins())
        return self._catalogue

    async def refresh(self) -> list[Template]:
        """Every template (and the pinned ones, for drops), read again from the catalogue."""
        templates = await self.catalogue().all()
        self.pinned = [t for t in templates if t.pinned]
        self.changed.emit(templates)
        return templates

    def pinned_slug(self, slug: str) -> Template | None:
        return next((t for t in self.pinned if t.slug == slug), None)

    def drop_targets(self, kinds: set[str]) -> list[tuple[str, str]]:
        """(slug, label) of each pinned template that fits what is being dragged."""
        return [(t.slug, labelled(t.icon, t.name)) for t in self.pinned
                if kinds and t.media_problem(sorted(kinds)) is None]

    async def template(self, slug: str) -> Template:
        return await self.catalogue().require(slug)

    async def save(self, template: Template, replacing: str | None) -> str | None:
        """Save an edited or new template; the reason it was refused, or None."""
        try:
            async with self._changing:
                await self.catalogue().save(template, replacing=replacing)
        except TemplateError as exc:
            return str(exc)
        await self.refresh()
        self.note.emit(f"Saved the template “{template.name}”.")
        return None

    async def duplicate(self, slug: str) -> str | None:
        """An editable copy of a template; its slug, or None when that failed."""
        try:
            async with self._changing:
                copy = await self.catalogue().duplicate(slug)
        except TemplateError as exc:
            self.error.emit(str(exc))
            return None
        await self.refresh()
        return copy.slug

    async def change(self, action: str, slug: str) -> None:
        """"pin", "unpin", "delete", "up", "down" (among the user's own)."""
        catalogue = self.catalogue()
        try:
            async with self._changing:
                if action in ("pin", "unpin"):
                    await catalogue.set_pinned(slug, action == "pin")
                elif action == "delete":
                    await catalogue.delete(slug)
                elif action in ("up", "down"):
                    own = [t.slug for t in await catalogue.all() if not t.builtin]
                    here = own.index(slug) if slug in own else -1
                    there = here - 1 if action == "up" else here + 1
                    if here >= 0 and 0 <= there < len(own):
                        own[here], own[there] = own[there], own[here]
                        await catalogue.reorder(own)
        except TemplateError as exc:
            self.error.emit(str(exc))
        await self.refresh()
