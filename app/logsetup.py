"""Logging to a rotating file in the log dir, with every known secret redacted.

The key can reach a log line through an exception text or a header dump we did not foresee, so
redaction is done on the formatted record (traceback included) by `app.redact.redact`, not by
trusting call sites. The log files are created 0600 in a 0700 folder.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
from io import TextIOWrapper
from pathlib import Path

from app.fsmodes import PRIVATE_FILE, private_dir
from app.redact import redact


class RedactingFormatter(logging.Formatter):
    def __init__(self, secrets: list[str]) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self._secrets = [s for s in secrets if s]

    def add_secret(self, secret: str) -> None:
        if secret and secret not in self._secrets:
            self._secrets.append(secret)

    def format(self, record: logging.LogRecord) -> str:
        return self.redact(super().format(record))

    def redact(self, text: str) -> str:
        return redact(text, self._secrets)


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A rotating log whose files are 0600 from the moment they are created."""

    def _open(self) -> TextIOWrapper:
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, PRIVATE_FILE)
        if hasattr(os, "fchmod"):
            os.fchmod(fd, PRIVATE_FILE)
        handle = os.fdopen(fd, "a", encoding=self.encoding, errors=self.errors)
        assert isinstance(handle, TextIOWrapper)  # text mode: always a TextIOWrapper
        return handle


def setup_logging(log_dir: Path, secrets: list[str]) -> RedactingFormatter:
    """Send the `app` logger to `log_dir/stepdesk.log` (1 MB × 3). Returns the formatter so a
    key entered later (settings dialog) can be added to the redaction list."""
    formatter = RedactingFormatter(secrets)
    logger = logging.getLogger("app")
    for old in list(logger.handlers):
        logger.removeHandler(old)
        old.close()
    try:
        private_dir(log_dir)
        handler = PrivateRotatingFileHandler(
            log_dir / "stepdesk.log", maxBytes=1_000_000, backupCount=3, encoding="utf-8")
    except OSError:  # a read-only or full log folder must not stop the app: log nowhere
        logger.addHandler(logging.NullHandler())
    else:
        handler.setFormatter(formatter)
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return formatter
