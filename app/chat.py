"""One conversation turn, end to end, with no Qt: the CLI and the window drive the same logic.

`ChatEngine.send()` persists the user turn, makes sure every medium the request needs is
uploaded exactly once, builds the request by DESIGN.md's context policy, streams the reply,
persists it in batches and yields turn events (`app.turn_events`). Cancelling the task that
consumes the events is "Stop": the partial reply is kept as `stopped`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from app.api.client import StepClient
from app.api.errors import (
    ApiError,
    AuthError,
    ContentBlocked,
    FileNotFound,
    NetworkError,
    StreamInterrupted,
    Timeout,
)
from app.api.events import ContentDelta, Finished, ReasoningDelta, Retrying, Usage, unbatched
from app.api.request import ChatRequest, MediaRef
from app.config import Settings
from app.context import omitted_reason, plan_request, sha_of, uses_files, with_refs
from app.store import AttachmentRecord, BlobStore, Message, Store, StoreError
from app.turn_events import (
    MediaOmitted,
    MediaPrepared,
    TurnEvent,
    TurnFailed,
    TurnFinished,
    TurnStarted,
    UploadProgress,
)

if TYPE_CHECKING:
    from app.media.intake import PreparedMedia  # its module loads video/remux code: not for text

log = logging.getLogger(__name__)

FLUSH_INTERVAL_S = 0.25
CONTINUE_PROMPT = "Continue exactly where your previous answer stopped."
_FINISH_STATUS = {"stop": "complete", "length": "truncated", "tool_calls": "complete"}


def title_from_prompt(text: str, media: Sequence[PreparedMedia] = ()) -> str:
    """A short, readable conversation title from the first prompt."""
    words = " ".join(text.split())
    if not words:
        if not media:
            return "New conversation"
        kinds = {m.kind for m in media}
        noun = "Video" if kinds == {"video"} else "Image" if kinds == {"image"} else "Media"
        return f"{noun}: {media[0].original_name}"[:60]
    if len(words) <= 60:
        return words
    cut = words[:60].rsplit(" ", 1)[0] or words[:60]
    return cut.rstrip(",.;:!?-") + "…"


def template_title(name: str, prompt: str, media_names: Sequence[str]) -> str:
    """"Receipt → table: lunch.jpg" rather than the first words of the template's prompt."""
    detail = " ".join(prompt.split()) or (media_names[0] if media_names else "")
    return title_from_prompt(f"{name}: {detail}" if detail else name)


@dataclass(frozen=True, slots=True)
class TurnContext:
    """What one turn runs with, taken once when it starts: a settings change mid-turn (key,
    base URL, account) reaches the next turn, never this one's uploads cache entries."""

    client: StepClient
    settings: Settings
    account: str


@dataclass(slots=True)
class _ReplyBuffer:
    """One reply's deltas waiting for the next batched write (at most every ~250 ms)."""

    message_id: int
    reasoning: list[str]
    content: list[str]
    usage: Usage | None = None
    got_text: bool = False
    last_flush: float = 0.0

    def dirty(self) -> bool:
        return bool(self.reasoning or self.content or self.usage)

    def take(self) -> tuple[str, str, Usage | None]:
        out = ("".join(self.reasoning), "".join(self.content), self.usage)
        self.reasoning.clear()
        self.content.clear()
        self.usage = None
        return out


