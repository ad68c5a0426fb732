"""A real WebDAV server per test that asks for one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.sync.davserver import DavServer


@pytest.fixture
def dav(tmp_path: Path) -> Iterator[DavServer]:
    server = DavServer(tmp_path / "dav-root")
    server.start()
    try:
        yield server
    finally:
        server.stop()
