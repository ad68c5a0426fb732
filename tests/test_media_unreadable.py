"""An unreadable file (mode 000) is refused with a reason — checked for real even as root.

Root reads mode-000 files anyway, so when the suite runs as root (as CI does) the intake runs
in a child process started by `setpriv` without the two capabilities that let root bypass file
permissions (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH): then the kernel refuses the read.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.clihelp import ROOT

CHILD = """
import sys
from pathlib import Path
from app.media.errors import MediaError
from app.media.intake import prepare_sync
try:
    prepare_sync(Path(sys.argv[1]), work_dir=Path(sys.argv[2]))
except MediaError as exc:
    print(exc)
"""


def _without_root_file_powers() -> list[str]:
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root and util-linux's setpriv is not installed")
    return [setpriv, "--bounding-set", "-dac_override,-dac_read_search"]


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX file modes")
def test_unreadable_file_is_refused_with_reason(tmp_path: Path) -> None:
    locked = tmp_path / "locked.png"
    locked.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    work = tmp_path / "work"
    work.mkdir()
    locked.chmod(0)
    try:
        proc = subprocess.run(
            [*_without_root_file_powers(), sys.executable, "-c", CHILD, str(locked), str(work)],
            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True,
            text=True, timeout=60)
    finally:
        locked.chmod(0o600)
    assert proc.stdout.strip() == \
        "Step Desk is not allowed to read “locked.png” (permission denied).", proc.stderr
