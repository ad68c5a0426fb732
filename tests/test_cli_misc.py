"""`stepdesk --version`, history and files commands (the layering rules: test_architecture)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.clihelp import ROOT, ask, rows, stepdesk
from tests.test_cli_ask import make_png


def test_version_imports_nothing_heavy() -> None:
    code = ("import sys, app.main; app.main.main(['--version']); "
            "heavy = [m for m in ('httpx', 'PySide6', 'PIL', 'av', 'qasync') if m in sys.modules]; "
            "print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout
    assert out.splitlines()[0].startswith("stepdesk 0.")
    assert out.splitlines()[1] == "[]"


def test_cli_ask_never_imports_qt_nor_media_for_text(standin, data_dir: Path) -> None:
    """No Qt ever; a question without files loads no media code either (start-up budget)."""
    code = ("import sys, os, app.cli.main; "
            "rc = app.cli.main.run(['ask', 'hi']); "
            "print('QT' if any(m.startswith(('PySide6', 'qasync')) for m in sys.modules) "
            "else 'NOQT', sorted(m for m in sys.modules if m.split('.')[0] in ('PIL', 'av') "
            "or m.startswith('app.media')), rc)")
    env = {"STEP_API_KEY": "sk-standin-test-key-0123456789abcdef",
           "STEP_BASE_URL": standin.base_url, "STEPDESK_DATA_DIR": str(data_dir),
           "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring", "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, env=env, timeout=60)
    assert proc.stdout.strip().endswith("NOQT [] 0"), (proc.stdout, proc.stderr)


def test_history_list_show_search_export(standin, data_dir: Path, tmp_path: Path) -> None:
    image = make_png(tmp_path / "receipt.png")
    assert ask(standin.base_url, data_dir, "--file", str(image), "Total of c++ receipt").code == 0
    listed = stepdesk(standin.base_url, data_dir, "history", "list")
    assert listed.code == 0 and "Total of c++ receipt" in listed.out
    shown = stepdesk(standin.base_url, data_dir, "history", "show", "1")
    assert "receipt.png" in shown.out and "Seen 1 image(s)" in shown.out
    found = stepdesk(standin.base_url, data_dir, "history", "search", "c++")
    assert found.code == 0 and "receipt" in found.out
    assert stepdesk(standin.base_url, data_dir, "history", "search", "AND", "NEAR(").code == 0
    out = tmp_path / "export" / "conv.md"
    out.parent.mkdir()
    exported = stepdesk(standin.base_url, data_dir, "history", "export", "1", "--format", "md",
                        "--output", str(out))
    assert exported.code == 0, exported.err
    text = out.read_text(encoding="utf-8")
    assert "Total of c++ receipt" in text and "The user asks" in text  # reasoning included
    copied = [p for p in out.parent.rglob("*.png")]
    assert copied, "images are copied beside a Markdown export"
    missing = stepdesk(standin.base_url, data_dir, "history", "show", "99")
    assert missing.code == 2 and "99" in missing.err


def test_files_list_and_prune(standin, data_dir: Path, tmp_path: Path) -> None:
    for colour in ((1, 2, 3), (4, 5, 6), (7, 8, 9)):
        image = make_png(tmp_path / f"{colour[0]}.png", colour)
        assert ask(standin.base_url, data_dir, "--file", str(image), "x").code == 0
    listed = stepdesk(standin.base_url, data_dir, "files", "list")
    assert listed.code == 0 and listed.out.count("file-") == 3
    pruned = stepdesk(standin.base_url, data_dir, "files", "prune", "--keep", "1")
    assert pruned.code == 0 and "Deleted 2" in pruned.out
    assert len(standin.files) == 1
    assert len(rows(data_dir, "SELECT * FROM uploads")) == 1


def test_unknown_command_line_is_one_line_error(data_dir: Path) -> None:
    result = stepdesk("http://127.0.0.1:9/v1", data_dir, "history", "frobnicate")
    assert result.code == 2


def test_every_cli_command_is_routed_by_main_not_to_the_window(data_dir: Path) -> None:
    code = ("import sys, app.main; rc = app.main.main(['templates', 'list']); "
            "print('QT' if 'PySide6' in sys.modules else 'NOQT', rc)")
    env = {"STEPDESK_DATA_DIR": str(data_dir), "PATH": "/usr/bin:/bin",
           "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring"}
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, env=env, timeout=60)
    assert "receipt-to-table" in proc.stdout, proc.stderr
    assert proc.stdout.strip().endswith("NOQT 0")
