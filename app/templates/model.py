"""What a task template is, and the rules a valid one follows.

A template turns a recurring job ("receipt → table") into one click: it carries the prompt we
wrote for the model, the reasoning effort that job needs, the media it works on and the shape
of the answer it asks for. The same validation runs on built-ins, on what the user saves and
on imported files, so a template that loads anywhere is usable everywhere.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from app.config import EFFORTS

MEDIA_KINDS = ("image", "video", "either")
OUTPUT_KINDS = ("table", "code", "timeline", "markdown", "text")
MediaKind = Literal["image", "video", "either"]
OutputKind = Literal["table", "code", "timeline", "markdown", "text"]

SLUG_RE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
MAX_SLUG = 48
MAX_NAME = 80
MAX_ICON = 8  # an emoji (possibly with modifiers) or a short symbol
MAX_PROMPT = 20_000
_LANGUAGE_RE = re.compile(r"[A-Za-z0-9_+#.-]{1,32}")

_OUTPUT_LABELS = {
    "table": "a Markdown table",
    "timeline": "a list of mm:ss timestamps",
    "markdown": "structured Markdown",
    "text": "plain text",
}
_MEDIA_NOUNS = {"image": "an image", "video": "a video", "either": "an image or a video"}


class TemplateError(Exception):
    """A template (or a file of them) cannot be used; `str(err)` says why, for a person."""


@dataclass(frozen=True, slots=True)
class Output:
    """The answer's shape: a table, code in `language`, a timeline, Markdown or plain text."""

    kind: OutputKind
    language: str | None = None  # only for kind "code", e.g. "html"

    def describe(self) -> str:
        if self.kind == "code":
            return f"fenced {self.language} code" if self.language else "fenced code"
        return _OUTPUT_LABELS[self.kind]

    def to_dict(self) -> dict[str, str]:
        return {"kind": self.kind, **({"language": self.language} if self.language else {})}


@dataclass(frozen=True, slots=True)
class Template:
    """One task template; `builtin` ones come from the shipped resource and are read-only."""

    slug: str
    name: str
    icon: str
    prompt: str
    effort: str
    media: MediaKind
    output: Output = field(default_factory=lambda: Output("markdown"))
    pinned: bool = False
    builtin: bool = False
    position: int = 0

    def compose(self, user_text: str = "") -> str:
        """The text sent: our prompt, then the user's own words (if any) after a blank line."""
        extra = user_text.strip()
        return f"{self.prompt}\n\n{extra}" if extra else self.prompt

    def media_noun(self) -> str:
        """'an image', 'a video' or 'an image or a video', for messages."""
        return _MEDIA_NOUNS[self.media]

    def media_problem(self, kinds: Sequence[str]) -> str | None:
        """Why media of these kinds ("image"/"video", one per file) don't fit, or None."""
        if not kinds:
            return f"The {self.slug} template needs {self.media_noun()}."
        if self.media != "either":
            wrong = sorted({k for k in kinds if k != self.media})
            if wrong:
                return (f"The {self.slug} template works on {self.media}s, "
                        f"not {' or '.join(k + 's' for k in wrong)}.")
        return None

    def to_dict(self) -> dict[str, Any]:
        """The portable form written to export files (no `builtin`, no `position`)."""
        return {"slug": self.slug, "name": self.name, "icon": self.icon,
                "prompt": self.prompt, "effort": self.effort, "media": self.media,
                "output": self.output.to_dict(), "pinned": self.pinned}


_REQUIRED = ("slug", "name", "prompt", "effort", "media", "output")
_OPTIONAL = ("icon", "pinned")


