"""`stepdesk ask | history | files | templates`: the headless front end, on the core.

Every failure is one line on stderr and an exit code from DESIGN.md: 2 bad input, 3 API or
network error, 4 authentication (no key or a rejected one), 130 interrupted by the user.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, TextIO

from app.cli.errors import (
    EXIT_AUTH,
    EXIT_BAD_INPUT,
    EXIT_FAILURE,
    EXIT_INTERRUPTED,
    EXIT_OK,
    NO_KEY_MESSAGE,
    CliError,
)
from app.cli.parser import build_parser
from app.config import ConfigError, resolve_api_key

if TYPE_CHECKING:
    from app.media.intake import PreparedMedia
    from app.services import Services

def run(argv: Sequence[str], env: Mapping[str, str] | None = None,
        stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Parse `argv` (without the program name) and run one command; returns the exit code."""
    env = os.environ if env is None else env
    out, err = stdout or sys.stdout, stderr or sys.stderr
    try:
        args = build_parser().parse_args(list(argv))
    except SystemExit as exit_:  # --help printed its text
        return EXIT_OK if not exit_.code else EXIT_BAD_INPUT
    except CliError as exc:
        print(f"stepdesk: {exc}", file=err)
        return exc.code
    try:
        return asyncio.run(_dispatch(args, env, out, err))
    except KeyboardInterrupt:
        print("stepdesk: interrupted; the partial reply was kept as stopped.", file=err)
        return EXIT_INTERRUPTED
    except CliError as exc:
        print(f"stepdesk: {exc}", file=err)
        return exc.code


async def _dispatch(args: argparse.Namespace, env: Mapping[str, str], out: TextIO,
                    err: TextIO) -> int:
    from app.services import open_core
    from app.store import StoreError

    try:
        services = await open_core(env)
    except StoreError as exc:
        raise CliError(exc.message, EXIT_FAILURE) from None
    except ConfigError as exc:
        raise CliError(str(exc), EXIT_BAD_INPUT) from None
    except OSError as exc:
        raise CliError(f"The data folder cannot be used: {exc.strerror or exc}.",
                       EXIT_FAILURE) from None
    try:
        if args.command == "ask":
            return await _ask(args, env, services, out, err)
        if args.command == "history":
            from app.cli.history import run_history

            return await run_history(args, services, out)
        if args.command == "templates":
            from app.cli.templates import run_templates

            return await run_templates(args, services, out)
        from app.cli.files import run_files

        await _connect(services, env)
        return await run_files(args, services, out)
    finally:
        await services.aclose()


async def _connect(services: Services, env: Mapping[str, str]) -> None:
    """Find the key (exit 4 without one) and build the one HTTP client."""
    lookup = await asyncio.to_thread(resolve_api_key, env, services.paths)
    if not lookup.key:
        raise CliError(NO_KEY_MESSAGE, EXIT_AUTH)
    services.key = lookup
    services.rebuild_client()


async def _ask(args: argparse.Namespace, env: Mapping[str, str], services: Services,
               out: TextIO, err: TextIO) -> int:
    from app.chat import template_title
    from app.cli.ask import (
        check_template_media,
        prepare_files,
        prepare_table_dir,
        resolve_template,
        save_tables,
        stream_turn,
    )

    prompt = " ".join(args.prompt).strip()
    template = await resolve_template(args, services)
    if not prompt and not args.file:
        raise CliError("Nothing to ask: give a prompt, a --file, or both.", EXIT_BAD_INPUT)
    if args.conversation is not None and \
            await services.store.get_conversation(args.conversation) is None:
        raise CliError(f"There is no conversation {args.conversation} "
                       "(see `stepdesk history list`).", EXIT_BAD_INPUT)
    if args.save_tables is not None:
        prepare_table_dir(args.save_tables)
    title = None
    if template is not None:
        names = [path.name for path in args.file]
        title = template_title(template.name, prompt, names)
        prompt = template.compose(prompt)
    turns: list[tuple[str, list[PreparedMedia]]] = await prepare_files(
        args, prompt, services, err)
    if template is not None:
        check_template_media(template, turns)
    await _connect(services, env)
    conversation_id = args.conversation
    code = EXIT_OK
    saved = 0
    for text, media in turns:
        conversation_id, code = await stream_turn(
            services, conversation_id, text, media, args, out, err, title=title)
        if code != EXIT_OK:
            break
        if args.save_tables is not None and conversation_id is not None:
            saved += await save_tables(services, conversation_id, args.save_tables, saved + 1,
                                       err)
    if code == EXIT_OK and args.save_tables is not None and not saved:
        print(f"stepdesk: the answer has no tables; nothing was saved to {args.save_tables}.",
              file=err)
    return code


