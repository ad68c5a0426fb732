""""Edit again" on an image already sent: reopen its edits, resend as a new version of the turn.

The editor opens on the blob the stored steps apply to (`attachments.edit_base`): the
unedited original when the user kept it, otherwise the original with its redactions and crop
burnt in, so a redaction of an original that was not kept can never be undone. An image sent
without edits opens as sent. The answer goes through the same intake as a new attachment and
`TurnController.edit_and_resend` makes a new version of the user turn (text unchanged).

Signals:
    opened(int, object, str, bool): token, `OpenedImage`, name, keep-original default.
    failed(str): one sentence when the image cannot be reopened or prepared.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

if TYPE_CHECKING:
    from app.media.edit_steps import EditSteps
    from app.store import AttachmentRecord, Message
    from app.ui.controllers.library import Library
    from app.ui.controllers.tasks import TaskSet
    from app.ui.controllers.turns import TurnController
    from app.ui.widgets.edit_canvas import OpenedImage


@dataclass(frozen=True)
class _Reopened:
    message: Message
    record: AttachmentRecord
    base: Path


class SentImageEdits(QObject):
    """See the module docstring."""

    opened = Signal(int, object, str, bool)
    failed = Signal(str)

    def __init__(self, library: Library, turns: TurnController, tasks: TaskSet,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._library = library
        self._turns = turns
        self._tasks = tasks
        self._open: dict[int, _Reopened] = {}
        self._busy: set[tuple[int, int]] = set()  # (message id, ordinal) opening or open
        self._next = 1

    def edit_again(self, message_id: int, ordinal: int) -> None:
        """Open the editor on a sent image; once per image while its editor is open (two
        would each resend the turn)."""
        if (message_id, ordinal) in self._busy:
            return
        self._busy.add((message_id, ordinal))
        self._tasks.spawn(self._reopen(message_id, ordinal), f"edit-again-{message_id}")

    async def _reopen(self, message_id: int, ordinal: int) -> None:
        token = None
        try:
            token = await self._open_editor(message_id, ordinal)
        finally:
            if token is None:  # not opened: it may be tried again
                self._busy.discard((message_id, ordinal))

    async def _open_editor(self, message_id: int, ordinal: int) -> int | None:
        from app.media.edit_steps import NO_EDITS, EditError, EditSteps
        from app.media.errors import MediaError

        found = await self._library.messages([message_id])
        message = found[0] if found else None
        record = None if message is None else next(
            (a for a in message.attachments if a.ordinal == ordinal and a.kind == "image"), None)
        if message is None or record is None or message.role != "user":
            self.failed.emit("That image is no longer in this conversation.")
            return None
        base = self._library.blob_path(record.edit_base or record.sha256)
        name = record.original_name or "image"
        if base is None:
            self.failed.emit(f"{name} is no longer stored on this computer, so it cannot be "
                             "edited again.")
            return None
        try:
            steps = EditSteps.from_json(record.edits) if record.edits else NO_EDITS
            session = await asyncio.to_thread(_open_session, base, name, steps)
        except (EditError, MediaError, OSError) as exc:
            self.failed.emit(f"{name} cannot be edited again: "
                             f"{getattr(exc, 'strerror', None) or exc}")
            return None
        token = self._next
        self._next += 1
        self._open[token] = _Reopened(message, record, base)
        # Redactions and crop are still steps only when the original was kept.
        self.opened.emit(token, session, name, steps.destructive())
        return token

    def apply(self, token: int, steps: EditSteps, keep_original: bool) -> None:
        """The editor's answer: prepare the image again and resend the turn with it."""
        reopened = self._open.pop(token, None)
        if reopened is not None:
            self._busy.discard((reopened.message.id, reopened.record.ordinal))
            self._tasks.spawn(self._resend(reopened, steps, keep_original), "edit-again-send")

    async def _resend(self, reopened: _Reopened, steps: EditSteps, keep: bool) -> None:
        from app.media.edit_steps import EditRequest
        from app.media.errors import MediaError
        from app.media.intake import IntakeOptions, prepare

        record, message = reopened.record, reopened.message
        try:
            item = await prepare(reopened.base, work_dir=self._library.work_dir,
                                 name=record.original_name,
                                 options=IntakeOptions(edit=EditRequest(steps, keep)))
        except MediaError as exc:
            self.failed.emit(str(exc))
            return
        started = self._turns.edit_and_resend(message.conversation_id, message.id,
                                              message.content, replace={record.ordinal: item})
        if not started:
            from app.media.intake import discard

            discard(item)
            self.failed.emit("A reply is still running in this conversation; try again when "
                             "it has finished.")

    def forget(self, token: int) -> None:
        """The editor was closed without using its edits."""
        reopened = self._open.pop(token, None)
        if reopened is not None:
            self._busy.discard((reopened.message.id, reopened.record.ordinal))


def _open_session(path: Path, name: str, steps: EditSteps) -> OpenedImage:
    """In a worker thread: read the stored base and decode it for the editor."""
    from app.ui.widgets.edit_canvas import open_for_editing

    return open_for_editing(path.read_bytes(), name, steps)
