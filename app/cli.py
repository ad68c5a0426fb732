"""`stepdesk ask | history | files`: the headless front end, on the same core as the window.

Every failure is one line on stderr and an exit code from DESIGN.md: 2 bad input, 3 API or
network error, 4 authentication (no key or a rejected one), 130 interrupted by the user.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, TextIO

from app.config import EFFORTS, ConfigError, resolve_api_key

if TYPE_CHECKING:
    from app.media.intake import PreparedMedia
    from app.services import Services

EXIT_OK, EXIT_FAILURE, EXIT_BAD_INPUT, EXIT_API, EXIT_AUTH, EXIT_INTERRUPTED = 0, 1, 2, 3, 4, 130
NO_KEY_MESSAGE = (
    "No API key found. Set STEP_API_KEY, or save a key with the Step Desk window "
    "(Settings → API key), which keeps it in the system keychain."
)


class CliError(Exception):
    """A failure the user can act on: printed as one line, exits with `code`."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line and exit 2 like every other bad input."""

    def error(self, message: str) -> NoReturn:
        raise CliError(f"{message} (see `{self.prog} --help`)", EXIT_BAD_INPUT)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="stepdesk", description="Step Desk on the command line.")
    commands = parser.add_subparsers(dest="command", required=True)

    ask = commands.add_parser("ask", help="ask the model; the answer streams to stdout")
    ask.add_argument("prompt", nargs="*", help="the question (joined with spaces)")
    ask.add_argument("--file", "-f", action="append", default=[], type=Path,
                     help="an image or video to show the model (repeatable)")
    ask.add_argument("--effort", choices=EFFORTS, help="reasoning effort (default: settings)")
    ask.add_argument("--model", help="model ID (default: settings)")
    ask.add_argument("--conversation", "-c", type=int, help="continue conversation ID")
    ask.add_argument("--show-reasoning", action="store_true", help="print thinking to stderr")
    ask.add_argument("--verbose", "-v", action="store_true",
                     help="print what was done to each file before sending")
    ask.add_argument("--trim", metavar="START-END",
                     help="send only this part of the video, e.g. 0:00-4:59")
    ask.add_argument("--split", action="store_true",
                     help="send a long video as one turn per part of at most 4:59")
    ask.add_argument("--template", "-t", metavar="SLUG",
                     help="use a task template: its prompt (PROMPT is added after it), "
                          "effort and media (see `stepdesk templates list`)")
    ask.add_argument("--save-tables", metavar="DIR", type=Path,
                     help="write each table of the answer to DIR/table-N.csv (UTF-8)")

    history = commands.add_parser("history", help="browse the local history")
    hist = history.add_subparsers(dest="action", required=True)
    hist.add_parser("list", help="conversations, newest first")
    show = hist.add_parser("show", help="print one conversation")
    show.add_argument("id", type=int)
    search = hist.add_parser("search", help="full-text search over all messages")
    search.add_argument("text", nargs="+")
    export = hist.add_parser("export", help="export a conversation")
    export.add_argument("id", type=int)
    export.add_argument("--format", choices=("md", "json"), default="md")
    export.add_argument("--output", "-o", type=Path, help="file to write (default: stdout)")

    templates = commands.add_parser("templates", help="task templates: list, show, share")
    tpl = templates.add_subparsers(dest="action", required=True)
    tpl.add_parser("list", help="every template (* pinned, b built-in)")
    tshow = tpl.add_parser("show", help="one template, with its prompt")
    tshow.add_argument("slug")
    texport = tpl.add_parser("export", help="write templates as JSON (default: your own)")
    texport.add_argument("slugs", nargs="*", metavar="SLUG", help="only these templates")
    texport.add_argument("--all", action="store_true", help="include the built-ins")
    texport.add_argument("--output", "-o", type=Path, help="file to write (default: stdout)")
    timport = tpl.add_parser("import", help="add the templates of a JSON file "
                                            "(a taken slug gets a -2 suffix)")
    timport.add_argument("file", type=Path)

    files = commands.add_parser("files", help="the account's uploaded files")
    fil = files.add_subparsers(dest="action", required=True)
    fil.add_parser("list", help="uploaded files, with local use")
    prune = fil.add_parser("prune", help="delete least-recently-used uploads")
    prune.add_argument("--keep", type=int, default=900,
                       help="how many recent uploads to keep (default 900 of the 1,000 allowed)")
    return parser


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
            from app.cli_history import run_history

            return await run_history(args, services, out)
        if args.command == "templates":
            from app.cli_templates import run_templates

            return await run_templates(args, services, out)
        from app.cli_files import run_files

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
    from app.cli_ask import (
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


def format_time(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M")
