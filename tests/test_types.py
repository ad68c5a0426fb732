"""mypy over `app/` (configuration: `[tool.mypy]` in pyproject.toml) reports no errors.

The incremental cache lives in the temp dir, so a second run only re-checks changed modules.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_mypy_finds_no_errors() -> None:
    cache = Path(tempfile.gettempdir()) / "stepdesk-mypy-cache"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "mypy", "--cache-dir", str(cache)],
                          cwd=ROOT, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Success" in proc.stdout
