"""`stepdesk templates list | show | export | import`: the task templates, no network."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from app.cli.errors import EXIT_BAD_INPUT, EXIT_OK, CliError
from app.templates.model import TemplateError

if TYPE_CHECKING:
    from app.services import Services
    from app.templates.service import TemplateCatalogue


def catalogue(services: Services) -> TemplateCatalogue:
    """The built-ins plus the user's templates from this process's store."""
    from app.templates.builtin import load_builtins
    from app.templates.service import TemplateCatalogue

    return TemplateCatalogue(services.store, load_builtins())


async def run_templates(args: argparse.Namespace, services: Services, out: TextIO) -> int:
    templates = catalogue(services)
    try:
        if args.action == "list":
            for t in await templates.all():
                flags = "".join(("*" if t.pinned else " ", "b" if t.builtin else " "))
                print(f"{t.slug:<30} {flags} {t.media:<6} {t.effort:<6} {t.output.kind:<8} "
                      f"{t.icon} {t.name}".rstrip(), file=out)
            return EXIT_OK
        if args.action == "show":
            t = await templates.require(args.slug)
            source = "built-in (read-only)" if t.builtin else "yours"
            print(f"{t.icon} {t.name}".strip(), file=out)
            print(f"slug: {t.slug}\nmedia: {t.media}\neffort: {t.effort}\n"
                  f"output: {t.output.describe()}\npinned: {'yes' if t.pinned else 'no'}\n"
                  f"source: {source}\n\n{t.prompt}", file=out)
            return EXIT_OK
        if args.action == "export":
            text = await templates.export(args.slugs, everything=args.all)
            if args.output is None:
                out.write(text)
            else:
                _write(args.output, text)
            return EXIT_OK
        return await _import(args.file, templates, out)
    except TemplateError as exc:
        raise CliError(str(exc), EXIT_BAD_INPUT) from None


async def _import(path: Path, templates: TemplateCatalogue, out: TextIO) -> int:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CliError(f"Cannot read {path}: {exc.strerror or exc}.", EXIT_BAD_INPUT) from None
    try:
        plan = await templates.import_text(data)
    except TemplateError as exc:
        raise CliError(f"{path}: {exc} Nothing was imported.", EXIT_BAD_INPUT) from None
    count = len(plan.templates)
    print(f"Imported {count} template{'s' if count != 1 else ''} from {path}.", file=out)
    for old, new in plan.renamed:
        print(f"  {old} → {new} (the slug {old!r} was already taken)", file=out)
    return EXIT_OK


def _write(path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise CliError(f"Cannot write {path}: {exc.strerror or exc}.", EXIT_BAD_INPUT) from None
