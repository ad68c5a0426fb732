"""`Store`: the async face of the history database.

Every method hops onto ONE dedicated worker thread (a single-thread executor owned by the
Store) where the process's only sqlite3 connection lives; the event loop never touches
SQLite and never lends its default pool to it. Work already submitted finishes even if the
awaiting task is cancelled, so a "stopped" status written during cancellation still lands.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from app.store import comparisons, export, history, search, sync_merge, templates, uploads
from app.store.blobs import BlobStore
from app.store.changes import ChangeFeed, Changes
from app.store.db import Database, is_damage, mark_suspect, open_database
from app.store.errors import StoreError, translate
from app.store.owner import OwnerLock, ReadOnlyOwner, owner_is_gone, sweep_stale_locks
from app.store.records import (
    AttachmentRecord,
    ComparisonRecord,
    Conversation,
    ExportFormat,
    Message,
    SearchHit,
    UploadRecord,
)
from app.store.templates import TemplateRecord
from app.usage import Usage

log = logging.getLogger(__name__)
T = TypeVar("T")


def _guard(db_path: Path, fn: Callable[..., T], *args: object, **kwargs: object) -> T:
    """Run on the worker: environment failures become StoreError, bugs propagate.

    Damage noticed mid-session is remembered beside the file, so the next open verifies
    the whole database instead of trusting its header.
    """
    try:
        return fn(*args, **kwargs)
    except sqlite3.Error as exc:
        translated = translate(exc)
        if translated is None:
            raise
        if is_damage(exc):
            mark_suspect(db_path)
        raise translated from exc


async def _await_uncancellable(job: Future[T]) -> T:
    """Await a worker job; cancelling the awaiting task does not cancel the job itself."""
    loop = asyncio.get_running_loop()
    waiter: asyncio.Future[T] = loop.create_future()

    def settle(done: Future[T]) -> None:
        if waiter.done():
            return
        error = done.exception()
        if error is not None:
            waiter.set_exception(error)
        else:
            waiter.set_result(done.result())

    def relay(done: Future[T]) -> None:
        if not loop.is_closed():
            loop.call_soon_threadsafe(settle, done)

    job.add_done_callback(relay)
    return await waiter


def _discard_opened(job: Future[Store]) -> None:
    if not job.cancelled() and job.exception() is None:
        job.result()._close_sync()


class Store:
    """History, uploads cache and settings. Create with `await Store.open(...)`."""

    def __init__(self, executor: ThreadPoolExecutor, db: Database,
                 lock: OwnerLock | ReadOnlyOwner) -> None:
        self._executor: ThreadPoolExecutor | None = executor
        self._db = db
        self._lock = lock
        self.path = db.path
        self.moved_aside: Path | None = None  # a damaged file moved away (recover_corrupt)
        self.backup_path: Path | None = None  # copy made before migrating, if any
        self.recovered: int = 0  # streaming rows of dead processes marked interrupted at open
        self.changes = ChangeFeed()  # what each committed write changed (see changes.py)

    @classmethod
    async def open(
        cls,
        db_path: Path,
        *,
        owner_dir: Path,
        use_fts: bool = True,
        recover_corrupt: bool = False,
    ) -> Store:
        """Open or create the database, migrate it (backup first), recover orphaned replies.

        `use_fts=False` behaves as if SQLite lacked FTS5 (search falls back to LIKE).
        `recover_corrupt=True` moves a damaged file aside and starts afresh (see
        `moved_aside`) instead of raising CorruptDatabaseError.
        """
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="stepdesk-store")
        job = executor.submit(
            _guard, db_path, cls._open_sync, executor, db_path, owner_dir, use_fts,
            recover_corrupt,
        )
        try:
            return await asyncio.wrap_future(job)
        except BaseException:
            # Failed or cancelled: if the open still completes, close what it opened (queued
            # behind it on the same thread, where the connection must be closed).
            executor.submit(_discard_opened, job)
            executor.shutdown(wait=False)
            raise

    @classmethod
    def _open_sync(
        cls,
        executor: ThreadPoolExecutor,
        db_path: Path,
        owner_dir: Path,
        use_fts: bool,
        recover_corrupt: bool,
    ) -> Store:
        opened = open_database(db_path, use_fts=use_fts, recover_corrupt=recover_corrupt)
        if opened.db.read_only:  # nothing to lock, recover or sweep where nothing can change
            return cls(executor, opened.db, ReadOnlyOwner())
        try:
            lock = OwnerLock(owner_dir)
        except BaseException:
            opened.db.close()
            raise
        store = cls(executor, opened.db, lock)
        store.moved_aside, store.backup_path = opened.moved_aside, opened.backup
        try:
            sweep_stale_locks(owner_dir, keep=lock.uuid)
            dead = [
                o
                for o in history.streaming_owners(opened.db)
                if o != lock.uuid and owner_is_gone(owner_dir, o)
            ]
            store.recovered = history.interrupt_owned_by(opened.db, dead)
        except BaseException:
            store._close_sync()
            raise
        if store.recovered:
            log.info("marked %d orphaned streaming replies as interrupted", store.recovered)
        return store

    async def _run(self, fn: Callable[..., T], *args: object, **kwargs: object) -> T:
        """Run `fn(db, …)` on the worker. A job once accepted always runs, even when the
        awaiting task is cancelled while the job still waits in the queue (behind slow
        work): `run_in_executor` would cancel the queued job with the task, and a Stop's
        last batch of text would be lost."""
        if self._executor is None:
            raise StoreError("The history database is closed.")
        job = self._executor.submit(
            functools.partial(_guard, self.path, fn, self._db, *args, **kwargs))
        return await _await_uncancellable(job)

    @property
    def commit_count(self) -> int:
        """Write transactions committed by this Store so far (benchmarks count these)."""
        return self._db.commit_count

    @property
    def owner(self) -> str:
        """This process's owner id, written into streaming rows."""
        return self._lock.uuid

    async def close(self) -> None:
        """Close the connection and release the owner lock (idempotent)."""
        executor, self._executor = self._executor, None
        if executor is None:
            return
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(executor, self._close_sync)
        finally:
            executor.shutdown(wait=True)

    def _close_sync(self) -> None:
        try:
            self._db.close()
        finally:
            self._lock.release()

    # -- conversations ---------------------------------------------------------------------

    async def create_conversation(
        self, title: str, model: str, effort: str | None
    ) -> Conversation:
        conversation = await self._run(history.create_conversation, title, model, effort)
        self.changes.report(Changes(conversations=frozenset({conversation.id})))
        return conversation

    async def get_conversation(self, id: int) -> Conversation | None:
        return await self._run(history.get_conversation, id)

    async def list_conversations(self, limit: int = 200) -> list[Conversation]:
        """Pinned first, then most recently updated."""
        return await self._run(history.list_conversations, limit)

    async def rename_conversation(self, id: int, title: str) -> None:
        await self._run(history.update_conversation, id, "title", title)
        self.changes.report(Changes(conversations=frozenset({id})))

    async def set_pinned(self, id: int, pinned: bool) -> None:
        await self._run(history.update_conversation, id, "pinned", int(pinned))
        self.changes.report(Changes(conversations=frozenset({id})))

    async def set_conversation_effort(self, id: int, effort: str | None) -> None:
        await self._run(history.update_conversation, id, "effort", effort)
        self.changes.report(Changes(conversations=frozenset({id})))

    async def delete_conversation(self, id: int) -> list[str]:
        """Returns sha256s no longer referenced by any attachment (for `BlobStore.collect`)."""
        unreferenced = await self._run(history.delete_conversation, id)
        self.changes.report(Changes(deleted=frozenset({id})))
        return unreferenced

    async def referenced_sha256s(self) -> set[str]:
        """Every sha256 some attachment uses: the `referenced` set for `BlobStore.collect`."""
        return await self._run(history.referenced_sha256s)

    # -- messages --------------------------------------------------------------------------

    async def add_user_message(
        self,
        conversation_id: int,
        text: str,
        attachments: Sequence[AttachmentRecord],
        *,
        model: str | None,
        effort: str | None,
        version_of: int | None = None,
        template: str | None = None,
    ) -> Message:
        message = await self._run(
            history.add_user_message, conversation_id, text, attachments,
            model=model, effort=effort, version_of=version_of, template=template,
        )
        self.changes.report(Changes(conversations=frozenset({conversation_id})))
        return message

    async def start_assistant_message(
        self,
        conversation_id: int,
        *,
        reply_to: int | None,
        model: str | None,
        effort: str | None,
        version_of: int | None = None,
    ) -> Message:
        """A `streaming` row owned by this process (recovered if the process dies)."""
        message = await self._run(
            history.start_assistant_message, conversation_id, reply_to=reply_to,
            model=model, effort=effort, version_of=version_of, owner=self._lock.uuid,
        )
        self.changes.report(Changes(conversations=frozenset({conversation_id})))
        return message

    async def append_reply(
        self, message_id: int, reasoning: str, content: str, usage: Usage | None
    ) -> None:
        """Append deltas: exactly one small transaction per call (none if nothing to add)."""
        await self._run(history.append_reply, message_id, reasoning, content, usage)

    async def finish_message(
        self,
        message_id: int,
        status: str,
        *,
        error: str | None = None,
        finish_reason: str | None = None,
    ) -> None:
        conversation_id = await self._run(
            history.finish_message, message_id, status, error=error, finish_reason=finish_reason
        )
        self.changes.report(Changes(conversations=frozenset({conversation_id})))

    async def get_message(self, id: int) -> Message | None:
        return await self._run(history.get_message, id)

    async def list_messages(self, conversation_id: int) -> list[Message]:
        return await self._run(history.list_messages, conversation_id)

    async def active_messages(self, conversation_id: int) -> list[Message]:
        return await self._run(history.active_messages, conversation_id)

    async def versions(self, message_id: int) -> list[Message]:
        return await self._run(history.versions, message_id)

    async def search(
        self, text: str, limit: int = 50, *, marks: tuple[str, str] = search.DEFAULT_MARKS
    ) -> list[SearchHit]:
        """Newest `limit` messages containing every term; snippets wrap hits in `marks`."""
        return await self._run(_search, text, limit, marks)

    # -- effort comparisons ------------------------------------------------------------------

    async def create_comparison(self, user_message_id: int, efforts: Sequence[str],
                                template: str | None = None) -> int:
        return await self._run(comparisons.create_comparison, user_message_id, list(efforts),
                               template)

    async def set_figures(self, message_id: int, figures: Mapping[str, Any],
                          comparison_id: int | None = None) -> None:
        """An answer's timings and token counts (shown beside its version)."""
        await self._run(comparisons.set_figures, message_id, dict(figures), comparison_id)

    async def keep_answer(self, message_id: int) -> Message:
        """Make this answer its turn's shown one (and its effort the conversation's)."""
        kept = await self._run(comparisons.keep_answer, message_id)
        self.changes.report(Changes(conversations=frozenset({kept.conversation_id})))
        return kept

    async def list_comparisons(self, conversation_id: int) -> list[ComparisonRecord]:
        return await self._run(comparisons.list_comparisons, conversation_id)

    # -- uploads cache -----------------------------------------------------------------------

    async def lookup_upload(self, sha256: str, base_url: str, account: str) -> str | None:
        return await self._run(uploads.lookup, sha256, base_url, account)

    async def remember_upload(
        self, sha256: str, base_url: str, account: str, file_id: str, bytes: int
    ) -> None:
        await self._run(uploads.remember, sha256, base_url, account, file_id, bytes)
        self.changes.report(Changes(uploads=True))

    async def forget_upload(self, file_id: str) -> None:
        await self._run(uploads.forget, file_id)
        self.changes.report(Changes(uploads=True))

    async def list_uploads(self, base_url: str, account: str) -> list[UploadRecord]:
        return await self._run(uploads.list_uploads, base_url, account)

    async def uploads_to_prune(
        self,
        base_url: str,
        account: str,
        keep: int = uploads.DEFAULT_KEEP,
        *,
        spare_used: bool = False,
    ) -> list[UploadRecord]:
        """LRU uploads beyond `keep`; `spare_used` never offers one a conversation uses."""
        return await self._run(uploads.to_prune, base_url, account, keep, spare_used=spare_used)

    async def file_ids_only_used_by(
        self, conversation_id: int, base_url: str, account: str
    ) -> list[str]:
        return await self._run(uploads.file_ids_only_used_by, conversation_id, base_url, account)

    # -- task templates (the user's own; built-ins are a resource) -------------------------------

    async def list_templates(self) -> list[TemplateRecord]:
        """In the user's order."""
        return await self._run(templates.list_templates)

    async def save_template(
        self, record: TemplateRecord, *, replacing: str | None = None
    ) -> None:
        """Add or update one template; `replacing` is its old slug when an edit renames it."""
        await self._run(templates.save_templates, [record], replacing=replacing)
        self.changes.report(Changes(templates=True))

    async def save_templates(self, records: Sequence[TemplateRecord]) -> None:
        """Add or update several templates in one transaction (an import is all or nothing)."""
        await self._run(templates.save_templates, records)
        self.changes.report(Changes(templates=True))

    async def delete_template(self, slug: str) -> bool:
        deleted = await self._run(templates.delete_template, slug)
        self.changes.report(Changes(templates=True))
        return deleted

    async def reorder_templates(self, slugs: Sequence[str]) -> None:
        """Give the named templates positions 0, 1, …; the rest follow in their old order."""
        await self._run(templates.reorder_templates, slugs)
        self.changes.report(Changes(templates=True))

    # -- settings and export -------------------------------------------------------------------

    async def get_setting(self, key: str, default: str | None = None) -> str | None:
        return await self._run(_get_setting, key, default)

    async def set_setting(self, key: str, value: str | None) -> None:
        """Store a preference; `None` removes it."""
        await self.set_settings({key: value})

    async def get_settings(self, keys: Sequence[str]) -> dict[str, str]:
        """The stored values of `keys` (absent keys left out), in one read."""
        return await self._run(_get_settings, tuple(keys))

    async def set_settings(self, values: Mapping[str, str | None]) -> None:
        """Store several preferences in one transaction; a `None` value removes its key."""
        await self._run(_set_settings, dict(values))
        self.changes.report(Changes(settings=frozenset(values)))

    async def export_conversation(
        self, id: int, fmt: ExportFormat, dest: Path | None, blobs: BlobStore,
        *, overwrite: bool = False,
    ) -> str:
        """Render one conversation; also write it to `dest` (images beside a Markdown file).

        Raises FileExistsError when `dest` exists and `overwrite` is not set, OSError when the
        file cannot be written (the target is then untouched)."""
        return await self._run(export.export_conversation, id, fmt, dest, blobs,
                               overwrite=overwrite)

    # -- sync (app/sync drives these; the SQL is in sync_merge.py) -----------------------------

    async def sync_clock(self) -> tuple[str, int, int]:
        """(device id, hybrid clock ms, change counter) of this history."""
        return await self._run(sync_merge.clock)

    async def merge_snapshot(self, snapshot: Path) -> int:
        """Merge another device's snapshot file (at our schema version); returns changes.

        Runs as several short transactions (one per chunk of conversations), so the window's
        writes are queued behind at most one chunk.
        """
        await self._run(sync_merge.attach, snapshot)
        try:
            changes, uuids = await self._run(sync_merge.merge_head)
            for start in range(0, len(uuids), sync_merge.CHUNK):
                changes += await self._run(sync_merge.merge_messages,
                                           uuids[start:start + sync_merge.CHUNK])
        finally:
            await self._run(sync_merge.detach)
        return changes

    async def replace_file(self, install: Callable[[Path], T]) -> T:
        """Put another history in place of this one (a restore), keeping this `Store`.

        On the worker: refused while a reply is streaming; the connection is closed,
        `install(path)` swaps the file, and the file at `path` (the new one, or the old one
        when `install` failed) is opened again. The owner lock and the listeners stay; they
        hear that every conversation changed.
        """
        before = await self._run(_conversation_ids)
        result = await self._run(self._replace_sync, install)
        after = await self._run(_conversation_ids)
        self.changes.report(Changes(conversations=after, deleted=before - after,
                                    uploads=True, templates=True))
        return result

    def _replace_sync(self, db: Database, install: Callable[[Path], T]) -> T:
        if history.streaming_owners(db):
            raise StoreError("A reply is still being written; restore when it has finished.")
        db.close()
        try:
            return install(self.path)
        finally:
            self._db = open_database(self.path, use_fts=db.fts_search,
                                     recover_corrupt=False).db

    async def blob_refs(self) -> list[tuple[str, str]]:
        """(sha256, mime) of every blob the history refers to."""
        return await self._run(sync_merge.missing_blob_refs)


def _conversation_ids(db: Database) -> frozenset[int]:
    return frozenset(r[0] for r in db.conn.execute("SELECT id FROM conversations"))


def _search(db: Database, text: str, limit: int, marks: tuple[str, str]) -> list[SearchHit]:
    with db.read() as c:
        return search.search(c, text, limit=limit, fts=db.fts_search, marks=marks)


def _get_setting(db: Database, key: str, default: str | None) -> str | None:
    row = db.conn.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
    return default if row is None else row[0]


def _get_settings(db: Database, keys: tuple[str, ...]) -> dict[str, str]:
    marks = ", ".join("?" * len(keys))
    rows = db.conn.execute(f"SELECT key, value FROM settings WHERE key IN ({marks})", keys)
    return dict(rows.fetchall())


def _set_settings(db: Database, values: dict[str, str | None]) -> None:
    with db.write() as c:
        for key, value in values.items():
            if value is None:
                c.execute("DELETE FROM settings WHERE key = ?", (key,))
            else:
                c.execute("INSERT OR REPLACE INTO settings(key, value) VALUES (?, ?)",
                          (key, value))
