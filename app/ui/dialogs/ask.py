"""Awaiting a dialog's answer without a nested event loop.

A dialog is opened with `open()` and its result signal completes a future, never `exec()`:
a modal loop inside a coroutine breaks qasync (STYLE.md, qasync traps).
"""

from __future__ import annotations

import asyncio
from typing import Any

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QCheckBox, QMessageBox, QWidget


def _settle(future: asyncio.Future[object], *args: Any) -> None:
    if not future.done():
        future.set_result(args[0] if args else None)


async def ask(dialog: QObject, signal_name: str = "finished") -> object:
    """Open a dialog with `open()` and await its result signal."""
    from functools import partial

    future: asyncio.Future[object] = asyncio.get_running_loop().create_future()
    signal = getattr(dialog, signal_name)
    slot = partial(_settle, future)
    signal.connect(slot)
    try:
        dialog.open()  # type: ignore[attr-defined]
        return await future
    finally:
        signal.disconnect(slot)


async def confirm(parent: QWidget, title: str, text: str, informative: str = "",
                  action: str = "Delete", check: str | None = None) -> tuple[bool, bool]:
    """A destructive question: (the user chose `action`, the optional check box is ticked)."""
    box = QMessageBox(QMessageBox.Icon.Question, title, text, parent=parent)
    if informative:
        box.setInformativeText(informative)
    yes = box.addButton(action, QMessageBox.ButtonRole.DestructiveRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    tick = None
    if check is not None:
        tick = QCheckBox(check)
        tick.setChecked(True)
        box.setCheckBox(tick)
    await ask(box)
    chosen = box.clickedButton() is yes
    ticked = tick is not None and tick.isChecked()
    box.deleteLater()
    return chosen, ticked
