"""The log file redacts the key even when a call site logs it by mistake."""

from __future__ import annotations

import logging
from pathlib import Path

from app.logsetup import setup_logging


def test_key_and_bearer_headers_are_redacted(tmp_path: Path) -> None:
    key = "sk-live-abcdefghijklmnop1234"
    setup_logging(tmp_path, [key])
    log = logging.getLogger("app.test")
    log.warning("oops %s", key)
    log.warning("headers: Authorization: Bearer sk-other-secret-value-999")
    for handler in logging.getLogger("app").handlers:
        handler.flush()
    text = (tmp_path / "stepdesk.log").read_text(encoding="utf-8")
    assert "oops [redacted]" in text
    assert "Bearer [redacted]" in text
    assert key not in text and "sk-other-secret" not in text
    for handler in list(logging.getLogger("app").handlers):  # leave no open file behind
        logging.getLogger("app").removeHandler(handler)
        handler.close()
