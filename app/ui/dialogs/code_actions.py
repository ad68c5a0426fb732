"""Saving a code block or a table (as CSV) from an answer to a file the user picks.

The dialog is opened with `open()` and answered through signals, never `exec()`: a nested
modal loop inside the qasync loop breaks running coroutines (STYLE.md, qasync traps).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from app.results.code import suggested_filename


def save_code_block(parent: QWidget, code: str, language: str) -> QFileDialog:
    """Ask where to save `code` (named for its language: `code-1.py`, `Dockerfile`, …)."""
    return _save(parent, "Save code", suggested_filename(language), code)


def save_table_csv(parent: QWidget, csv_text: str, number: int) -> QFileDialog:
    """Ask where to save a table's CSV (`table-N.csv`), written as UTF-8, CRLF kept."""
    return _save(parent, "Save table as CSV", f"table-{number}.csv", csv_text)


def _save(parent: QWidget, title: str, name: str, text: str) -> QFileDialog:
    """Open a Save dialog for `name`; writes `text` (UTF-8, line ends exactly as given)."""
    dialog = QFileDialog(parent, title, name)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
    dialog.fileSelected.connect(lambda path: _write(parent, title, Path(path), text))
    dialog.open()
    return dialog


def _write(parent: QWidget, title: str, path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8", newline="")
    except OSError as error:
        box = QMessageBox(QMessageBox.Icon.Warning, title,
                          f"Could not save {path.name}: {error.strerror or error}.",
                          QMessageBox.StandardButton.Ok, parent)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
