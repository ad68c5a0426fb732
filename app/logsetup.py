"""Logging to a rotating file in the log dir, with every known secret redacted.

The key can reach a log line through an exception text or a header dump we did not foresee, so
redaction is done on the formatted record, not by trusting call sites.
"""

from __future__ import annotations

import logging
import logging.handlers
import re
from pathlib import Path

_BEARER = re.compile(r"(?i)(bearer\s+|x-api-key[\"':\s]+)[A-Za-z0-9._\-]{8,}")


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
        for secret in self._secrets:
            text = text.replace(secret, "[redacted]")
        return _BEARER.sub(r"\1[redacted]", text)


def setup_logging(log_dir: Path, secrets: list[str]) -> RedactingFormatter:
    """Send the `app` logger to `log_dir/stepdesk.log` (1 MB × 3). Returns the formatter so a
    key entered later (settings dialog) can be added to the redaction list."""
    log_dir.mkdir(parents=True, exist_ok=True)
    formatter = RedactingFormatter(secrets)
    handler = logging.handlers.RotatingFileHandler(
        log_dir / "stepdesk.log", maxBytes=1_000_000, backupCount=3, encoding="utf-8")
    handler.setFormatter(formatter)
    logger = logging.getLogger("app")
    for old in list(logger.handlers):
        logger.removeHandler(old)
        old.close()
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return formatter
