"""`TaskSet`: the window's fire-and-forget work, so failures surface and closing can await it.

The window makes its task set before its first paint, which happens before asyncio is
imported (`ui/first_paint.py`), so asyncio is imported by the first task, not here.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import asyncio

log = logging.getLogger(__name__)


class TaskSet:
    """Owns background tasks; failures go to `on_error` instead of vanishing."""

    def __init__(self, on_error: Callable[[str], None] | None = None) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()
        self._on_error = on_error

    def set_error_handler(self, on_error: Callable[[str], None]) -> None:
        """Where failures are reported (the window's status bar, once it exists)."""
        self._on_error = on_error

    def spawn(self, coro: Awaitable[Any], name: str = "") -> asyncio.Task[Any]:
        import asyncio

        task = asyncio.ensure_future(coro)
        if name:
            task.set_name(name)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            log.error("background task %s failed", task.get_name(), exc_info=exc)
            if self._on_error is not None:
                self._on_error(str(exc) or type(exc).__name__)

    async def shutdown(self, timeout: float) -> None:
        import asyncio

        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=timeout)
        self._on_error = None
