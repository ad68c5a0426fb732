"""`stepdesk ask | history | files | templates`: the headless front end, on the core.

Every failure is one line on stderr and an exit code from DESIGN.md: 2 bad input, 3 API or
network error, 4 authentication (no key or a rejected one), 130 interrupted by the user.
Everything printed goes through `app.cli.terminal.SafeWriter` (no control sequence from the
model or a server reaches the terminal); files are created private (`fsmodes.private_umask`);
a failure nobody foresaw is still one line (and a logged traceback), never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sqlite3
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, TextIO

from app.cli.errors import (
    EXIT_AUTH,
    EXIT_BAD_INPUT,
    EXIT_FAILURE,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_UNEXPECTED,
    NO_KEY_MESSAGE,
    CliError,
)
from app.cli.parser import build_parser, check_text_arguments
from app.cli.terminal import SafeWriter
from app.config import ConfigError, resolve_api_key
from app.fsmodes import private_umask
from app.redact import redact

if TYPE_CHECKING:
    from app.media.intake import PreparedMedia
    from app.services import Services

def run(argv: Sequence[str], env: Mapping[str, str] | None = None,
        stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Parse `argv` (without the program name) and run one command; returns the exit code."""
    env = os.environ if env is None else env
    out = SafeWriter(stdout or sys.stdout)
    err = SafeWriter(stderr or sys.stderr)
    try:
        args = build_parser(argv[0] if argv else None).parse_args(list(argv))
        check_text_arguments(args)
    except SystemExit as exit_:  # --help printed its text
        return EXIT_OK if not exit_.code else EXIT_BAD_INPUT
    except CliError as exc:
        print(f"stepdesk: {exc}", file=err)
        return exc.code
    secrets = [env.get("STEP_API_KEY") or ""]
    try:
        with private_umask():
            return asyncio.run(_dispatch(args, env, out, err))  # type: ignore[arg-type]
    except KeyboardInterrupt:
        print("stepdesk: interrupted; the partial reply was kept as stopped.", file=err)
        return EXIT_INTERRUPTED
    except CliError as exc:
        print(f"stepdesk: {redact(str(exc), secrets)}", file=err)
        return exc.code
    except BrokenPipeError:  # `stepdesk history list | head`: the reader left, not a failure
        return EXIT_OK
    except (OSError, sqlite3.Error) as exc:
        print(f"stepdesk: {redact(_os_sentence(exc), secrets)}", file=err)
        return EXIT_FAILURE
    except Exception as exc:  # the last net: one line here, the traceback in the log
        logging.getLogger("app").exception("unexpected failure")
        print(f"stepdesk: unexpected {type(exc).__name__}: {redact(str(exc), secrets)}",
              file=err)
        return EXIT_UNEXPECTED


def _os_sentence(exc: BaseException) -> str:
    if isinstance(exc, OSError):
        where = f" ({exc.filename})" if exc.filename else ""
        return f"The operating system refused{where}: {exc.strerror or exc}."
    return f"The history database failed: {exc}."


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
        return await _command(args, env, services, out, err)
    except StoreError as exc:  # disk full, damaged page, read-only folder: one sentence
        raise CliError(exc.message, EXIT_FAILURE) from None
    finally:
        await services.aclose()


async def _command(args: argparse.Namespace, env: Mapping[str, str], services: Services,
                   out: TextIO, err: TextIO) -> int:
    if args.command == "ask":
        return await _ask(args, env, services, out, err)
    if args.command == "history":
        from app.cli.history import run_history

        return await run_history(args, services, out)
    if args.command == "settings":
        from app.cli.settings import run_settings

        return await run_settings(args, services, env, out)
    if args.command == "templates":
        from app.cli.templates import run_templates

        return await run_templates(args, services, out)
    if args.command in ("sync", "backup", "restore"):
        from app.cli.sync import run_sync_command

        return await run_sync_command(args, services, env, out, err)
    from app.cli.files import run_files

    await _connect(services, env)
    return await run_files(args, services, out)


async def _connect(services: Services, env: Mapping[str, str]) -> None:
    """Find the key (exit 4 without one) and build the one HTTP client."""
    from app.api.keycheck import key_problem

    lookup = await asyncio.to_thread(resolve_api_key, env, services.paths)
    if not lookup.key:
        raise CliError(NO_KEY_MESSAGE, EXIT_AUTH)
    problem = key_problem(lookup.key)
    if problem:  # refused before any request is built (httpx could not send it anyway)
        where = {"environment": "STEP_API_KEY", "keychain": "the keychain",
                 "key file": "the key file"}.get(lookup.source, lookup.source)
        raise CliError(f"{problem.rstrip('.')} (from {where}).", EXIT_AUTH)
    services.key = lookup
    services.rebuild_client()


async def _ask(args: argparse.Namespace, env: Mapping[str, str], services: Services,
               out: TextIO, err: TextIO) -> int:
    from app.chat import template_title
    from app.cli.ask import (
        check_template_media,
        discard_prepared,
        prepare_files,
        prepare_table_dir,
        resolve_template,
        save_tables,
        stream_turn,
    )

    prompt = " ".join(args.prompt).strip()
    if args.compare is not None:
        from app.cli.compare import check_compare_args

        check_compare_args(args)
    elif args.keep is not None or args.json:
        raise CliError(f"{'--keep' if args.keep else '--json'} needs --compare.", EXIT_BAD_INPUT)
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
    conversation_id = args.conversation
    code = EXIT_OK
    saved = 0
    try:
        if template is not None:
            check_template_media(template, turns)
        await _connect(services, env)
        if args.compare is not None:
            from app.cli.compare import run_compare

            [(text, media)] = turns
            return await run_compare(services, args, conversation_id, text, media, out, err,
                                     title=title, template=template.slug if template else None)
        for text, media in turns:
            conversation_id, code = await stream_turn(
                services, conversation_id, text, media, args, out, err, title=title,
                template=template.slug if template else None)
            if code != EXIT_OK:
                break
            if args.save_tables is not None and conversation_id is not None:
                saved += await save_tables(services, conversation_id, args.save_tables,
                                           saved + 1, err)
    finally:
        discard_prepared(turns)  # refused, failed or stopped: no temp copy stays behind
    if code == EXIT_OK and args.save_tables is not None and not saved:
        print(f"stepdesk: the answer has no tables; nothing was saved to {args.save_tables}.",
              file=err)
    return code


