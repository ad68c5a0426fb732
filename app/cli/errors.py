"""Exit codes (DESIGN.md) and the one error type every subcommand raises.

Kept below every subcommand so none of them imports the dispatcher that imports them.
"""

from __future__ import annotations

EXIT_OK, EXIT_FAILURE, EXIT_BAD_INPUT, EXIT_API, EXIT_AUTH, EXIT_INTERRUPTED = 0, 3, 2, 3, 4, 130
EXIT_UNEXPECTED = 1  # a failure nobody foresaw (a bug): one line on stderr, traceback in the log
NO_KEY_MESSAGE = (
    "No API key found. Set STEP_API_KEY, or save a key with the Step Desk window "
    "(Settings → API key), which keeps it in the system keychain."
)


class CliError(Exception):
    """A failure the user can act on: printed as one line, exits with `code`."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code