class ChatEngine:
    """Runs turns for the CLI and the window. One engine per app; it owns no task."""

    def __init__(self, *, store: Store, client: StepClient, blobs: BlobStore,
                 settings: Settings, account: str,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._store = store
        self._client = client
        self._blobs = blobs
        self._settings = settings
        self._account = account
        self._clock = clock
        self._upload_locks: dict[str, asyncio.Lock] = {}

    @property
    def settings(self) -> Settings:
        return self._settings

    def update_settings(self, settings: Settings, client: StepClient, account: str) -> None:
        """The window's settings dialog changed the key, base URL or defaults.

        Running turns keep the `TurnContext` they started with."""
        self._settings, self._client, self._account = settings, client, account

    def snapshot(self) -> TurnContext:
        return TurnContext(self._client, self._settings, self._account)

    def twin(self, store: Store, client: StepClient) -> ChatEngine:
        """This engine for another event loop's thread (a comparison streamed off the UI
        thread): the same blobs, settings, account and clock, with that thread's store face
        and HTTP client."""
        return ChatEngine(store=store, client=client, blobs=self._blobs,
                          settings=self._settings, account=self._account, clock=self._clock)

    # -- public turn entry points ---------------------------------------------------------

    def send(self, conversation_id: int | None, text: str,
             media: Sequence[PreparedMedia] = (), *, effort: str | None = None,
             model: str | None = None, title: str | None = None,
             template: str | None = None) -> AsyncGenerator[TurnEvent, None]:
        """Persist a new user turn and stream the reply to it.

        `title` names a new conversation (a template's name, say); by default the title is
        made from the prompt. `template`: the slug of the task template the turn comes
        from (stored with it: a later comparison offers its effort for the template)."""
        return unbatched(self.send_batches(conversation_id, text, media, effort=effort,
                                           model=model, title=title, template=template))

    async def send_batches(self, conversation_id: int | None, text: str,
                           media: Sequence[PreparedMedia] = (), *, effort: str | None = None,
                           model: str | None = None, title: str | None = None,
                           template: str | None = None
                           ) -> AsyncGenerator[Sequence[TurnEvent], None]:
        """`send`'s events, the deltas of one network read in one list (the client's
        `stream_chat_batches`): for a consumer that shows a read at once, the terminal."""
        effort = effort or self._settings.effort
        model = model or self._settings.model
        user, prepared = await self.add_turn(conversation_id, text, media, effort=effort,
                                             model=model, title=title, template=template)
        if prepared:
            yield list(prepared)
        async with contextlib.aclosing(self._reply(
                user, model=model, effort=effort, version_of=None)) as batches:
            async for batch in batches:
                yield batch

    async def add_turn(self, conversation_id: int | None, text: str,
                       media: Sequence[PreparedMedia] = (), *, effort: str | None = None,
                       model: str | None = None, title: str | None = None,
                       template: str | None = None) -> tuple[Message, list[MediaPrepared]]:
        """Persist a new user turn without answering it (`send` answers it once, a
        comparison several times); returns it and what was done to each medium."""
        effort = effort or self._settings.effort
        model = model or self._settings.model
        if conversation_id is None:
            conversation = await self._store.create_conversation(
                title or title_from_prompt(text, media), model, effort)
            conversation_id = conversation.id
        if media:  # over 20 MB of images: recompress the largest (a no-op when it fits)
            from app.media.fitting import fit_message  # not loaded for a text-only turn

            media = await asyncio.to_thread(fit_message, media, self._blobs.tmp_dir)
        records, prepared = [], []
        for ordinal, item in enumerate(media):
            self._keep_blob(item)
            records.append(_record_for(item, ordinal))
            prepared.append(MediaPrepared(item, item.changes))
        user = await self._store.add_user_message(
            conversation_id, text, records, model=model, effort=effort, template=template)
        return user, prepared

    async def answer(self, user_message_id: int, *, effort: str, model: str | None = None,
                     version_of: int | None = None) -> AsyncGenerator[TurnEvent, None]:
        """One more answer to a stored user turn (a comparison's column), as a version of
        `version_of` when given."""
        user = await self._require(user_message_id, "user")
        async with contextlib.aclosing(self._reply(
                user, model=model or user.model or self._settings.model, effort=effort,
                version_of=version_of)) as events:
            async for batch in events:
                for event in batch:
                    yield event

    async def upload_media(self, user_message_id: int) -> AsyncGenerator[TurnEvent, None]:
        """Upload whatever the turn's request needs and is not on the server yet.

        Done once before answering the same turn several times at once, so each medium is
        uploaded once, not once per answer (the answers then find the file IDs cached)."""
        user = await self._require(user_message_id, "user")
        turn = self.snapshot()
        history = await self._history_until(user)
        request, omitted = plan_request(history, self._blobs, turn.settings,
                                        user.model or turn.settings.model,
                                        user.effort or turn.settings.effort)
        if omitted:
            yield MediaOmitted(tuple(omitted), omitted_reason())
        if uses_files(request, turn.settings):
            async for event in self._ensure_uploads(request, {}, turn):
                yield event

    async def regenerate(self, assistant_message_id: int, *, effort: str | None = None,
                         model: str | None = None) -> AsyncGenerator[TurnEvent, None]:
        """A new answer to the same user turn; the earlier one stays as a version (also Retry)."""
        old = await self._require(assistant_message_id, "assistant")
        user = await self._require(old.reply_to, "user")
        async with contextlib.aclosing(self._reply(
                user, model=model or old.model or self._settings.model,
                effort=effort or old.effort or self._settings.effort,
                version_of=old.version_of or old.id)) as events:
            async for batch in events:
                for event in batch:
                    yield event

    async def edit_and_resend(self, user_message_id: int, text: str, *,
                              effort: str | None = None,
                              replace: Mapping[int, PreparedMedia] | None = None
                              ) -> AsyncGenerator[TurnEvent, None]:
        """A new version of a user turn (new text; the same attachments, except those in
        `replace`, by ordinal: an image edited again) and a reply to it."""
        old = await self._require(user_message_id, "user")
        effort = effort or old.effort or self._settings.effort
        model = old.model or self._settings.model
        replace = replace or {}
        records = []
        for a in old.attachments:
            item = replace.get(a.ordinal)
            if item is None:
                records.append(dataclasses.replace(a, id=None, message_id=None))
                continue
            self._keep_blob(item)
            records.append(_record_for(item, a.ordinal))
            yield MediaPrepared(item, item.changes)
        user = await self._store.add_user_message(
            old.conversation_id, text, records, model=model, effort=effort,
            version_of=old.version_of or old.id)
        async with contextlib.aclosing(self._reply(
                user, model=model, effort=effort, version_of=None)) as events:
            async for batch in events:
                for event in batch:
                    yield event

    async def continue_reply(self, assistant_message_id: int) -> AsyncGenerator[TurnEvent, None]:
        """Ask for the rest of a truncated answer, as a new turn that says so."""
        old = await self._require(assistant_message_id, "assistant")
        async with contextlib.aclosing(self.send(old.conversation_id, CONTINUE_PROMPT,
                                                 effort=old.effort, model=old.model)) as events:
            async for event in events:
                yield event

    # -- the reply ------------------------------------------------------------------------

    async def _reply(self, user: Message, *, model: str, effort: str,
                     version_of: int | None) -> AsyncGenerator[Sequence[TurnEvent], None]:
        """The one streaming path of every turn: lists of events, one per network read."""
        assistant = await self._store.start_assistant_message(
            user.conversation_id, reply_to=user.id, model=model, effort=effort,
            version_of=version_of)
        turn = self.snapshot()
        yield [TurnStarted(user.conversation_id, user.id, assistant.id)]
        buffer = _ReplyBuffer(assistant.id, [], [], last_flush=self._clock())
        try:
            async with contextlib.aclosing(
                    self._stream_with_media(user, model, effort, buffer, turn)) as stream:
                async for batch in stream:
                    last = batch[-1]
                    if not isinstance(last, Finished):  # the client ends a reply's last list
                        yield cast(Sequence[TurnEvent], batch)  # with Finished, only that one
                        continue
                    # The server's finish reason becomes the turn's outcome (not re-yielded).
                    await self._flush(buffer)
                    outcome = self._finish_event(last.reason)
                    await self._finish(assistant.id, outcome, last.reason)
                    yield [*cast(Sequence[TurnEvent], batch[:-1]), outcome]
                    return
        except asyncio.CancelledError:
            # Stop: keep what arrived. Shielded, so a second cancel cannot lose the reply.
            await asyncio.shield(self._close_stopped(buffer))
            raise
        except GeneratorExit:
            # The consumer left mid-reply (`stepdesk ask … | head` closed the pipe): keep what
            # arrived as stopped now rather than leave it "streaming" until the next start.
            await asyncio.shield(self._close_stopped(buffer))
            raise
        except ApiError as exc:
            log.warning("reply %s failed: %s (%s)", assistant.id, exc, type(exc).__name__)
            failure = _failure_for(exc, started=buffer.got_text, redact=turn.client.redact)
            await asyncio.shield(self._close_failed(buffer, failure))
            yield [failure]
            return
        except StoreError as exc:  # disk full or failing mid-stream: keep what was saved
            log.warning("reply %s could not be saved: %s (%s)", assistant.id, exc, exc.detail)
            failure = TurnFailed("interrupted", f"{exc.message.rstrip('.')}, so the reply is "
                                 "kept only up to the last part that could be saved.", 3)
            with contextlib.suppress(StoreError):  # else the next start marks it interrupted
                await asyncio.shield(self._store.finish_message(
                    assistant.id, "interrupted", error=failure.error))
            yield [failure]
            return
        # The stream ended without a finish reason: the client reports that as an error, so
        # reaching here means the server closed cleanly but silently. Treat as interrupted.
        failure = TurnFailed("interrupted", "The reply ended before the model finished.")
        await asyncio.shield(self._close_failed(buffer, failure))
        yield [failure]

    async def _stream_with_media(self, user: Message, model: str, effort: str,
                                 buffer: _ReplyBuffer, turn: TurnContext
                                 ) -> AsyncGenerator[Sequence[TurnEvent | Finished], None]:
        """Build the request, stream it, and survive one expired file ID (re-upload, retry).

        Every list is in `buffer` before it is yielded, so whatever a consumer has shown is
        saved by the next flush, a Stop's included."""
        for attempt in (1, 2):
            history = await self._history_until(user)
            refs: dict[str, MediaRef] = {}
            request, omitted = plan_request(history, self._blobs, turn.settings, model, effort)
            if omitted:
                yield [MediaOmitted(tuple(omitted), omitted_reason())]
            needs_upload = uses_files(request, turn.settings)
            if needs_upload:
                async for upload_event in self._ensure_uploads(request, refs, turn):
                    yield [upload_event]
            # Inline media means reading and base64-encoding files: not on the event loop.
            request = await asyncio.to_thread(with_refs, request, refs,
                                              inline=not needs_upload)
            try:
                async with contextlib.aclosing(
                        turn.client.stream_chat_batches(request)) as batches:
                    async for batch in batches:
                        self._buffer_batch(batch, buffer)
                        yield batch
                        if buffer.dirty() and \
                                self._clock() - buffer.last_flush >= FLUSH_INTERVAL_S:
                            await self._flush(buffer)
                return
            except FileNotFound:
                if attempt == 2 or buffer.got_text or not needs_upload:
                    raise
                await self._forget_expired(refs, turn)
                yield [Retrying(1, 0.0, "An uploaded file had expired on the server; "
                                        "uploading it again.")]

    # -- helpers: persistence ---------------------------------------------------------------

    @staticmethod
    def _buffer_batch(batch: Sequence[object], buffer: _ReplyBuffer) -> None:
        for event in batch:  # `type() is`: the event classes are final, and this is hot
            if type(event) is ContentDelta:
                buffer.content.append(event.text)
                buffer.got_text = True
            elif type(event) is ReasoningDelta:
                buffer.reasoning.append(event.text)
                buffer.got_text = True
            elif type(event) is Usage:
                buffer.usage = event

    async def _flush(self, buffer: _ReplyBuffer) -> None:
        buffer.last_flush = self._clock()
        if not buffer.dirty():
            return
        reasoning, content, usage = buffer.take()
        await self._store.append_reply(buffer.message_id, reasoning, content, usage)

    async def _finish(self, message_id: int, outcome: TurnFinished, reason: str | None) -> None:
        await self._store.finish_message(message_id, outcome.status, finish_reason=reason)

    async def _close_stopped(self, buffer: _ReplyBuffer) -> None:
        await self._flush(buffer)
        await self._store.finish_message(buffer.message_id, "stopped", error="Stopped by you.")

    async def _close_failed(self, buffer: _ReplyBuffer, failure: TurnFailed) -> None:
        await self._flush(buffer)
        await self._store.finish_message(buffer.message_id, failure.status, error=failure.error)

    @staticmethod
    def _finish_event(reason: str) -> TurnFinished:
        """`content_filter` never gets here: the client raises ContentBlocked for it."""
        return TurnFinished(_FINISH_STATUS.get(reason, "complete"), reason)

    async def _require(self, message_id: int | None, role: str) -> Message:
        message = await self._store.get_message(message_id) if message_id else None
        if message is None or message.role != role:
            raise LookupError(f"There is no {role} message {message_id}.")
        return message

    def _keep_blob(self, item: PreparedMedia) -> None:
        """Move the prepared bytes into the content-addressed store (a rename, no re-read)."""
        if not self._blobs.exists(item.sha256, item.ext):
            self._blobs.adopt(item.path, item.sha256, item.ext)
        if item.thumbnail and self._blobs.thumbnail_path(item.sha256) is None:
            self._blobs.put_thumbnail(item.sha256, item.thumbnail)
        edit = item.edit
        if edit is not None and not self._blobs.exists(edit.base_sha256, "png"):
            self._blobs.adopt(edit.base_path, edit.base_sha256, "png")

    # -- helpers: the request ---------------------------------------------------------------

    async def _history_until(self, user: Message) -> list[Message]:
        """The active path of the conversation up to and including `user`."""
        history: list[Message] = []
        for message in await self._store.active_messages(user.conversation_id):
            if message.role == "assistant" and message.reply_to == user.id:
                continue
            history.append(message)
            if message.id == user.id:
                return history
        history.append(user)  # `user` is an older version not on the active path
        return history

    async def _ensure_uploads(self, request: ChatRequest, refs: dict[str, MediaRef],
                              turn: TurnContext) -> AsyncGenerator[TurnEvent, None]:
        """Upload each distinct medium once per (sha256, base URL, account)."""
        base = turn.settings.base_url
        for message in request.messages:
            for ref in message.media:
                sha = sha_of(ref)
                if sha in refs or ref.path is None:
                    continue
                # Replies running at once (a comparison) wait for one upload, not make three.
                async with self._upload_locks.setdefault(sha, asyncio.Lock()):
                    file_id = await self._store.lookup_upload(sha, base, turn.account)
                    if file_id is None:
                        async for event in self._upload(ref, sha, turn.client):
                            if isinstance(event, str):
                                file_id = event
                            else:
                                yield event
                        assert file_id is not None, "_upload ends with the new file ID"
                        await self._store.remember_upload(sha, base, turn.account, file_id,
                                                          ref.path.stat().st_size)
                refs[sha] = MediaRef(ref.kind, ref.mime, url=f"stepfile://{file_id}",
                                     path=ref.path)

    async def _upload(self, ref: MediaRef, sha: str,
                      client: StepClient) -> AsyncIterator[TurnEvent | str]:
        """Upload with progress events; the last item yielded is the new file ID."""
        assert ref.path is not None
        queue: asyncio.Queue[tuple[int, int]] = asyncio.Queue()
        name = f"{sha[:16]}.{ref.path.suffix.lstrip('.')}"  # never the user's own file name
        task = asyncio.ensure_future(client.upload_file(
            ref.path, filename=name, mime=ref.mime,
            progress=lambda sent, total: queue.put_nowait((sent, total))))
        try:
            while not task.done():
                getter = asyncio.ensure_future(queue.get())
                await asyncio.wait({task, getter}, return_when=asyncio.FIRST_COMPLETED)
                if getter.done():
                    sent, total = getter.result()
                    yield UploadProgress(sha, name, sent, total)
                else:
                    getter.cancel()
            while not queue.empty():
                sent, total = queue.get_nowait()
                yield UploadProgress(sha, name, sent, total)
            yield task.result().id
        finally:
            if not task.done():
                task.cancel()

    async def _forget_expired(self, refs: dict[str, MediaRef], turn: TurnContext) -> None:
        """Find which referenced files the server no longer has and drop them from the cache."""
        missing = []
        for ref in refs.values():
            file_id = (ref.url or "").removeprefix("stepfile://")
            try:
                await turn.client.get_file(file_id)
            except FileNotFound:
                missing.append(file_id)
        everything = [(r.url or "").removeprefix("stepfile://") for r in refs.values()]
        for file_id in missing or everything:
            await self._store.forget_upload(file_id)


def _record_for(item: PreparedMedia, ordinal: int) -> AttachmentRecord:
    edit = item.edit
    return AttachmentRecord(kind=item.kind, mime=item.mime, sha256=item.sha256, bytes=item.size,
                            width=item.width, height=item.height, duration_s=item.duration_s,
                            original_name=item.original_name, ordinal=ordinal,
                            edits=None if edit is None else edit.steps.to_json(),
                            edit_base=None if edit is None else edit.base_sha256)


def _failure_for(exc: ApiError, *, started: bool,
                 redact: Callable[[str], str] = str) -> TurnFailed:
    """DESIGN.md's status table: which status and exit code an API failure means."""
    if isinstance(exc, ContentBlocked):
        status, code = "blocked", 3
    elif isinstance(exc, AuthError):
        status, code = "error", 4
    elif isinstance(exc, StreamInterrupted | Timeout | NetworkError) or started:
        status, code = "interrupted", 3
    else:
        status, code = "error", 3
    return TurnFailed(status, redact(str(exc)), code, exc.trace_id)
