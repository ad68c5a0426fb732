"""The conversation on screen, its messages, the list beside it, and what the user does to them.

The controller owns the current conversation id, the messages shown (by id), which replies
stream into the view (`live`), the conversation list as last reported, and the edit state. It
reaches the store only through `Library` and hears about writes through the store's change
feed, so the list refreshes just the conversations a write names. A turn is shown
incrementally: `reply_started` once (its question and an answer holding what streamed so
far), then deltas, then `reply_finished`; a whole conversation is shown (`shown`) only when
the user opens one.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from app.ui.controllers.turns import NEW

if TYPE_CHECKING:
    from pathlib import Path

    from app.media.intake import PreparedMedia
    from app.store import Changes, Conversation, Message
    from app.templates.model import Template
    from app.ui.controllers.attachments import AttachmentController
    from app.ui.controllers.library import Library
    from app.ui.controllers.tasks import TaskSet
    from app.ui.controllers.turns import TurnController


@dataclass(frozen=True)
class Shown:
    """A conversation opened in the view (`conversation_id` None: a new, empty one)."""

    conversation_id: int | None
    messages: list[Message]
    versions: dict[int, list[int]]
    thumbnail_for: Callable[[str], Path | None]
    effort: str
    busy: bool


def list_order(conversation: Conversation) -> tuple[bool, int, int]:
    """The store's list order: pinned first, then the most recently updated."""
    return (not conversation.pinned, -conversation.updated_at, -conversation.id)


