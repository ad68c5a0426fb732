"""Saving a code block from an answer to a file the user picks.

The dialog is opened with `open()` and answered through signals, never `exec()`: a nested
modal loop inside the qasync loop breaks running coroutines (STYLE.md, qasync traps).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

CODE_SUFFIXES = {"python": "py", "py": "py", "javascript": "js", "js": "js",
                 "typescript": "ts", "ts": "ts", "bash": "sh", "sh": "sh", "shell": "sh",
                 "json": "json", "html": "html", "css": "css", "c": "c", "cpp": "cpp",
                 "rust": "rs", "go": "go", "java": "java", "sql": "sql", "yaml": "yaml"}
"""Fence language → file suffix offered in the dialog (anything else: .txt)."""


def save_code_block(parent: QWidget, code: str, language: str) -> QFileDialog:
    """Ask where to save `code` and write it there (UTF-8); returns the open dialog."""
    suffix = CODE_SUFFIXES.get(language.lower(), "txt")
    dialog = QFileDialog(parent, "Save code", f"code.{suffix}")
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
    dialog.fileSelected.connect(lambda path: _write(parent, Path(path), code))
    dialog.open()
    return dialog


def _write(parent: QWidget, path: Path, code: str) -> None:
    try:
        path.write_text(code, encoding="utf-8")
    except OSError as error:
        box = QMessageBox(QMessageBox.Icon.Warning, "Save code",
                          f"Could not save {path.name}: {error.strerror or error}.",
                          QMessageBox.StandardButton.Ok, parent)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
