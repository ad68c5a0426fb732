"""`stepdesk --smoke-test` from source (the frozen one is in test_packaging.py), and the
macOS "Open With" hook it relies on."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QUrl
from PySide6.QtGui import QFileOpenEvent

from app.ui.platform.file_open import install_file_open

ROOT = Path(__file__).resolve().parents[1]


def smoke(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    full = dict(os.environ, PYTHONPATH=str(ROOT), **env)
    return subprocess.run([sys.executable, "-m", "app", "--smoke-test"], cwd=tmp_path, env=full,
                          capture_output=True, text=True, timeout=90)


def test_smoke_test_from_source_passes_offscreen(tmp_path: Path) -> None:
    proc = smoke(tmp_path, QT_QPA_PLATFORM="offscreen")
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert "frozen=False" in proc.stdout
    for check in ("conversation: Markdown table", "file open:", "ffmpeg", "keyring:"):
        assert check in proc.stdout, check
    assert proc.stdout.rstrip().splitlines()[-1].startswith("stepdesk smoke test passed in")


def test_smoke_test_fails_loudly_in_one_line_without_its_platform_plugin(tmp_path: Path) -> None:
    proc = smoke(tmp_path, QT_QPA_PLATFORM="nosuchplatform")
    assert proc.returncode == 1
    assert proc.stderr.startswith("stepdesk smoke test FAILED: qt platform plugin "
                                  "'nosuchplatform' missing")
    assert len(proc.stderr.strip().splitlines()) == 1


def test_file_open_events_arrive_as_one_list_per_gesture(qapp: Any, qtbot: Any,
                                                         tmp_path: Path) -> None:
    received: list[list[str]] = []
    handler = install_file_open(qapp, received.append)
    try:
        first, second = str(tmp_path / "a.png"), str(tmp_path / "b.mp4")
        for path in (first, second, first):  # Finder sends one event per file
            assert qapp.sendEvent(qapp, QFileOpenEvent(path))
        assert qapp.sendEvent(qapp, QFileOpenEvent(QUrl("https://example.com/c.png")))
        qtbot.waitUntil(lambda: bool(received), timeout=2000)
        assert received == [[first, second]]
        assert handler.eventFilter(qapp, QEvent(QEvent.Type.User)) is False  # others pass
    finally:
        qapp.removeEventFilter(handler)
        handler.deleteLater()