class ConversationsController(QObject):
    """Signals:
        list_changed(list, object): every listed conversation (ordered), the current id or None.
        shown(Shown): a conversation (or a new one) is to be shown from scratch.
        reply_started(object, object): user Message (None if already shown) and the assistant
            Message of a turn in the shown conversation, with what streamed so far.
        reasoning(int, str), content(int, str): assistant id, delta — for a live reply.
        usage(int, int, int, int): assistant id, prompt, completion, cached tokens.
        reply_finished(int, str, str): assistant id, status, error ("" unless failed).
        message_replaced(object): show this version of a message in its place.
        revealed(int): scroll to this message (a search hit).
        tokens(str): the status bar's token summary.
        busy(bool): whether a turn runs in the shown conversation.
        search_results(str, list): query, hits.
        uploads(list, object): uploaded files, a note or None.
        edit_started(str): the text of the question being edited; edit_ended(): no edit.
        key_needed(): a send needs an API key first (open the settings).
        note(str), error(str): one sentence for the status bar.
    """

    list_changed = Signal(list, object)
    shown = Signal(object)
    reply_started = Signal(object, object)
    reasoning = Signal(int, str)
    content = Signal(int, str)
    usage = Signal(int, int, int, int)
    reply_finished = Signal(int, str, str)
    message_replaced = Signal(object)
    revealed = Signal(int)
    tokens = Signal(str)
    busy = Signal(bool)
    search_results = Signal(str, list)
    uploads = Signal(list, object)
    edit_started = Signal(str)
    edit_ended = Signal()
    key_needed = Signal()
    note = Signal(str)
    error = Signal(str)

    def __init__(self, library: Library, turns: TurnController,
                 attachments: AttachmentController, tasks: TaskSet,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.library = library
        self.turns = turns
        self.attachments = attachments
        self.tasks = tasks
        self.current: int | None = None
        self.shown_messages: dict[int, Message] = {}
        self.live: set[int] = set()  # assistant ids streaming into the view right now
        self.editing: int | None = None
        self._listed: dict[int, Conversation] = {}
        self._show_seq = 0
        self._search_seq = 0
        self._uploads_wanted = False
        self._new_conversation_effort: str | None = None  # a template's turn, see send()
        self._pending: Changes | None = None
        self._unsubscribe = library.subscribe(self._on_changes)
        turns.turn_started.connect(self._on_turn_started)
        turns.reasoning.connect(self._on_reasoning)
        turns.content.connect(self._on_content)
        turns.usage.connect(self._on_usage)
        turns.turn_ended.connect(self._on_turn_ended)
        turns.busy_changed.connect(self._on_busy)

    def close(self) -> None:
        """Stop listening (the window is closing; the store closes after this)."""
        self._unsubscribe()

    @property
    def key(self) -> int:
        return NEW if self.current is None else self.current

    # --- the list ------------------------------------------------------------------------
    async def load_list(self) -> None:
        self._listed = {c.id: c for c in await self.library.conversations()}
        self._emit_list()

    def _emit_list(self) -> None:
        self.list_changed.emit(sorted(self._listed.values(), key=list_order), self.current)

    def _on_changes(self, changes: Changes) -> None:
        """A store write committed: coalesce what it names, refresh once per loop turn."""
        if self._pending is None:
            self._pending = changes
            asyncio.get_running_loop().call_soon(self._apply_pending)
        else:
            self._pending = self._pending | changes

    def _apply_pending(self) -> None:
        changes, self._pending = self._pending, None
        if changes:
            self.tasks.spawn(self._refresh(changes), "list")

    async def _refresh(self, changes: Changes) -> None:
        touched = False
        for conversation_id in changes.deleted:
            touched |= self._listed.pop(conversation_id, None) is not None
        for conversation_id in sorted(changes.conversations - changes.deleted):
            conversation = await self.library.conversation(conversation_id)
            if conversation is None:
                touched |= self._listed.pop(conversation_id, None) is not None
            elif self._listed.get(conversation_id) != conversation:
                self._listed[conversation_id] = conversation
                touched = True
        if touched:
            self._emit_list()
        if changes.uploads and self._uploads_wanted:
            await self._send_uploads()

    def conversation_ids(self) -> list[int]:
        return [c.id for c in sorted(self._listed.values(), key=list_order)]

    # --- showing -------------------------------------------------------------------------
    async def show_last(self) -> None:
        """At start-up: the conversation shown last time, else the newest, else a new one."""
        last = await self.library.last_conversation()
        ids = self.conversation_ids()
        target = last if last in self._listed else (max(ids) if ids else None)
        if target is not None:
            await self.show(target)
        else:
            self.new_conversation(remember=False)

    def open(self, conversation_id: int) -> None:
        if conversation_id != self.current:
            self.tasks.spawn(self.show(conversation_id), "open")

    def open_hit(self, conversation_id: int, message_id: int) -> None:
        self.tasks.spawn(self._open_hit(conversation_id, message_id), "open")

    async def _open_hit(self, conversation_id: int, message_id: int) -> None:
        if conversation_id != self.current:
            await self.show(conversation_id)
        if message_id not in self.shown_messages:  # an older version, not on the shown path
            self.note.emit("That match is in an earlier version of a message.")
            return
        self.revealed.emit(message_id)

    async def show(self, conversation_id: int, remember: bool = True) -> None:
        """Open a conversation: the view is rebuilt from the store (the only rebuild)."""
        self._show_seq += 1
        seq = self._show_seq
        data = await self.library.load(conversation_id)
        if seq != self._show_seq:
            return  # the user already moved on
        if data is None:
            self._listed.pop(conversation_id, None)
            self._emit_list()
            self.new_conversation()
            return
        self.cancel_edit()
        self.current = conversation_id
        self.live.clear()
        self.shown_messages = {m.id: m for m in data.messages}
        self.shown.emit(Shown(conversation_id, data.messages, data.versions,
                              self.library.thumbnail_path,
                              data.conversation.effort or self.library.settings.effort,
                              self.turns.is_busy(conversation_id)))
        self._attach_live(conversation_id)
        self._emit_list()
        self._emit_tokens()
        if remember:
            await self.library.remember_current(conversation_id)

    def _attach_live(self, conversation_id: int) -> None:
        """After opening a conversation: put its running replies' text so far in place."""
        for run in self.turns.runs_in(conversation_id):
            message = (self.shown_messages.get(run.assistant_id)
                       if run.assistant_id is not None else None)
            if message is None:
                continue
            self.message_replaced.emit(dataclasses.replace(
                message, reasoning="".join(run.reasoning), content="".join(run.content),
                status="streaming"))
            self.live.add(message.id)

    def new_conversation(self, remember: bool = True) -> None:
        self._show_seq += 1
        self.cancel_edit()
        self.current = None
        self.live.clear()
        self.shown_messages = {}
        self.shown.emit(Shown(None, [], {}, self.library.thumbnail_path,
                              self.library.settings.effort, self.turns.is_busy(NEW)))
        self._emit_list()
        self._emit_tokens()
        if remember:
            self.tasks.spawn(self.library.remember_current(None), "remember")

    def _emit_tokens(self, last: int | None = None) -> None:
        messages = [m for m in self.shown_messages.values() if m.role == "assistant"]
        total = sum((m.prompt_tokens or 0) + (m.completion_tokens or 0) for m in messages)
        if last is None:
            last = next((m.completion_tokens or 0 for m in reversed(messages)), 0)
        self.tokens.emit(f"Last answer {last:,} tokens · conversation {total:,} tokens"
                         if messages else "")

    # --- turns ---------------------------------------------------------------------------
    def send(self, text: str, effort: str, model: str, template: Template | None) -> bool:
        """Start a turn from the composer; True when it started (the composer empties)."""
        lib, media_source = self.library, self.attachments
        if lib.connecting:
            self.note.emit("Step Desk is still connecting…")
            return False
        if not lib.has_key:
            self.key_needed.emit()
            return False
        if media_source.preparing():
            self.note.emit("Attachments are still being prepared…")
            return False
        problem = media_source.limit_problem()
        if problem:
            self.error.emit(problem)
            return False
        text = text.strip()
        if self.editing is not None and self.current is not None:
            if not text:
                return False
            started = self.turns.edit_and_resend(self.current, self.editing, text, effort=effort)
            if started:
                self.cancel_edit()
            return started
        if template is not None:  # its effort, for this turn only; its media, or nothing
            problem = template.media_problem([m.kind for m in media_source.ready()])
            if problem:
                self.error.emit(f"{problem} Drop, paste or attach it, then send.")
                return False
            if self.current is None:  # the new conversation keeps the selector's effort
                self._new_conversation_effort = effort
            effort = template.effort
        if not text and not media_source.ready():
            return False
        media = media_source.take_for_send()
        title = None
        if template is not None:
            from app.chat import template_title

            own_words = text.removeprefix(template.prompt.strip()).strip()
            title = template_title(template.name, own_words, [m.original_name for m in media])
        started = self.turns.send(self.current, text, media, effort=effort, model=model,
                                  title=title,
                                  template=template.slug if template is not None else None)
        if started and template is not None:
            self.note.emit(f"{template.name}: sent with effort {template.effort.title()} "
                           "(template).")
        return started

    def take_for_compare(self, text: str, template: Template | None
                         ) -> tuple[int | None, str, list[PreparedMedia], str | None] | None:
        """What the composer holds, taken for a comparison (the checks `send` makes):
        (conversation id, text, media, title), or None with the reason already emitted."""
        lib, media_source = self.library, self.attachments
        if lib.connecting:
            self.note.emit("Step Desk is still connecting…")
            return None
        if not lib.has_key:
            self.key_needed.emit()
            return None
        if media_source.preparing():
            self.note.emit("Attachments are still being prepared…")
            return None
        problem = media_source.limit_problem() or (
            template.media_problem([m.kind for m in media_source.ready()])
            if template is not None else None)
        if problem:
            self.error.emit(problem)
            return None
        text = text.strip()
        if not text and not media_source.ready():
            self.note.emit("Type a question or attach something to compare answers to.")
            return None
        media = media_source.take_for_send()
        title = None
        if template is not None:
            from app.chat import template_title

            own_words = text.removeprefix(template.prompt.strip()).strip()
            title = template_title(template.name, own_words, [m.original_name for m in media])
        return self.current, text, media, title

    def regenerate(self, assistant_id: int) -> None:
        if self._can_ask() and self.current is not None:
            self.turns.regenerate(self.current, assistant_id)

    def continue_reply(self, assistant_id: int) -> None:
        if self._can_ask() and self.current is not None:
            self.turns.continue_reply(self.current, assistant_id)

    def stop(self) -> None:
        self.turns.stop(self.key)

    def _can_ask(self) -> bool:
        if self.library.connecting:
            self.note.emit("Step Desk is still connecting…")
            return False
        return self.library.has_key

    def _on_turn_started(self, key: int, conversation_id: int, user_id: int,
                         assistant_id: int) -> None:
        if key == NEW and self.current is None:
            self.current = conversation_id
            self.busy.emit(self.turns.is_busy(conversation_id))
            self.tasks.spawn(self._adopt_new(conversation_id), "new-conversation")
        if conversation_id == self.current:
            self.tasks.spawn(self._begin(conversation_id, user_id, assistant_id), "turn")

    async def _adopt_new(self, conversation_id: int) -> None:
        effort, self._new_conversation_effort = self._new_conversation_effort, None
        if effort is not None:
            await self.library.set_conversation_effort(conversation_id, effort)
        if self.current == conversation_id:
            self._emit_list()
            await self.library.remember_current(conversation_id)

    async def _begin(self, conversation_id: int, user_id: int, assistant_id: int) -> None:
        """Show a started turn: its question (unless shown) and the answer so far."""
        found = {m.id: m for m in await self.library.messages([user_id, assistant_id])}
        user, assistant = found.get(user_id), found.get(assistant_id)
        if conversation_id != self.current or assistant is None:
            return
        run = next((r for r in self.turns.runs_in(conversation_id)
                    if r.assistant_id == assistant_id), None)
        if run is not None:
            assistant = dataclasses.replace(
                assistant, reasoning="".join(run.reasoning), content="".join(run.content),
                status="streaming")
            self.live.add(assistant_id)
        # (A run that already ended is shown as stored: final text and status.)
        new_user = user if user is not None and self.shown_messages.get(user.id) != user else None
        if user is not None:
            self.shown_messages[user.id] = user
        self.shown_messages[assistant_id] = assistant
        self.reply_started.emit(new_user, assistant)

    def _on_reasoning(self, conversation_id: int, assistant_id: int, text: str) -> None:
        if assistant_id in self.live and conversation_id == self.current:
            self.reasoning.emit(assistant_id, text)

    def _on_content(self, conversation_id: int, assistant_id: int, text: str) -> None:
        if assistant_id in self.live and conversation_id == self.current:
            self.content.emit(assistant_id, text)

    def _on_usage(self, conversation_id: int, assistant_id: int, prompt: int,
                  completion: int, cached: int) -> None:
        if assistant_id in self.live and conversation_id == self.current:
            self.usage.emit(assistant_id, prompt, completion, cached)
            self._emit_tokens(last=completion)

    def _on_turn_ended(self, key: int, assistant_id: int, status: str, error: str) -> None:
        if assistant_id and assistant_id in self.live and key == self.current:
            self.live.discard(assistant_id)
            self.reply_finished.emit(assistant_id, status, error)
        if error:
            self.error.emit(error)
        elif status == "stopped":
            self.note.emit("Stopped; the partial reply is kept.")
        if assistant_id and key == self.current:
            self.tasks.spawn(self._record_final(key, assistant_id), "turn-ended")

    async def _record_final(self, conversation_id: int, assistant_id: int) -> None:
        """Keep the stored final answer (tokens, status) as the shown record; no rebuild."""
        found = await self.library.messages([assistant_id])
        final = found[0] if found else None
        if final is not None and conversation_id == self.current:
            self.shown_messages[assistant_id] = final
            self._emit_tokens()

    def _on_busy(self, key: int, busy: bool) -> None:
        if key == self.key:
            self.busy.emit(busy)

    # --- editing and versions ------------------------------------------------------------
    def edit(self, user_id: int) -> None:
        message = self.shown_messages.get(user_id)
        if message is not None:
            self.editing = user_id
            self.edit_started.emit(message.content)

    def cancel_edit(self) -> None:
        if self.editing is not None:
            self.editing = None
            self.edit_ended.emit()

    def select_version(self, message_id: int) -> None:
        self.tasks.spawn(self._select_version(message_id), "version")

    async def _select_version(self, message_id: int) -> None:
        current = self.current
        for message in await self.library.version_view(message_id):
            if self.current != current or message.conversation_id != current:
                return
            self.shown_messages[message.id] = message
            self.message_replaced.emit(message)

    def set_effort(self, effort: str) -> None:
        self.tasks.spawn(self.library.set_effort(self.current, effort), "effort")

    # --- rename, pin, delete ---------------------------------------------------------------
    def title_of(self, conversation_id: int) -> str | None:
        conversation = self._listed.get(conversation_id)
        return conversation.title if conversation is not None else None

    async def rename(self, conversation_id: int, title: str) -> None:
        if title.strip():
            await self.library.rename(conversation_id, title)

    def pin(self, conversation_id: int, pinned: bool) -> None:
        self.tasks.spawn(self.library.set_pinned(conversation_id, pinned), "pin")

    async def files_only_in(self, conversation_id: int) -> list[str]:
        """Server files no other conversation uses (offered for deletion with it)."""
        return await self.library.files_only_in(conversation_id)

    async def delete(self, conversation_id: int, file_ids: list[str]) -> None:
        """Stop its turns (their partial replies saved), then delete it and its files."""
        await self.turns.stop_and_wait(conversation_id)
        in_flight = {m.sha256 for m in self.attachments.ready()}
        await self.library.delete_conversation(conversation_id, in_flight)
        if self._listed.pop(conversation_id, None) is not None:
            self._emit_list()
        if self.current == conversation_id:
            self.new_conversation()
        problems = await self.library.delete_uploads(file_ids)
        if problems:
            self.error.emit("Some files could not be deleted from the server: " + problems[0])
        else:
            self.note.emit("Conversation deleted.")

    # --- search and uploaded files -----------------------------------------------------------
    def search(self, text: str) -> None:
        self._search_seq += 1
        self.tasks.spawn(self._search(text, self._search_seq), "search")

    async def _search(self, text: str, seq: int) -> None:
        hits = await self.library.search(text) if text.strip() else []
        if seq == self._search_seq:
            self.search_results.emit(text, hits)

    def refresh_uploads(self) -> None:
        self._uploads_wanted = True
        self.tasks.spawn(self._send_uploads(), "uploads")

    async def _send_uploads(self) -> None:
        note = None if self.library.has_key else "Set an API key to see uploaded files."
        self.uploads.emit(await self.library.uploads(), note)

    async def delete_uploads(self, file_ids: list[str]) -> None:
        problems = await self.library.delete_uploads(file_ids)
        if problems:
            self.error.emit(problems[0])
        await self._send_uploads()

    # --- attachments of shown messages -----------------------------------------------------
    def attachment_path(self, sha256: str) -> Path | None:
        return self.library.blob_path(sha256)
