"""The `stepdesk` argument parser: every command, flag and help text in one place."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn, TypeAlias

from app.cli.errors import EXIT_BAD_INPUT, CliError
from app.options import EFFORT, MODEL, OPTIONS


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line and exit 2 like every other bad input."""

    def error(self, message: str) -> NoReturn:
        raise CliError(f"{message} (see `{self.prog} --help`)", EXIT_BAD_INPUT)


SQLITE_MAX_ID = 2**63 - 1
TEXT_OPTIONS = {"prompt": "The prompt", "text": "The search text", "model": "--model",
                "template": "--template", "slug": "The template slug", "slugs": "A template slug",
                "trim": "--trim"}


def record_id(value: str) -> int:
    """A conversation id: a whole number SQLite can hold (a bigger one is a typo, exit 2)."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a conversation number") from None
    if not 0 < number <= SQLITE_MAX_ID:
        raise argparse.ArgumentTypeError(f"{value} is not a conversation number "
                                         "(see `stepdesk history list`)")
    return number


def count(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if not 0 <= number <= 1_000_000:
        raise argparse.ArgumentTypeError(f"{value} is out of range (0 to 1,000,000)")
    return number


def check_text_arguments(args: argparse.Namespace) -> None:
    """Refuse text arguments that are not UTF-8 (argv bytes arrive as lone surrogates).

    File paths may be any bytes (they are only opened); a prompt, a search or a slug must be
    text, or SQLite and JSON would fail later with a traceback.
    """
    for name, label in TEXT_OPTIONS.items():
        value = getattr(args, name, None)
        values = value if isinstance(value, list) else [value]
        for item in values:
            if isinstance(item, str) and _has_surrogates(item):
                raise CliError(f"{label} contains bytes that are not UTF-8 text; nothing was "
                               "done.", EXIT_BAD_INPUT)


def _has_surrogates(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _efforts(text: str) -> tuple[str, ...]:
    from app.compare import parse_efforts

    try:
        return parse_efforts(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


EDIT_FLAGS = {
    "--redact": ("X,Y,W,H", "black out this rectangle before anything leaves the machine"),
    "--box": ("X,Y,W,H", "draw a red rectangle"),
    "--ellipse": ("X,Y,W,H", "draw a red ellipse"),
    "--arrow": ("X1,Y1,X2,Y2", "draw an arrow pointing at X2,Y2"),
    "--callout": ("X,Y[,LABEL]", "place the next numbered marker (#1, #2, …); the model is "
                                 "told what LABEL it stands for"),
    "--crop": ("X,Y,W,H", "send only this rectangle"),
}


class _EditAction(argparse.Action):
    """Records (flag, value, index of the --file it follows) in command-line order."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: str | Sequence[Any] | None, option_string: str | None = None) -> None:
        files = getattr(namespace, "file", None) or []
        recorded = list(getattr(namespace, "edits", None) or [])
        recorded.append((option_string or self.dest, str(values), max(0, len(files) - 1)))
        namespace.edits = recorded


