"""Real `stepdesk` processes: Ctrl+C, SIGKILL mid-stream, and a reader beside a live stream."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.clihelp import rows, spawn, stepdesk

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


def wait_for_partial(data_dir: Path, timeout: float = 15.0) -> tuple[str, str]:
    """Wait until the streaming reply has been flushed to disk at least once."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            found = rows(data_dir, "SELECT content, reasoning FROM messages "
                                   "WHERE role='assistant' AND status='streaming'")
        except sqlite3.OperationalError:
            found = []
        if found and found[0][0]:
            return found[0]  # type: ignore[return-value]
        time.sleep(0.05)
    raise AssertionError("the reply never reached the database")


def test_sigkill_mid_stream_leaves_intact_db_marked_interrupted_next_start(
        standin, data_dir: Path) -> None:
    standin.fault("paced", count=4000, duration=20)
    proc = spawn(standin.base_url, data_dir, "ask", "tell me everything")
    try:
        partial = wait_for_partial(data_dir)
    finally:
        proc.kill()
        proc.communicate(timeout=10)
    assert rows(data_dir, "PRAGMA integrity_check") == [("ok",)]
    user = rows(data_dir, "SELECT content FROM messages WHERE role='user'")
    assert user == [("tell me everything",)]
    # The next start of any Step Desk process marks the orphan as interrupted.
    listed = stepdesk(standin.base_url, data_dir, "history", "list")
    assert listed.code == 0
    content, status = rows(data_dir, "SELECT content, status FROM messages "
                                     "WHERE role='assistant'")[0]
    assert status == "interrupted"
    assert content.startswith(partial[0])  # nothing that had reached the disk was lost


def test_ctrl_c_keeps_partial_reply_as_stopped_exit_130(standin, data_dir: Path) -> None:
    standin.fault("paced", count=4000, duration=20)
    proc = spawn(standin.base_url, data_dir, "ask", "go on", PYTHONFAULTHANDLER="1")
    try:
        wait_for_partial(data_dir)
        proc.send_signal(signal.SIGINT)
        try:
            _, err = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:  # where it is stuck: faulthandler's stacks
            proc.send_signal(signal.SIGABRT)
            _, err = proc.communicate(timeout=10)
            pytest.fail(f"Ctrl+C did not end the process within 10 s:\n{err[-8000:]}")
    finally:
        proc.kill()
        proc.communicate()
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    content, status = rows(data_dir, "SELECT content, status FROM messages "
                                     "WHERE role='assistant'")[0]
    assert status == "stopped"
    assert content


def test_reader_beside_live_stream_does_not_disturb_it(standin, data_dir: Path) -> None:
    standin.fault("paced", count=600, duration=3)
    proc = spawn(standin.base_url, data_dir, "ask", "stream please")
    try:
        wait_for_partial(data_dir)
        for _ in range(3):  # other processes start up (running crash recovery) and read
            listed = stepdesk(standin.base_url, data_dir, "history", "show", "1")
            assert listed.code == 0, listed.err
            assert "stream please" in listed.out
        assert rows(data_dir, "SELECT status FROM messages WHERE role='assistant'") == [
            ("streaming",)]
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
        proc.communicate()
    assert proc.returncode == 0, err
    content, status = rows(data_dir, "SELECT content, status FROM messages "
                                     "WHERE role='assistant'")[0]
    assert status == "complete"
    assert content == out.rstrip("\n")


def test_reader_leaving_mid_stream_keeps_reply_as_stopped_at_once(
        standin, data_dir: Path) -> None:
    """`stepdesk ask … | head`: the pipe closes under the stream; the reply is kept as stopped
    by this process (not left "streaming" for the next start to call interrupted)."""
    standin.fault("paced", count=4000, duration=20)
    proc = spawn(standin.base_url, data_dir, "ask", "long answer please")
    try:
        assert proc.stdout is not None
        assert proc.stdout.read(1)  # the answer has begun to arrive
        wait_for_partial(data_dir)
        proc.stdout.close()  # the reader leaves, as `head` does
        _, err = proc.communicate(timeout=15)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    content, status = rows(data_dir, "SELECT content, status FROM messages "
                                     "WHERE role='assistant'")[0]
    assert status == "stopped"
    assert content
