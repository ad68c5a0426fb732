"""Helpers for the hostile-input tables: real OS failures in a child `stepdesk` process.

- `run_limited(..., fsize=N)`: the child may not write past N bytes in any file
  (`RLIMIT_FSIZE`; Python ignores SIGXFSZ, so writes fail with EFBIG like a full disk).
- `run_unprivileged(...)`: as root, the child loses CAP_DAC_OVERRIDE / CAP_DAC_READ_SEARCH
  from its bounding set before exec, so file modes bind it as they bind a normal user (a
  read-only folder is read-only). Needs CAP_SETPCAP, which root has in a default container.
"""

from __future__ import annotations

import ctypes
import os
import resource
import subprocess
import sys
from pathlib import Path

from tests.clihelp import ROOT, Result, cli_env

PR_CAPBSET_DROP = 24
CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH = 1, 2


def _child(argv: list[str], env_extra: dict[str, str], preexec: object,
           timeout: float = 120) -> Result:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STEP")}
    env.update(env_extra)
    env["PYTHONPATH"] = str(ROOT)
    proc = subprocess.run([sys.executable, "-m", "app", *argv], cwd=ROOT, env=env,
                          capture_output=True, preexec_fn=preexec,  # type: ignore[arg-type]
                          timeout=timeout)
    return Result(proc.returncode, proc.stdout.decode("utf-8", "replace"),
                  proc.stderr.decode("utf-8", "replace"))


def run_limited(base_url: str, data_dir: Path, *argv: str, fsize: int, **extra: str) -> Result:
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))

    return _child(list(argv), cli_env(base_url, data_dir, **extra), limit)


def run_unprivileged(base_url: str, data_dir: Path, *argv: str, **extra: str) -> Result:
    def drop() -> None:
        if os.geteuid() != 0:
            return
        libc = ctypes.CDLL(None, use_errno=True)
        for cap in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
            if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
                raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")

    return _child(list(argv), cli_env(base_url, data_dir, **extra), drop)


def one_line(result: Result) -> str:
    """The single stderr line of a failed command (asserting there is exactly one)."""
    assert "Traceback" not in result.err, result.err
    lines = result.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("stepdesk: "), result.err
    return lines[0]