def _add_edit_arguments(ask: argparse.ArgumentParser) -> None:
    group = ask.add_argument_group(
        "image edits", "pixels of the image; each applies to the --file before it "
                       "(before any --file: to the first)")
    for flag, (metavar, help_text) in EDIT_FLAGS.items():
        group.add_argument(flag, action=_EditAction, metavar=metavar, dest="edits",
                           default=[], help=help_text)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The `stepdesk` parser; with `command` one of the commands, only its subparser.

    argparse spends milliseconds per command declared (help formatters, message catalogue
    look-ups), and one run needs one command; any other `command` (a typo, an option) gets
    every command, so the error lists them all.
    """
    parser = _Parser(prog="stepdesk", description="Step Desk on the command line.")
    commands = parser.add_subparsers(dest="command", required=True)
    if command in COMMANDS:
        COMMANDS[command](commands)
    else:
        for add in COMMANDS.values():
            add(commands)
    return parser


Subparsers: TypeAlias = "argparse._SubParsersAction[_Parser]"


def _ask(commands: Subparsers) -> None:
    ask = commands.add_parser("ask", help="ask the model; the answer streams to stdout")
    ask.add_argument("prompt", nargs="*", help="the question (joined with spaces)")
    ask.add_argument("--file", "-f", action="append", default=[], type=Path,
                     help="an image or video to show the model (repeatable)")
    ask.add_argument("--effort", choices=EFFORT.values,
                     help="reasoning effort (default: settings)")
    ask.add_argument("--model", help=f"model ID (default: settings, else {MODEL.default})")
    ask.add_argument("--conversation", "-c", type=record_id, help="continue conversation ID")
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
    ask.add_argument("--compare", metavar="EFFORTS", type=_efforts,
                     help="answer at each of these efforts at once, e.g. low,medium,high; "
                          "all are kept as versions of the turn")
    ask.add_argument("--keep", choices=EFFORT.values,
                     help="with --compare: make this effort's answer the turn's answer")
    ask.add_argument("--json", action="store_true",
                     help="with --compare: print one JSON object with the answers and figures")
    _add_edit_arguments(ask)


def _history(commands: Subparsers) -> None:
    history = commands.add_parser("history", help="browse the local history")
    hist = history.add_subparsers(dest="action", required=True)
    hist.add_parser("list", help="conversations, newest first")
    show = hist.add_parser("show", help="print one conversation")
    show.add_argument("id", type=record_id)
    search = hist.add_parser("search", help="full-text search over all messages")
    search.add_argument("text", nargs="+")
    export = hist.add_parser("export", help="export a conversation")
    export.add_argument("id", type=record_id)
    export.add_argument("--format", choices=("md", "json"), default="md")
    export.add_argument("--output", "-o", type=Path, help="file to write (default: stdout)")
    export.add_argument("--force", action="store_true", help="replace an existing --output file")


def _templates(commands: Subparsers) -> None:
    templates = commands.add_parser("templates", help="task templates: list, show, share")
    tpl = templates.add_subparsers(dest="action", required=True)
    tpl.add_parser("list", help="every template (* pinned, b built-in)")
    tshow = tpl.add_parser("show", help="one template, with its prompt")
    tshow.add_argument("slug")
    texport = tpl.add_parser("export", help="write templates as JSON (default: your own)")
    texport.add_argument("slugs", nargs="*", metavar="SLUG", help="only these templates")
    texport.add_argument("--all", action="store_true", help="include the built-ins")
    texport.add_argument("--output", "-o", type=Path, help="file to write (default: stdout)")
    texport.add_argument("--force", action="store_true",
                         help="replace an existing --output file")
    timport = tpl.add_parser("import", help="add the templates of a JSON file "
                                            "(a taken slug gets a -2 suffix)")
    timport.add_argument("file", type=Path)


def _settings(commands: Subparsers) -> None:
    settings = commands.add_parser("settings", help="the preferences the window also uses")
    sets = settings.add_subparsers(dest="action", required=True)
    sets.add_parser("list", help="every setting, its value and where it comes from")
    keys = [option.key for option in OPTIONS]
    sset = sets.add_parser("set", help="store a setting")
    sset.add_argument("key", choices=keys, metavar="KEY")
    sset.add_argument("value")
    sreset = sets.add_parser("reset", help="back to the default")
    sreset.add_argument("key", choices=keys, metavar="KEY")


def _files(commands: Subparsers) -> None:
    files = commands.add_parser("files", help="the account's uploaded files")
    fil = files.add_subparsers(dest="action", required=True)
    fil.add_parser("list", help="uploaded files, with local use")
    prune = fil.add_parser("prune", help="delete least-recently-used uploads")
    prune.add_argument("--keep", type=count, default=900,
                       help="how many recent uploads to keep (default 900 of the 1,000 allowed)")


def _sync(commands: Subparsers) -> None:
    sync = commands.add_parser("sync", help="two-way encrypted sync with a folder or WebDAV")
    sync.add_argument("action", nargs="?", choices=("status",),
                      help="`status`: last sync, failures, snapshots by device")
    sync.add_argument("--target", metavar="DIR|URL",
                      help="a folder or an https:// WebDAV address (remembered)")


def _backup(commands: Subparsers) -> None:
    backup = commands.add_parser("backup", help="write an encrypted snapshot now")
    backup.add_argument("--to", metavar="DIR|URL", help="where (default: the sync target)")


def _restore(commands: Subparsers) -> None:
    restore = commands.add_parser("restore", help="replace the history by a snapshot "
                                                  "(the current one is kept aside)")
    restore.add_argument("snapshot", metavar="DEVICE/N",
                         help="as listed by `stepdesk sync status` (a device prefix will do)")
    restore.add_argument("--from", dest="source", metavar="DIR|URL",
                         help="where (default: the sync target)")


COMMANDS: dict[str, Callable[[Subparsers], None]] = {
    "ask": _ask, "history": _history, "templates": _templates, "settings": _settings,
    "files": _files, "sync": _sync, "backup": _backup, "restore": _restore}
