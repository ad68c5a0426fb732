"""Helpers for driving `stepdesk` in-process and as a real subprocess against the stand-in."""

from __future__ import annotations

import contextlib
import io
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from app.cli.main import run
from tests.conftest import TEST_API_KEY

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Result:
    code: int
    out: str
    err: str


def cli_env(base_url: str, data_dir: Path, *, key: str | None = TEST_API_KEY,
            **extra: str) -> dict[str, str]:
    env = {"STEP_BASE_URL": base_url, "STEPDESK_DATA_DIR": str(data_dir)}
    if key is not None:
        env["STEP_API_KEY"] = key
    env.update(extra)
    return env


def ask(base_url: str, data_dir: Path, *argv: str, key: str | None = TEST_API_KEY,
        **extra: str) -> Result:
    """`stepdesk ask ARGV…` in this process, stdout and stderr captured."""
    return stepdesk(base_url, data_dir, "ask", *argv, key=key, **extra)


def stepdesk(base_url: str, data_dir: Path, *argv: str, key: str | None = TEST_API_KEY,
             **extra: str) -> Result:
    out, err = io.StringIO(), io.StringIO()
    code = run(list(argv), env=cli_env(base_url, data_dir, key=key, **extra),
               stdout=out, stderr=err)
    return Result(code, out.getvalue(), err.getvalue())


def spawn(base_url: str, data_dir: Path, *argv: str, **extra: str) -> subprocess.Popen[str]:
    """A real `python -m app …` process (for signals and crash tests)."""
    env = dict(os.environ)
    env.update(cli_env(base_url, data_dir, **extra))
    env["PYTHONPATH"] = str(ROOT)
    with _sigint_not_ignored():
        return subprocess.Popen([sys.executable, "-m", "app", *argv], cwd=ROOT, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@contextlib.contextmanager
def _sigint_not_ignored() -> Iterator[None]:
    """A child inherits an ignored SIGINT, and a test runner started by a shell's `&` without
    job control (a CI script, `nohup`) ignores it, so its `stepdesk` would never see Ctrl+C.
    While the child starts, the runner takes SIGINT back; the child then starts with the
    default, as from a terminal."""
    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
        yield
        return
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def rows(data_dir: Path, sql: str, *params: object) -> list[tuple[object, ...]]:
    """Read the real SQLite file the CLI wrote, with a separate plain connection."""
    con = sqlite3.connect(data_dir / "stepdesk.db", timeout=5)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()
