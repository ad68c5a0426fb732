"""Entry point: argv → the command line or the window.

Kept import-light on purpose: `stepdesk --version` and every CLI command must never import Qt,
and `--version` must not even import httpx or Pillow (start-up budget).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

CLI_COMMANDS = frozenset({"ask", "history", "files", "templates", "settings", "sync", "backup",
                          "restore"})
USAGE = """usage: stepdesk [FILE ...]            open the window (with these files attached)
       stepdesk ask [options] PROMPT   ask on the command line (stepdesk ask --help)
       stepdesk history list|show|search|export
       stepdesk files list|prune
       stepdesk templates list|show|export|import
       stepdesk sync [status] [--target DIR|URL] | backup [--to …] | restore DEVICE/N
       stepdesk capture [--region|--window|--screen] [--template SLUG] [PROMPT]
       stepdesk settings list|set KEY VALUE|reset KEY
       stepdesk --version"""


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if getattr(sys, "frozen", False):  # long transcodes run in a spawned child process
        import multiprocessing

        multiprocessing.freeze_support()
    if args[:1] in (["--version"], ["-V"]):
        from app import __version__

        print(f"stepdesk {__version__}")
        return 0
    if args[:1] in (["--help"], ["-h"]):
        print(USAGE)
        return 0
    if args[:1] == ["capture"]:  # a GUI command: hands over to (or starts) Step Desk
        from app.cli.capture import capture_command

        command = capture_command(args[1:])
        return command if isinstance(command, int) else _gui([], command)
    if args and args[0] in CLI_COMMANDS:
        from app.cli.main import run

        return run(args)
    return _gui(args)


def _gui(args: list[str], command: tuple[str, dict[str, str]] | None = None) -> int:
    import os
    from pathlib import Path

    smoke = "--smoke-test" in args
    files = [Path(a) for a in args if a != "--smoke-test"]
    unknown = [str(f) for f in files if str(f).startswith("-")]
    if unknown:
        print(f"stepdesk: unknown option {unknown[0]}\n{USAGE}", file=sys.stderr)
        return 2
    os.environ.setdefault("QT_API", "pyside6")  # qasync must pick PySide6, never another binding
    try:
        if smoke:
            from app.ui.smoke.run import run_smoke_test

            return run_smoke_test()
        from app.ui.app import run_gui
    except ImportError as exc:
        print(f"stepdesk: the window cannot start: {exc}", file=sys.stderr)
        return 1
    return run_gui(files, command=command)


if __name__ == "__main__":
    sys.exit(main())
