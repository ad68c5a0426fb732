"""What a write changed, so views refresh only that (Anki's "OpChanges" pattern).

Every `Store` write that a window could show reports a `Changes` value to the store's
listeners, on the event loop, after the write committed. A listener (the window's
conversations controller) reloads just the conversations named, instead of the whole list
after every turn. Appending reply text reports nothing: a stream is followed through the turn's
own events, not through the database.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Changes:
    """Conversations touched (created, renamed, pinned, new or finished messages), deleted,
    and whether the uploads, templates or a setting changed."""

    conversations: frozenset[int] = field(default_factory=frozenset)
    deleted: frozenset[int] = field(default_factory=frozenset)
    uploads: bool = False
    templates: bool = False
    settings: frozenset[str] = field(default_factory=frozenset)

    def __or__(self, other: Changes) -> Changes:
        return Changes(self.conversations | other.conversations, self.deleted | other.deleted,
                       self.uploads or other.uploads, self.templates or other.templates,
                       self.settings | other.settings)

    def __bool__(self) -> bool:
        return bool(self.conversations or self.deleted or self.uploads or self.templates
                    or self.settings)


ChangeListener = Callable[[Changes], None]


class ChangeFeed:
    """The store's listeners; `report` calls each (a failing listener is not the writer's
    problem, so it is logged and the others still hear about the change)."""

    def __init__(self) -> None:
        self._listeners: dict[int, ChangeListener] = {}
        self._next = itertools.count()

    def subscribe(self, listener: ChangeListener) -> Callable[[], None]:
        """Add a listener; returns the function that removes it again.

        The returned function refers to the listener only through this feed, so a listener
        that keeps it (a controller's bound method) is no longer in a reference cycle once
        it has unsubscribed: the controller is freed by reference counting, on its thread.
        """
        key = next(self._next)
        listeners = self._listeners
        listeners[key] = listener

        def unsubscribe() -> None:
            listeners.pop(key, None)

        return unsubscribe

    def report(self, changes: Changes) -> None:
        import logging

        for listener in list(self._listeners.values()):
            try:
                listener(changes)
            except Exception:
                logging.getLogger(__name__).exception("a change listener failed")
