"""The built-in templates, shipped read-only in `app/resources/templates/builtin.json`.

They are a resource rather than rows in the user's database so that a new release's better
prompts reach every user; the file uses the export format, so it is validated by the same
code as a file a team shares (a broken built-in fails the test suite, not a user).
"""

from __future__ import annotations

from dataclasses import replace
from importlib import resources

from app.templates.io import parse_text
from app.templates.model import Template


def load_builtins() -> tuple[Template, ...]:
    """Every built-in template, flagged `builtin`, positioned in file order."""
    resource = resources.files("app") / "resources" / "templates" / "builtin.json"
    text = resource.read_text(encoding="utf-8")
    return tuple(replace(t, builtin=True, position=i) for i, t in enumerate(parse_text(text)))
