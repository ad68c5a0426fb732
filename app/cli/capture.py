"""`stepdesk capture [--region|--window|--screen|--screens] [--template SLUG] [PROMPT]`.

Capture from the command line, so any desktop's own shortcut settings can bind it: the
request goes to the running Step Desk (through the single-instance socket), or starts one in
the background that captures at once. Parsing is here, without Qt (`app.main` passes the
result to `app.ui.app.run_gui`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from app.cli.errors import EXIT_BAD_INPUT, CliError
from app.cli.parser import _Parser


def build_capture_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="stepdesk capture",
                     description="Capture the screen and ask Step Desk about it "
                                 "(bind this to a key in your desktop's settings).")
    mode = parser.add_mutually_exclusive_group()
    for flag, help_text in (("--region", "drag a region (the default)"),
                            ("--window", "click a window"),
                            ("--screen", "the whole screen under the mouse"),
                            ("--screens", "every screen, side by side")):
        mode.add_argument(flag, dest="mode", action="store_const", const=flag[2:],
                          help=help_text)
    parser.add_argument("--template", "-t", metavar="SLUG", default="",
                        help="send at once with this task template (see `stepdesk templates "
                             "list`)")
    parser.add_argument("prompt", nargs="*", help="the question, pre-filled in the panel")
    return parser


def parse_capture(argv: Sequence[str]) -> tuple[str, dict[str, str]]:
    """argv after `capture` → the single-instance command ("capture", options)."""
    args = build_capture_parser().parse_args(list(argv))
    return "capture", {"mode": args.mode or "region", "template": args.template,
                       "prompt": " ".join(args.prompt).strip()}


def capture_command(argv: Sequence[str]) -> tuple[str, dict[str, str]] | int:
    """The command to hand to the GUI, or an exit code (--help printed, bad usage said)."""
    try:
        return parse_capture(argv)
    except SystemExit as exit_:  # --help
        return 0 if not exit_.code else EXIT_BAD_INPUT
    except CliError as exc:
        print(f"stepdesk: {exc}", file=sys.stderr)
        return exc.code
