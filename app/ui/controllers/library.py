"""The window's one path to history, uploads, blobs, settings and the engine: Qt-free calls
on `Services`.

Only the controllers hold a `Library` (widgets never touch SQLite or the network, and the
window holds controllers, not this). Settings changes rebuild the one shared `StepClient`; the
old one is closed at shutdown, not at once, because a reply may still be streaming through it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from app.config import ConfigError, account_id, check_base_url, store_api_key
from app.options import OPTIONS, OptionError
from app.services import make_client

if TYPE_CHECKING:
    from app.api.client import StepClient
    from app.chat import ChatEngine
    from app.compare import Comparer
    from app.config import KeyLookup, Settings
    from app.services import Services
    from app.store import ComparisonRecord, Conversation, Message, SearchHit, UploadRecord
    from app.store.changes import ChangeListener
    from app.templates.model import Template
    from app.templates.service import TemplateCatalogue
    from app.ui.dialogs.settings import SettingsValues

log = logging.getLogger(__name__)

SEARCH_MARKS = ("\x02", "\x03")  # the sidebar's HIT_OPEN / HIT_CLOSE
LAST_CONVERSATION = "ui.last_conversation"


@dataclass(frozen=True)
class ConversationData:
    conversation: Conversation
    messages: list[Message]
    versions: dict[int, list[int]]  # message id -> ids of its version group, oldest first


class Library:
    """History, search, uploads and settings operations for the window."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self._retired: list[StepClient] = []

    @property
    def has_key(self) -> bool:
        key = self.services.key
        return key is not None and bool(key.key)

    def account(self) -> str | None:
        key = self.services.key
        return account_id(key.key) if key is not None and key.key else None

    @property
    def settings(self) -> Settings:
        """The current settings (a frozen value: read it again after a change)."""
        return self.services.settings

    @property
    def key(self) -> KeyLookup | None:
        return self.services.key

    @property
    def connecting(self) -> bool:
        """The key lookup has not finished yet (it runs after the first conversation shows)."""
        return self.services.key is None

    def engine(self) -> ChatEngine:
        return self.services.engine()

    def comparer(self) -> Comparer:
        """Effort comparisons on the current engine (rebuilt with it after a settings change)."""
        from app.compare import Comparer

        return Comparer(self.engine(), self.services.store)

    async def comparisons(self, conversation_id: int) -> list[ComparisonRecord]:
        """The effort comparisons made in a conversation (the store only: no key needed)."""
        return await self.services.store.list_comparisons(conversation_id)

    def subscribe(self, listener: ChangeListener) -> Callable[[], None]:
        """Hear what each store write changed (`app.store.Changes`); returns the unsubscribe."""
        return self.services.store.changes.subscribe(listener)

    @property
    def trace_id(self) -> str | None:
        client = self.services.client
        return client.last_trace_id if client is not None else None

    def template_catalogue(self, builtins: Sequence[Template]) -> TemplateCatalogue:
        """Built-in templates plus the user's own (stored in the history database)."""
        from app.templates.service import TemplateCatalogue

        return TemplateCatalogue(self.services.store, builtins)

    # --- blobs ---------------------------------------------------------------------------
    def blob_path(self, sha256: str) -> Path | None:
        """The stored bytes of an attachment, or None when they are gone."""
        return self.services.blobs.find(sha256)

    def thumbnail_path(self, sha256: str) -> Path | None:
        return self.services.blobs.thumbnail_path(sha256)

    @property
    def work_dir(self) -> Path:
        """Where attachments are prepared before they are sent."""
        return self.services.blobs.tmp_dir

    def proxy_for(self, url: str) -> str | None:
        return self.services.settings.proxy_for(url)

    # --- conversations -------------------------------------------------------------------
    async def conversations(self) -> list[Conversation]:
        return await self.services.store.list_conversations()

    async def conversation(self, conversation_id: int) -> Conversation | None:
        return await self.services.store.get_conversation(conversation_id)

    async def messages(self, ids: list[int]) -> list[Message]:
        """The named messages that still exist, in the order asked."""
        found = [await self.services.store.get_message(i) for i in ids]
        return [m for m in found if m is not None]

    async def load(self, conversation_id: int) -> ConversationData | None:
        store = self.services.store
        conversation = await store.get_conversation(conversation_id)
        if conversation is None:
            return None
        messages = await store.active_messages(conversation_id)
        groups: dict[int, list[int]] = {}
        for m in await store.list_messages(conversation_id):  # id order = oldest first
            groups.setdefault(m.version_of or m.id, []).append(m.id)
        versions = {m.id: groups[m.version_of or m.id] for m in messages
                    if len(groups.get(m.version_of or m.id, ())) > 1}
        return ConversationData(conversation, messages, versions)

    async def version_view(self, message_id: int) -> list[Message]:
        """A chosen version, plus (for a user version) the latest answer to it."""
        store = self.services.store
        message = await store.get_message(message_id)
        if message is None:
            return []
        shown = [message]
        if message.role == "user":
            answers = [m for m in await store.list_messages(message.conversation_id)
                       if m.role == "assistant" and m.reply_to == message.id]
            shown += answers[-1:]
        return shown

    async def last_conversation(self) -> int | None:
        value = await self.services.store.get_setting(LAST_CONVERSATION)
        return int(value) if value and value.isdigit() else None

    async def remember_current(self, conversation_id: int | None) -> None:
        await self.services.store.set_setting(
            LAST_CONVERSATION, None if conversation_id is None else str(conversation_id))

    async def rename(self, conversation_id: int, title: str) -> None:
        await self.services.store.rename_conversation(conversation_id, title.strip()[:200])

    async def set_pinned(self, conversation_id: int, pinned: bool) -> None:
        await self.services.store.set_pinned(conversation_id, pinned)

    async def set_effort(self, conversation_id: int | None, effort: str) -> None:
        """Remember the effort for this conversation and as the default for new ones."""
        store = self.services.store
        if conversation_id is not None:
            await store.set_conversation_effort(conversation_id, effort)
        await self.services.save_options({"effort": effort})

    async def set_conversation_effort(self, conversation_id: int, effort: str) -> None:
        """This conversation's effort only (a template's turn keeps the selector's)."""
        await self.services.store.set_conversation_effort(conversation_id, effort)

    async def save_options(self, changes: Mapping[str, object]) -> None:
        """Options of the registry (capture shortcuts, …) checked, stored and made current;
        raises OptionError (one sentence) before anything is written."""
        await self.services.save_options(changes)

    async def set_model(self, model: str) -> None:
        await self.services.store.set_setting("model", model)
        self.services.settings = self.services.settings.with_changes(model=model)

    async def search(self, text: str) -> list[SearchHit]:
        return await self.services.store.search(text, limit=50, marks=SEARCH_MARKS)

    async def files_only_in(self, conversation_id: int) -> list[str]:
        account = self.account()
        if account is None:
            return []
        return await self.services.store.file_ids_only_used_by(
            conversation_id, self.services.settings.base_url, account)

    async def delete_conversation(self, conversation_id: int, in_flight: set[str]) -> None:
        """Delete the conversation and the blobs nothing else uses (`in_flight`: attachments
        being written keep theirs)."""
        store = self.services.store
        await store.delete_conversation(conversation_id)
        referenced = await store.referenced_sha256s()
        await asyncio.to_thread(self.services.blobs.collect, referenced | in_flight)

    # --- uploads -------------------------------------------------------------------------
    async def uploads(self) -> list[UploadRecord]:
        account = self.account()
        if account is None:
            return []
        return await self.services.store.list_uploads(self.services.settings.base_url, account)

    async def delete_uploads(self, file_ids: list[str]) -> list[str]:
        from app.api.errors import ApiError, FileNotFound

        problems: list[str] = []
        client = self.services.client
        for file_id in file_ids:
            if client is None:
                problems.append("No API key: uploaded files cannot be deleted.")
                break
            try:
                await client.delete_file(file_id)
            except FileNotFound:
                pass  # already gone on the server: forget it below
            except ApiError as exc:
                problems.append(f"{file_id}: {exc}")
                continue
            await self.services.store.forget_upload(file_id)
        return problems

    # --- connection and settings ---------------------------------------------------------
    async def models(self) -> list[str]:
        client = self.services.client
        if client is None:
            return []
        return await client.list_models()

    async def test_connection(self, values: SettingsValues) -> tuple[bool, str]:
        """Try `values` with a throw-away client (the key field, else the current key)."""
        from app.api.errors import ApiError

        key = values.api_key or (self.services.key.key if self.services.key else None)
        if not key:
            return False, "Enter an API key first."
        try:
            settings = self._apply(values)
        except OptionError as exc:
            return False, str(exc)
        client = make_client(settings, key)
        try:
            models = await client.list_models()
        except ApiError as exc:
            return False, str(exc)
        finally:
            await client.aclose()
        shown = ", ".join(models[:4]) + ("…" if len(models) > 4 else "")
        return True, f"Connected to {settings.base_url} ({len(models)} models: {shown})."

    async def save_settings(self, values: SettingsValues) -> str | None:
        """Persist `values`, store a new key, rebuild the client; returns a note or None."""
        from app.config import KeyLookup

        note = None
        try:  # credentials in the URL or no http(s) address: refused with the reason
            check_base_url(values.base_url)
            self._apply(values)  # every option checked before anything is stored
        except (ConfigError, OptionError) as exc:
            return str(exc)
        if values.api_key:
            paths = self.services.paths
            try:
                where = await asyncio.to_thread(
                    store_api_key, values.api_key, paths, use_keychain=not values.use_key_file)
            except ConfigError as exc:
                return str(exc)
            self.services.key = KeyLookup(values.api_key, where)  # type: ignore[arg-type]
            note = f"API key saved in the {where}."
        await self.services.save_options(_option_changes(values))
        self.rebuild_client()
        return note

    async def connect(self, env: Mapping[str, str]) -> None:
        """Find the key (keychain off the UI thread) and build the one client."""
        await self.find_key(env)
        self.rebuild_client()

    async def find_key(self, env: Mapping[str, str]) -> None:
        """Find the key (keychain off the UI thread), not yet the client: the background
        instance's quick-ask panel says "no key" before anything is sent."""
        from app.config import resolve_api_key

        self.services.key = await asyncio.to_thread(resolve_api_key, env, self.services.paths)

    def rebuild_client(self) -> None:
        old = self.services.rebuild_client()
        if old is not None:
            self._retired.append(old)

    def _apply(self, values: SettingsValues) -> Settings:
        return self.services.settings.with_changes(**_option_changes(values))

    async def aclose(self) -> None:
        for client in self._retired:
            await client.aclose()
        self._retired.clear()
        await self.services.aclose()


def _option_changes(values: SettingsValues) -> dict[str, object]:
    """The dialog's fields that are options (by the registry's keys); an empty text is unset."""
    present = {f.name for f in dataclasses.fields(values)}
    changes: dict[str, object] = {}
    for option in OPTIONS:
        if option.key in present:
            value = getattr(values, option.key)
            changes[option.key] = None if option.optional and value == "" else value
    return changes