def template_from_dict(data: Any, *, where: str) -> Template:
    """Build and validate a template from its portable form; `where` names it in errors.

    `prompt` may be a string or a list of lines (joined with newlines), so files kept in a
    repository diff line by line.
    """
    if not isinstance(data, Mapping):
        raise TemplateError(f"{where} is not an object.")
    unknown = sorted(set(data) - set(_REQUIRED) - set(_OPTIONAL))
    if unknown:
        raise TemplateError(f"{where} has an unknown field {unknown[0]!r}.")
    missing = [k for k in _REQUIRED if k not in data]
    if missing:
        raise TemplateError(f"{where} has no {missing[0]!r}.")
    prompt = data["prompt"]
    if isinstance(prompt, list) and all(isinstance(line, str) for line in prompt):
        prompt = "\n".join(prompt)
    template = Template(
        slug=_string(data["slug"], "slug", where),
        name=_string(data["name"], "name", where),
        icon=_string(data.get("icon", ""), "icon", where),
        prompt=_string(prompt, "prompt", where),
        effort=_string(data["effort"], "effort", where),
        media=_string(data["media"], "media", where),  # type: ignore[arg-type]
        output=_output(data["output"], where),
        pinned=_bool(data.get("pinned", False), "pinned", where),
    )
    validate(template, where=where)
    return template


def validate(template: Template, *, where: str | None = None) -> None:
    """Raise TemplateError naming the first rule `template` breaks."""
    where = where or f"Template {template.slug!r}"
    if len(template.slug) > MAX_SLUG or not SLUG_RE.fullmatch(template.slug):
        raise TemplateError(f"{where}: the slug must be lowercase letters, digits and single "
                            f"hyphens, at most {MAX_SLUG} characters (got {template.slug!r}).")
    name = template.name
    if not name.strip() or len(name) > MAX_NAME or "\n" in name:
        raise TemplateError(f"{where}: the name must be one line of 1 to {MAX_NAME} "
                            "characters.")
    if len(template.icon) > MAX_ICON or any(c.isspace() for c in template.icon):
        raise TemplateError(f"{where}: the icon must be an emoji or a symbol of at most "
                            f"{MAX_ICON} characters.")
    if not template.prompt.strip() or len(template.prompt) > MAX_PROMPT:
        raise TemplateError(f"{where}: the prompt must be 1 to {MAX_PROMPT:,} characters.")
    if template.effort not in EFFORTS:
        raise TemplateError(f"{where}: the effort must be one of {', '.join(EFFORTS)} "
                            f"(got {template.effort!r}).")
    if template.media not in MEDIA_KINDS:
        raise TemplateError(f"{where}: the media must be one of {', '.join(MEDIA_KINDS)} "
                            f"(got {template.media!r}).")
    output = template.output
    if output.kind not in OUTPUT_KINDS:
        raise TemplateError(f"{where}: the output kind must be one of "
                            f"{', '.join(OUTPUT_KINDS)} (got {output.kind!r}).")
    if output.language is not None and (output.kind != "code"
                                        or not _LANGUAGE_RE.fullmatch(output.language)):
        raise TemplateError(f"{where}: 'language' is a short name like \"python\", and only "
                            "for code output.")


def _string(value: Any, key: str, where: str) -> str:
    if not isinstance(value, str):
        raise TemplateError(f"{where}: {key!r} must be a string.")
    return value


def _bool(value: Any, key: str, where: str) -> bool:
    if not isinstance(value, bool):
        raise TemplateError(f"{where}: {key!r} must be true or false.")
    return value


def _output(value: Any, where: str) -> Output:
    """The output object's shape; its values are checked by `validate`."""
    if (not isinstance(value, Mapping) or set(value) - {"kind", "language"}
            or not isinstance(value.get("kind"), str)
            or not isinstance(value.get("language", ""), str)):
        raise TemplateError(f"{where}: 'output' must be an object with a 'kind' and, for "
                            "code, a 'language'.")
    return Output(value["kind"], value.get("language"))


def slugify(name: str) -> str:
    """A slug from a display name: 'Receipt → table!' → 'receipt-table' ('template' if empty)."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:MAX_SLUG].strip("-")
    return slug or "template"


def unique_slug(slug: str, taken: set[str] | frozenset[str]) -> str:
    """`slug`, or `slug-2`, `slug-3`, … : the first not in `taken` (kept within MAX_SLUG)."""
    if slug not in taken:
        return slug
    number = 2
    while True:
        suffix = f"-{number}"
        candidate = slug[: MAX_SLUG - len(suffix)].rstrip("-") + suffix
        if candidate not in taken:
            return candidate
        number += 1
