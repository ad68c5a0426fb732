"""The user's task templates (the built-ins ship as a resource and are never stored here).

Rows keep the order the user chose (`position`). `output_json` holds the output spec (kind,
language) as the templates layer writes it, so a new output field needs no migration; the
store checks nothing about the contents — validation belongs to `app.templates`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from app.store.db import Database
from app.store.history import now_ms

_COLS = ("slug, name, icon, prompt, effort, media, output_json, pinned, position, "
         "created_at, updated_at")
_ORDER = "ORDER BY position, created_at, slug"


@dataclass(frozen=True)
class TemplateRecord:
    slug: str
    name: str
    icon: str
    prompt: str
    effort: str
    media: str  # "image" | "video" | "either"
    output_json: str  # e.g. '{"kind": "code", "language": "html"}'
    pinned: bool
    position: int
    created_at: int = 0  # ms since the epoch; written by the store
    updated_at: int = 0


def list_templates(db: Database) -> list[TemplateRecord]:
    rows = db.conn.execute(f"SELECT {_COLS} FROM templates {_ORDER}").fetchall()
    return [TemplateRecord(*(*r[:7], bool(r[7]), *r[8:])) for r in rows]


def save_templates(
    db: Database, records: Sequence[TemplateRecord], *, replacing: str | None = None
) -> None:
    """Insert or update `records` in one transaction.

    `replacing` is the old slug of an edited template (one record): its row is replaced, and
    `created_at` is kept even when the slug changes.
    """
    now = now_ms()
    with db.write() as c:
        for record in records:
            old_slug = replacing if replacing is not None else record.slug
            values = (record.slug, record.name, record.icon, record.prompt, record.effort,
                      record.media, record.output_json, int(record.pinned), record.position)
            if old_slug != record.slug:  # the new slug wins over a template that had it
                c.execute("DELETE FROM templates WHERE slug = ?", (record.slug,))
            # Updated in place, so the template keeps its sync identity (uuid) across edits.
            updated = c.execute(
                "UPDATE templates SET slug = ?, name = ?, icon = ?, prompt = ?, effort = ?, "
                "media = ?, output_json = ?, pinned = ?, position = ?, updated_at = ? "
                "WHERE slug = ?",
                (*values, now, old_slug),
            ).rowcount
            if not updated:
                c.execute(
                    f"INSERT INTO templates({_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (*values, now, now),
                )


def delete_template(db: Database, slug: str) -> bool:
    """Whether a row was deleted."""
    with db.write() as c:
        return c.execute("DELETE FROM templates WHERE slug = ?", (slug,)).rowcount > 0


def reorder_templates(db: Database, slugs: Sequence[str]) -> None:
    """Positions 0, 1, … in the order given; templates not named follow, in their old order."""
    named = set(slugs)
    now = now_ms()
    with db.write() as c:
        rest = [s for (s,) in c.execute(f"SELECT slug FROM templates {_ORDER}") if s not in named]
        c.executemany(
            "UPDATE templates SET position = ?, updated_at = ? WHERE slug = ?",
            [(i, now, slug) for i, slug in enumerate([*slugs, *rest])],
        )
