"""Template files: the JSON teams pass around, and the built-in set is written in.

```json
{"format": "stepdesk-templates", "schema_version": 1,
 "templates": [{"slug": "receipt-to-table", "name": "Receipt → table", "icon": "🧾",
                "prompt": ["line 1", "line 2"], "effort": "low", "media": "image",
                "output": {"kind": "table"}, "pinned": true}]}
```
`prompt` may be one string or a list of lines. A file is read whole and checked whole before
anything is used: one bad template refuses the file with a reason, so an import is all or
nothing. A file from a newer Step Desk (`schema_version` above ours) is refused rather than
half-understood.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from app.safetext import json_dumps
from app.templates.model import Template, TemplateError, template_from_dict, unique_slug

FORMAT = "stepdesk-templates"
SCHEMA_VERSION = 1
MAX_FILE_BYTES = 5_000_000
MAX_TEMPLATES = 1_000
MAX_NESTING = 32
"""Deepest list/object nesting accepted: a template needs 4; Python's parser recurses."""
_STRUCTURE = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def export_text(templates: Iterable[Template]) -> str:
    """The templates as a UTF-8 JSON document (multi-line prompts as lists of lines)."""
    items = []
    for template in templates:
        item = template.to_dict()
        if "\n" in template.prompt:
            item["prompt"] = template.prompt.split("\n")
        items.append(item)
    doc = {"format": FORMAT, "schema_version": SCHEMA_VERSION, "templates": items}
    return json_dumps(doc) + "\n"  # exact text; C1 and bidi controls \u-escaped


def nesting_depth(text: str) -> int:
    """The deepest bracket nesting of a JSON text, found in one linear pass (strings skipped)."""
    depth = deepest = 0
    for match in _STRUCTURE.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif token in "]}":
            depth -= 1
    return deepest


def parse_text(data: str | bytes) -> list[Template]:
    """Read and validate a whole template file; TemplateError says what is wrong and where."""
    if len(data) > MAX_FILE_BYTES:
        raise TemplateError(f"The file is larger than {MAX_FILE_BYTES // 1_000_000} MB; "
                            "it is not a template file.")
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise TemplateError("The file is not UTF-8 text.") from None
    depth = nesting_depth(data)
    if depth > MAX_NESTING:
        raise TemplateError(f"The file nests lists or objects {depth:,} levels deep; a "
                            f"template file needs at most {MAX_NESTING}.")
    try:
        doc: Any = json.loads(data)
    except RecursionError:  # pragma: no cover - nesting_depth refuses this first
        raise TemplateError("The file nests lists or objects too deeply.") from None
    except json.JSONDecodeError as exc:
        raise TemplateError(f"The file is not valid JSON ({exc.msg} at line {exc.lineno}, "
                            f"column {exc.colno}).") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise TemplateError(f"The file is not a Step Desk template file (no \"format\": "
                            f"\"{FORMAT}\").")
    version = doc.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise TemplateError("The file has no valid schema_version.")
    if version > SCHEMA_VERSION:
        raise TemplateError(f"The file was written by a newer Step Desk (schema version "
                            f"{version}; this version reads up to {SCHEMA_VERSION}). "
                            "Update Step Desk to import it.")
    unknown = sorted(set(doc) - {"format", "schema_version", "templates"})
    if unknown:
        raise TemplateError(f"The file has an unknown field {unknown[0]!r}.")
    items = doc.get("templates")
    if not isinstance(items, list):
        raise TemplateError("The file has no \"templates\" list.")
    if len(items) > MAX_TEMPLATES:
        raise TemplateError(f"The file holds {len(items):,} templates; at most "
                            f"{MAX_TEMPLATES:,} can be imported at once.")
    templates: list[Template] = []
    seen: set[str] = set()
    for number, item in enumerate(items, 1):
        slug = item.get("slug") if isinstance(item, dict) else None
        where = f"Template {number}" + (f" ({slug})" if isinstance(slug, str) else "")
        template = template_from_dict(item, where=where)
        if template.slug in seen:
            raise TemplateError(f"{where}: the slug {template.slug!r} appears twice in the "
                                "file.")
        seen.add(template.slug)
        templates.append(template)
    return templates


@dataclass(frozen=True, slots=True)
class ImportPlan:
    """What an import will add: the templates (final slugs) and the slugs it had to change."""

    templates: tuple[Template, ...]
    renamed: tuple[tuple[str, str], ...]  # (slug in the file, slug given)


def plan_import(incoming: Sequence[Template], taken: Iterable[str], *,
                first_position: int) -> ImportPlan:
    """Give each incoming template a free slug (`slug-2`, …) and a place after `first_position`.

    Imported templates are always the user's own: never built-in, even when a file carries a
    built-in's slug (that copy is renamed like any other clash).
    """
    used = set(taken)
    planned: list[Template] = []
    renamed: list[tuple[str, str]] = []
    for offset, template in enumerate(incoming):
        slug = unique_slug(template.slug, used)
        used.add(slug)
        if slug != template.slug:
            renamed.append((template.slug, slug))
        planned.append(replace(template, slug=slug, builtin=False,
                               position=first_position + offset))
    return ImportPlan(tuple(planned), tuple(renamed))
