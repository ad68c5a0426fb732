"""`stepdesk templates list | show | export | import`: the task templates, no network."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from app.cli.errors import EXIT_BAD_INPUT, EXIT_FAILURE, EXIT_OK, CliError
from app.safetext import one_line
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
                print(f"{one_line(t.slug):<30} {flags} {t.media:<6} {t.effort:<6} "
                      f"{t.output.kind:<8} {one_line(t.icon)} {one_line(t.name)}".rstrip(),
                      file=out)
            return EXIT_OK
        if args.action == "show":
            t = await templates.require(args.slug)
            source = "built-in (read-only)" if t.builtin else "yours"
            print(f"{one_line(t.icon)} {one_line(t.name)}".strip(), file=out)
            print(f"slug: {one_line(t.slug)}\nmedia: {t.media}\neffort: {t.effort}\n"
                  f"output: {t.output.describe()}\npinned: {'yes' if t.pinned else 'no'}\n"
                  f"source: {source}\n\n{t.prompt}", file=out)
            return EXIT_OK
        if args.action == "export":
            text = await templates.export(args.slugs, everything=args.all)
            if args.output is None:
                out.write(text)
            else:
                _write(args.output, text, overwrite=args.force)
            return EXIT_OK
        return await _import(args.file, templates, out)
    except TemplateError as exc:
        raise CliError(str(exc), EXIT_BAD_INPUT) from None


async def _import(path: Path, templates: TemplateCatalogue, out: TextIO) -> int:
    from app.boundedread import ReadRefused, read_bounded
    from app.templates.io import MAX_FILE_BYTES

    try:
        data = read_bounded(path, MAX_FILE_BYTES, what="template file")
    except ReadRefused as exc:
        raise CliError(str(exc), EXIT_BAD_INPUT) from None
    try:
        plan = await templates.import_text(data)
    except TemplateError as exc:
        raise CliError(f"{path}: {exc} Nothing was imported.", EXIT_BAD_INPUT) from None
    count = len(plan.templates)
    print(f"Imported {count} template{'s' if count != 1 else ''} from {path}.", file=out)
    for old, new in plan.renamed:
        print(f"  {one_line(old)} → {one_line(new)} (the slug {one_line(old)!r} was already "
              "taken)", file=out)
    return EXIT_OK


def _write(path: Path, text: str, *, overwrite: bool) -> None:
    from app.fsmodes import write_output

    try:
        write_output(path, text.encode("utf-8"), overwrite=overwrite)
    except FileExistsError:
        raise CliError(f"{path} already exists; add --force to replace it.",
                       EXIT_BAD_INPUT) from None
    except IsADirectoryError:
        raise CliError(f"{path} is a folder; give a file name to export to.",
                       EXIT_BAD_INPUT) from None
    except FileNotFoundError:
        raise CliError(f"Cannot write {path}: the folder does not exist.",
                       EXIT_BAD_INPUT) from None
    except OSError as exc:
        raise CliError(f"Cannot write {path}: {exc.strerror or exc}; nothing was exported.",
                       EXIT_FAILURE) from None
