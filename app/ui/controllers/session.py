"""The controllers of one window session, built by the composition root (`ui/app.py`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.ui.controllers.attachments import AttachmentController
    from app.ui.controllers.compare import CompareController
    from app.ui.controllers.conversations import ConversationsController
    from app.ui.controllers.image_edits import SentImageEdits
    from app.ui.controllers.library import Library
    from app.ui.controllers.settings import SettingsController
    from app.ui.controllers.tasks import TaskSet
    from app.ui.controllers.templates import TemplatesController
    from app.ui.controllers.turns import TurnController

SHUTDOWN_BUDGET_S = 2.0
"""Seconds a quit may take to save replies and close HTTP and SQLite (the window's, or the
background instance's when it never built one)."""


@dataclass
class Controllers:
    """What the window is given once the services are open (never the `Library` itself)."""

    tasks: TaskSet
    attachments: AttachmentController
    turns: TurnController
    conversations: ConversationsController
    settings: SettingsController
    templates: TemplatesController
    image_edits: SentImageEdits | None = None  # "Edit again" on sent images
    compare: CompareController | None = None


async def shut_down(controllers: Controllers, library: Library, budget_s: float) -> None:
    """Cancel replies (partial text saved as stopped), background work, then close the HTTP
    client and SQLite."""
    await controllers.turns.shutdown(budget_s * 0.4)
    if controllers.compare is not None:
        await controllers.compare.shutdown(budget_s * 0.2)
    await controllers.tasks.shutdown(budget_s * 0.2)
    controllers.conversations.close()
    await library.aclose()
