"""The messages a conversation view shows, and where a new or changed message belongs.

Qt-free on purpose: the view keeps every message here but builds widgets for only a window of
them, so placement (a new turn, a regenerated answer, an edited question, a version switch) is
decided on this plain list and the view then mirrors the change in its widgets.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from app.store import AttachmentRecord, Message

Placement = tuple[Literal["set", "insert"], int, "Message | None"]


def latest_video(messages: Sequence[Message], end: int) -> AttachmentRecord | None:
    """The video the answer at index `end` is about: the last one attached to a question
    before it (the answer's own question, or an earlier one a follow-up refers to)."""
    for index in range(end - 1, -1, -1):
        message = messages[index]
        if message.role == "user":
            video = next((a for a in message.attachments if a.kind == "video"), None)
            if video is not None:
                return video
    return None


def version_root(message: Message) -> int:
    """Id of the first message of `message`'s version group."""
    return int(message.version_of if message.version_of is not None else message.id)


class ConversationModel:
    """Ordered messages with an id index and version groups (root id → ids, oldest first)."""

    def __init__(self) -> None:
        self._messages: list[Message] = []
        self._index: dict[int, int] = {}
        self._versions: dict[int, list[int]] = {}

    def reset(self, messages: Sequence[Message],
              versions: Mapping[int, Sequence[int]] | None) -> None:
        """Replace everything; `versions` maps any message id to its group's ids."""
        self._messages = list(messages)
        self._reindex()
        self._versions = {int(ids[0]): [int(i) for i in ids]
                          for ids in (versions or {}).values() if ids}

    def __len__(self) -> int:
        return len(self._messages)

    def __getitem__(self, index: int) -> Message:
        return self._messages[index]

    def index_of(self, message_id: int) -> int | None:
        return self._index.get(message_id)

    def get(self, message_id: int) -> Message | None:
        index = self._index.get(message_id)
        return None if index is None else self._messages[index]

    def versions_of(self, message: Message) -> list[int]:
        return self._versions.get(version_root(message)) or [int(message.id)]

    def place(self, message: Message) -> Placement:
        """Put `message` over its own version group, as the answer to its user message (over
        the answer there, if any), or at the end. Returns what changed: ("set", index, the
        message replaced) or ("insert", index, None)."""
        root = version_root(message)
        group = self._versions.setdefault(root, [root])
        if int(message.id) not in group:
            group.append(int(message.id))
        index = next((i for i, m in enumerate(self._messages) if version_root(m) == root),
                     None)
        if index is None and message.role == "assistant" and message.reply_to is not None:
            user_index = self._index.get(int(message.reply_to))
            if user_index is not None:
                after = user_index + 1
                if after < len(self._messages) and self._messages[after].role == "assistant":
                    index = after
                else:
                    return self._insert(after, message)
        if index is None:
            return self._insert(len(self._messages), message)
        old = self._messages[index]
        self._messages[index] = message
        self._index.pop(int(old.id), None)
        self._index[int(message.id)] = index
        return "set", index, old

    def update(self, message_id: int, **changes: Any) -> Message | None:
        """Replace fields of a message (status, usage…); returns the new record."""
        index = self._index.get(message_id)
        if index is None:
            return None
        message = replace(self._messages[index], **changes)
        self._messages[index] = message
        return message

    def extend(self, message_id: int, reasoning: str, content: str) -> Message | None:
        """Append streamed text to a message; returns the new record."""
        old = self.get(message_id)
        if old is None:
            return None
        return self.update(message_id, reasoning=old.reasoning + reasoning,
                           content=old.content + content)

    def _insert(self, index: int, message: Message) -> Placement:
        self._messages.insert(index, message)
        self._reindex()
        return "insert", index, None

    def _reindex(self) -> None:
        self._index = {int(m.id): i for i, m in enumerate(self._messages)}
