"""The template catalogue: shipped built-ins plus the user's own, as one list.

Built-ins are read-only (they come from the resource, so a new release's prompts reach
everyone); the user's templates live in the `templates` table beside the history. Only two
things about a built-in are the user's to change: pin it or not (kept as one setting), and
duplicate it into an editable copy. Order: the user's templates first, in their own order,
then the built-ins in shipped order. A user template whose slug a later release gives to a
new built-in keeps the slug (it is the user's data, and their scripts may name it); that
built-in is then not listed.

The CLI and the window share this class, so both see the same list and the same rules.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from app.config import EFFORTS
from app.templates.io import ImportPlan, export_text, parse_text, plan_import
from app.templates.model import (
    MAX_NAME,
    Template,
    TemplateError,
    template_from_dict,
    unique_slug,
    validate,
)

if TYPE_CHECKING:
    from app.store import Store
    from app.store.templates import TemplateRecord

log = logging.getLogger(__name__)
BUILTIN_PINS_KEY = "templates.builtin_pins"  # settings row: {"slug": true|false, …}
BUILTIN_EFFORTS_KEY = "templates.builtin_efforts"  # settings row: {"slug": "high", …}


class TemplateCatalogue:
    """Built-ins merged with the user's templates from `store`."""

    def __init__(self, store: Store, builtins: Sequence[Template]) -> None:
        self._store = store
        self._builtins = tuple(builtins)

    # -- reading ---------------------------------------------------------------------------

    async def all(self) -> list[Template]:
        """Every template: the user's (by position), then the built-ins (shipped order)."""
        own = await self._own()
        taken = {t.slug for t in own}
        pins = await self._builtin_pins()
        efforts = await self._builtin_efforts()
        builtins = [replace(t, pinned=pins.get(t.slug, t.pinned),
                            effort=efforts.get(t.slug, t.effort))
                    for t in self._builtins if t.slug not in taken]
        return [*own, *builtins]

    async def get(self, slug: str) -> Template | None:
        return next((t for t in await self.all() if t.slug == slug), None)

    async def require(self, slug: str) -> Template:
        """The template named `slug`, or TemplateError naming the command that lists them."""
        template = await self.get(slug)
        if template is None:
            raise TemplateError(f"There is no template {slug!r} "
                                "(see `stepdesk templates list`).")
        return template

    async def pinned(self) -> list[Template]:
        """The templates offered as drop targets, in catalogue order."""
        return [t for t in await self.all() if t.pinned]

    # -- the user's templates ----------------------------------------------------------------

    async def save(self, template: Template, *, replacing: str | None = None) -> Template:
        """Add a template (`replacing=None`) or change the user template `replacing`.

        The slug may change on edit; it must not be taken by another template.
        """
        validate(template)
        current = {t.slug: t for t in await self.all()}
        if replacing is not None:
            old = current.get(replacing)
            if old is None or old.builtin:
                raise TemplateError(f"{replacing!r} is not one of your templates; built-in "
                                    "templates are read-only (duplicate one to edit a copy).")
        if template.slug != replacing and template.slug in current:
            raise TemplateError(f"The slug {template.slug!r} is already used by "
                                f"{current[template.slug].name!r}.")
        if replacing is None:
            position = 1 + max((t.position for t in current.values() if not t.builtin),
                               default=-1)
        else:
            position = current[replacing].position
        saved = replace(template, builtin=False, position=position)
        await self._store.save_template(to_record(saved), replacing=replacing)
        return saved

    async def duplicate(self, slug: str) -> Template:
        """An editable, unpinned copy of any template (built-ins included), listed last."""
        source = await self.require(slug)
        taken = {t.slug for t in await self.all()} | {t.slug for t in self._builtins}
        suffix = " (copy)"
        name = source.name[: MAX_NAME - len(suffix)] + suffix
        copy = replace(source, slug=unique_slug(source.slug, taken), name=name, pinned=False)
        return await self.save(copy)

    async def delete(self, slug: str) -> None:
        template = await self.require(slug)
        if template.builtin:
            raise TemplateError(f"{slug!r} is a built-in template and cannot be deleted "
                                "(unpin it to hide it from the drop targets).")
        await self._store.delete_template(slug)

    async def reorder(self, slugs: Sequence[str]) -> None:
        """Put the user's templates in this order (built-ins keep the shipped order)."""
        own = {t.slug for t in await self._own()}
        stray = [s for s in slugs if s not in own]
        if stray or len(set(slugs)) != len(slugs):
            raise TemplateError(f"Only your own templates can be reordered, each once "
                                f"(not {', '.join(stray) or 'a repeated slug'}).")
        await self._store.reorder_templates(list(slugs))

    async def set_pinned(self, slug: str, pinned: bool) -> Template:
        template = await self.require(slug)
        if template.builtin:
            pins = await self._builtin_pins()
            pins[slug] = pinned
            await self._store.set_setting(BUILTIN_PINS_KEY, json.dumps(pins, sort_keys=True))
            return replace(template, pinned=pinned)
        return await self.save(replace(template, pinned=pinned), replacing=slug)

    async def set_effort(self, slug: str, effort: str) -> Template:
        """The effort a template sends with ("Use high for this template" after comparing).

        A built-in keeps its prompt read-only; only its effort is remembered, as a setting."""
        template = await self.require(slug)
        changed = replace(template, effort=effort)
        validate(changed)
        if template.builtin:
            efforts = await self._builtin_efforts()
            efforts[slug] = effort
            await self._store.set_setting(BUILTIN_EFFORTS_KEY,
                                          json.dumps(efforts, sort_keys=True))
            return changed
        return await self.save(changed, replacing=slug)

    # -- files ---------------------------------------------------------------------------------

    async def export(self, slugs: Sequence[str] = (), *, everything: bool = False) -> str:
        """The named templates (default: the user's own; `everything`: all) as a file."""
        catalogue = await self.all()
        if slugs:
            chosen = [await self.require(s) for s in slugs]
        else:
            chosen = [t for t in catalogue if everything or not t.builtin]
        return export_text(chosen)

    async def import_text(self, data: str | bytes) -> ImportPlan:
        """Add every template of a file, renaming slug clashes; all or nothing.

        A file that is malformed or from a newer version raises TemplateError and changes
        nothing; otherwise the templates are written in one transaction.
        """
        incoming = parse_text(data)
        catalogue = await self.all()
        taken = {t.slug for t in catalogue} | {t.slug for t in self._builtins}
        first = 1 + max((t.position for t in catalogue if not t.builtin), default=-1)
        plan = plan_import(incoming, taken, first_position=first)
        await self._store.save_templates([to_record(t) for t in plan.templates])
        return plan

    # -- internals -----------------------------------------------------------------------------

    async def _own(self) -> list[Template]:
        own = []
        for record in await self._store.list_templates():
            template = from_record(record)
            if template is not None:
                own.append(template)
        return own

    async def _builtin_efforts(self) -> dict[str, str]:
        raw = await self._store.get_setting(BUILTIN_EFFORTS_KEY)
        try:
            efforts = json.loads(raw) if raw else {}
        except json.JSONDecodeError:
            efforts = None
        if not isinstance(efforts, dict):
            log.warning("ignoring a malformed %s setting", BUILTIN_EFFORTS_KEY)
            return {}
        return {k: v for k, v in efforts.items() if v in EFFORTS}

    async def _builtin_pins(self) -> dict[str, bool]:
        raw = await self._store.get_setting(BUILTIN_PINS_KEY)
        try:
            pins = json.loads(raw) if raw else {}
        except json.JSONDecodeError:
            pins = None
        if not isinstance(pins, dict):
            log.warning("ignoring a malformed %s setting", BUILTIN_PINS_KEY)
            return {}
        return {k: v for k, v in pins.items() if isinstance(v, bool)}


def to_record(template: Template) -> TemplateRecord:
    from app.store.templates import TemplateRecord

    return TemplateRecord(
        slug=template.slug, name=template.name, icon=template.icon, prompt=template.prompt,
        effort=template.effort, media=template.media,
        output_json=json.dumps(template.output.to_dict()), pinned=template.pinned,
        position=template.position)


def from_record(record: TemplateRecord) -> Template | None:
    """A saved row as a template; a row damaged outside the app is skipped with a warning."""
    try:
        data = {"slug": record.slug, "name": record.name, "icon": record.icon,
                "prompt": record.prompt, "effort": record.effort, "media": record.media,
                "output": json.loads(record.output_json), "pinned": bool(record.pinned)}
        template = template_from_dict(data, where=f"Saved template {record.slug!r}")
    except (TemplateError, json.JSONDecodeError) as exc:
        log.warning("skipping a saved template: %s", exc)
        return None
    return replace(template, position=record.position)
