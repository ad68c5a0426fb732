"""Fixtures shared by every test: an isolated data dir and a running API stand-in."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

# No test may reach a real keychain, a proxy, or a display.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["QT_API"] = "pyside6"
os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.null.Keyring"
for _var in ("STEP_API_KEY", "STEP_BASE_URL", "STEPDESK_DATA_DIR", "HTTPS_PROXY", "HTTP_PROXY",
             "https_proxy", "http_proxy", "ALL_PROXY", "all_proxy"):
    os.environ.pop(_var, None)

TEST_API_KEY = "sk-standin-test-key-0123456789abcdef"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A fresh Step Desk data dir for one test."""
    path = tmp_path / "data"
    path.mkdir()
    return path


@pytest.fixture
def standin() -> Iterator[object]:
    """A real HTTP stand-in of the StepFun API on 127.0.0.1, in its own thread."""
    from tests.standin import StandIn

    server = StandIn(api_key=TEST_API_KEY)
    server.start()
    try:
        yield server
    finally:
        server.stop()
