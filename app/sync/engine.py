"""One sync: merge what the other devices wrote, fetch their media, write our own snapshot.

Order matters for faults. Nothing local changes before a remote file has been authenticated
and decompressed; a snapshot is merged from a temp file by the store (idempotent, so a merge
cut short is simply redone). Our upload goes blobs → snapshot → manifest → head, each by a
temp name and a move, so a sync killed at any point leaves the previous head (and everything
it names) intact and the next sync resumes. Per-target progress (which peer seq we merged,
which blobs the storage has) lives in `sync-state.json` in the data folder, never in SQLite
and never on the target.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import json
import logging
import os
import platform
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import zstandard

from app.fsmodes import create_private, private_dir, write_private_atomic
from app.store import BlobStore, NewerSchemaError, Store, StoreError
from app.store.db import open_database
from app.store.schema import LATEST
from app.store.snapshot import SnapshotInfo, read_info, write_snapshot
from app.sync import layout
from app.sync.crypto import KdfParams, Keys, new_repository, unlock
from app.sync.errors import NewerSnapshot, SyncError, TamperedFile
from app.sync.targets import Target

log = logging.getLogger(__name__)
ZSTD_LEVEL = 9


@dataclass
class SyncReport:
    merged: list[str] = field(default_factory=list)  # peer devices merged this time
    changes: int = 0  # rows the merges changed here
    wrote: int | None = None  # the seq of the snapshot we wrote, if any
    blobs_up: int = 0
    blobs_down: int = 0
    problems: list[str] = field(default_factory=list)  # files skipped, in words


class SyncEngine:
    """Sync, back up, list and fetch snapshots for one store against one target."""

    def __init__(self, store: Store, blobs: BlobStore, target: Target, passphrase: str, *,
                 data_dir: Path, kdf: KdfParams | None = None,
                 device_name: str | None = None) -> None:
        self.store = store
        self.blobs = blobs
        self.target = target
        self._passphrase = passphrase
        self._data_dir = data_dir
        self._kdf = kdf or KdfParams()
        self._device_name = device_name or platform.node() or "device"
        self._keys: Keys | None = None
        self._config: bytes | None = None  # the repository file our keys were unlocked from
        self._state_path = data_dir / "sync-state.json"
        self._work = data_dir / "sync-tmp"

    # -- state -------------------------------------------------------------------------------

    def _load_state(self) -> dict[str, object]:
        try:
            doc = json.loads(self._state_path.read_text("utf-8"))
            entry = doc.get(self.target.label, {})
            return entry if isinstance(entry, dict) else {}
        except (OSError, ValueError):
            return {}

    def _save_state(self, state: dict[str, object]) -> None:
        try:
            doc = json.loads(self._state_path.read_text("utf-8"))
            if not isinstance(doc, dict):
                doc = {}
        except (OSError, ValueError):
            doc = {}
        doc[self.target.label] = state
        write_private_atomic(self._state_path, json.dumps(doc).encode(), overwrite=True)

    # -- keys --------------------------------------------------------------------------------

    async def keys(self, *, create: bool) -> Keys:
        """Unlock the target's repository (creating it when `create` and absent).

        A WebDAV server may check `Overwrite: F` and move as two steps (wsgidav does), so two
        devices creating the repository at once can both hear "created". The file is read
        back after creating it, and `sync()` checks it again at the end, so the device whose
        repository was replaced takes the one that stayed.
        """
        if self._keys is not None:
            return self._keys
        config = await self.target.get(layout.CONFIG)
        if config is None:
            if not create:
                raise SyncError(f"There is nothing synced at {self.target.label} yet.")
            fresh, keys = await asyncio.to_thread(new_repository, self._passphrase, self._kdf)
            await self.target.ensure_dir(layout.DEVICES)
            device = (await self.store.sync_clock())[0]
            await self.target.ensure_dir(layout.tmp_dir(device))
            await self.target.put_new(layout.CONFIG, fresh, tmp_dir=layout.tmp_dir(device))
            config = await self.target.get(layout.CONFIG)  # ours, or the device's that won
            if config is None:
                raise SyncError(f"{layout.CONFIG} vanished from {self.target.label}.")
            if config == fresh:
                self._keys, self._config = keys, config
                return keys
        self._keys = await asyncio.to_thread(unlock, config, self._passphrase)
        self._config = config
        return self._keys

    async def _repository_replaced(self) -> bool:
        """Whether the repository file changed since our keys were unlocked from it."""
        return self._config is not None and \
            await self.target.get(layout.CONFIG) != self._config

    def _adopt_repository(self, state: dict[str, object]) -> None:
        """Forget per-target progress made under another repository's keys.

        What we uploaded under a replaced repository cannot be read with the keys that
        stayed: our snapshot and media are written again, peers are merged afresh, and the
        files written under the lost keys are deleted once ours are written again
        (`_remove_stale`): nobody can read them any more.
        """
        if self._config is None:
            return
        repo = hashlib.sha256(self._config).hexdigest()[:32]
        if state.get("repo") not in (None, repo):
            log.warning("the sync repository at %s was replaced; writing ours again",
                        self.target.label)
            state["stale_blobs"] = sorted({*_strings(state.get("stale_blobs")),
                                           *_strings(state.get("own_blobs"))})
            state["stale_snapshots"] = True
            for key in ("own_seq", "own_blobs", "known_blobs", "peers"):
                state.pop(key, None)
        state["repo"] = repo

    # -- sync --------------------------------------------------------------------------------

    async def sync(self) -> SyncReport:
        """Merge every other device's newest snapshot, then write ours if anything changed.

        The outcome (time of the last success, or the failure in words) is remembered per
        target for `status()`, so a failure that repeats stays visible until a sync works.
        """
        try:
            with _exclusive(self._data_dir / "sync.lock"):
                report = await self._sync()
                if await self._repository_replaced():
                    self._keys = self._config = None
                    report = await self._sync()
        except SyncError as exc:
            self._remember_outcome(error=exc.message)
            raise
        self._remember_outcome(error=None)
        return report

    def _remember_outcome(self, *, error: str | None) -> None:
        state = self._load_state()
        if error is None:
            state["last_ok"] = _now_ms()
            state.pop("last_error", None)
        else:
            state["last_error"] = error
            state["last_error_at"] = _now_ms()
        self._save_state(state)

    def status(self) -> dict[str, object]:
        """What the last syncs to this target did (local; no network)."""
        state = self._load_state()
        return {k: state.get(k) for k in ("last_ok", "last_error", "last_error_at", "own_seq")}

    async def _sync(self) -> SyncReport:
        report = SyncReport()
        keys = await self.keys(create=True)
        device, _hlc, _seq = await self.store.sync_clock()
        state = self._load_state()
        self._adopt_repository(state)
        try:
            await self._prepare_own_folder(device, state)
            known = set(_strings(state.get("known_blobs")))
            peers: dict[str, int] = dict(state.get("peers", {}))  # type: ignore[call-overload]
            for peer in await self.target.listdir(layout.DEVICES):
                if peer == device or not layout.is_device(peer):
                    continue
                try:
                    merged = await self._merge_peer(keys, peer, peers.get(peer, 0), known,
                                                    report)
                except (TamperedFile, NewerSnapshot) as exc:
                    report.problems.append(exc.message)
                    continue
                if merged is not None:
                    peers[peer] = merged
                    state["peers"] = peers
                    state["known_blobs"] = sorted(known)
                    self._save_state(state)
            report.blobs_down = await self._fetch_blobs(keys, known, report)
            await self._write_own(keys, device, state, known, report, force=False)
            await self._remove_stale(keys, device, known, state)
        finally:
            state["known_blobs"] = sorted(set(_strings(state.get("known_blobs"))))
            self._save_state(state)
        return report

    async def backup(self) -> SyncReport:
        """Write our snapshot (and missing blobs) now, without merging anything."""
        report = SyncReport()
        keys = await self.keys(create=True)
        device = (await self.store.sync_clock())[0]
        state = self._load_state()
        self._adopt_repository(state)
        await self._prepare_own_folder(device, state)
        known = set(_strings(state.get("known_blobs")))
        try:
            await self._write_own(keys, device, state, known, report, force=True)
            await self._remove_stale(keys, device, known, state)
        finally:
            self._save_state(state)
        return report

    async def _prepare_own_folder(self, device: str, state: dict[str, object]) -> None:
        """Our folders exist; uploads a killed sync left half-done are removed."""
        if not state.get("folders"):
            await self.target.ensure_dir(layout.BLOBS)
            await self.target.ensure_dir(layout.tmp_dir(device))
            state["folders"] = True
        for name in await self.target.listdir(layout.tmp_dir(device)):
            if name.startswith(".tmp-"):
                await self.target.delete(f"{layout.tmp_dir(device)}/{name}")

    async def _merge_peer(self, keys: Keys, peer: str, merged_seq: int, known: set[str],
                          report: SyncReport) -> int | None:
        """Merge `peer`'s newest snapshot if newer than `merged_seq`; returns its seq."""
        head = await self.read_head(keys, peer)
        if head is None or head.seq <= merged_seq or not head.snapshots:
            return None
        label = layout.manifest(peer, head.seq)
        sealed = await self.target.get(label)
        if sealed is None:
            raise TamperedFile(label)
        known.update(layout.manifest_blobs(keys.open(sealed, label), label))
        path = await self.fetch_snapshot(keys, peer, head.seq)
        try:
            report.changes += await self.store.merge_snapshot(path)
        finally:
            path.unlink(missing_ok=True)
        report.merged.append(peer)
        return head.seq

    async def read_head(self, keys: Keys, device: str) -> layout.Head | None:
        label = layout.head(device)
        sealed = await self.target.get(label)
        if sealed is None:
            return None
        return layout.Head.from_bytes(keys.open(sealed, label), label)

    async def fetch_snapshot(self, keys: Keys, device: str, seq: int) -> Path:
        """Download, authenticate, decompress and (if older) migrate a snapshot to a temp file.

        Raises TamperedFile (named) or NewerSnapshot; the caller deletes the returned file.
        """
        label = layout.snapshot(device, seq)
        sealed = await self.target.get(label)
        if sealed is None:
            raise TamperedFile(label)
        plain = keys.open(sealed, label)
        return await asyncio.to_thread(self._unpack, plain, label)

    def _unpack(self, plain: bytes, label: str) -> Path:
        private_dir(self._work)
        fd, name = tempfile.mkstemp(dir=self._work, suffix=".db")
        path = Path(name)
        try:
            with os.fdopen(fd, "wb") as out:
                zstandard.ZstdDecompressor().copy_stream(io.BytesIO(plain), out)
            opened = open_database(path, use_fts=False, recover_corrupt=False)
            opened.db.close()
            for leftover in self._work.glob(path.name + ".bak-*"):
                leftover.unlink(missing_ok=True)
        except NewerSchemaError as exc:
            _remove(path)
            raise NewerSnapshot(f"{label} was written by a newer Step Desk (schema "
                                f"v{exc.found}, this one knows v{LATEST}); update to merge "
                                "it.") from None
        except (zstandard.ZstdError, StoreError, sqlite3.Error, OSError) as exc:
            _remove(path)
            log.warning("unreadable snapshot %s: %s", label, exc)
            raise TamperedFile(label) from None
        return path

    # -- blobs -------------------------------------------------------------------------------

    async def _fetch_blobs(self, keys: Keys, known: set[str], report: SyncReport) -> int:
        """Download media the history refers to that we lack and the storage has."""
        present = await asyncio.to_thread(_present_blobs, self.blobs.root)
        fetched = 0
        for sha, _mime in await self.store.blob_refs():
            if sha in present:
                continue
            name = keys.blob_name(sha)
            if name not in known:
                continue
            label = layout.blob(name)
            sealed = await self.target.get(label)
            if sealed is None:
                continue
            try:
                plain = keys.open(sealed, label)
                ext, _, data = plain.partition(b"\n")
                if hashlib.sha256(data).hexdigest() != sha:
                    raise TamperedFile(label)
                await asyncio.to_thread(self._adopt, data, sha, ext.decode("ascii"))
            except (TamperedFile, UnicodeDecodeError, ValueError):
                report.problems.append(TamperedFile(label).message)
                continue
            present.add(sha)
            fetched += 1
        return fetched

    def _adopt(self, data: bytes, sha: str, ext: str) -> None:
        fd, name = tempfile.mkstemp(dir=self.blobs.tmp_dir, suffix=".part")
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        self.blobs.adopt(Path(name), sha, ext)

    async def _upload_blobs(self, keys: Keys, device: str, state: dict[str, object],
                            known: set[str], report: SyncReport) -> None:
        own = set(_strings(state.get("own_blobs")))
        for sha, _mime in await self.store.blob_refs():
            name = keys.blob_name(sha)
            if name in known:
                continue
            path = self.blobs.find(sha)
            if path is None:
                continue
            data = await asyncio.to_thread(path.read_bytes)
            payload = path.suffix.lstrip(".").encode("ascii") + b"\n" + data
            label = layout.blob(name)
            # A medium's name is its content's: a copy already there (another device's,
            # perhaps uploaded at this same moment) serves as well as ours.
            await self.target.put_new(label, keys.seal(payload, label),
                                      tmp_dir=layout.tmp_dir(device))
            known.add(name)
            own.add(name)
            state["known_blobs"] = sorted(known)
            state["own_blobs"] = sorted(own)
            report.blobs_up += 1

    # -- our snapshot ------------------------------------------------------------------------

    async def _write_own(self, keys: Keys, device: str, state: dict[str, object],
                         known: set[str], report: SyncReport, *, force: bool) -> None:
        seq = (await self.store.sync_clock())[2]
        if not force and state.get("own_seq") == seq:
            return
        info, packed = await asyncio.to_thread(self._pack)
        await self._upload_blobs(keys, device, state, known, report)
        snap = layout.snapshot(device, info.seq)
        tmp = layout.tmp_dir(device)
        await self.target.put(snap, keys.seal(packed, snap), tmp_dir=tmp)
        try:
            old = await self.read_head(keys, device)
        except TamperedFile:  # written under a replaced repository, or damaged: ours anew
            old = None
        entry = layout.SnapshotEntry(device, self._device_name, info.seq, _now_ms(),
                                     info.schema, len(packed))
        snapshots = [s for s in (old.snapshots if old else []) if s.seq != info.seq]
        snapshots = [*snapshots, entry][-layout.KEEP_SNAPSHOTS:]
        man = layout.manifest(device, info.seq)
        own_blobs = sorted(_strings(state.get("own_blobs")))
        await self.target.put(man, keys.seal(
            layout.manifest_bytes(device, info.seq, snapshots, own_blobs), man), tmp_dir=tmp)
        head = layout.Head(device, self._device_name, info.seq, info.hlc, info.schema,
                           entry.written_at, snapshots)
        label = layout.head(device)
        await self.target.put(label, keys.seal(head.to_bytes(), label), tmp_dir=tmp)
        kept = {s.seq for s in snapshots}
        for gone in (old.snapshots if old else []):
            if gone.seq not in kept:
                await self.target.delete(layout.snapshot(device, gone.seq))
        if old is not None and old.seq != info.seq:
            await self.target.delete(layout.manifest(device, old.seq))
        state["own_seq"] = info.seq
        report.wrote = info.seq

    async def _remove_stale(self, keys: Keys, device: str, known: set[str],
                            state: dict[str, object]) -> None:
        """Delete our snapshots and media sealed under a replaced repository's keys.

        Only once our head is written again under the keys that stayed, and only our own: the
        snapshots and manifests in our folder that head does not list, and the media names we
        uploaded then (keyed names, so none of them names a medium of the new keys). A failure
        half-way leaves the rest listed for the next sync.
        """
        if not state.get("stale_snapshots") and not state.get("stale_blobs"):
            return
        try:
            head = await self.read_head(keys, device)
        except TamperedFile:  # still the head sealed under the lost keys
            return
        if head is None:
            return
        if state.get("stale_snapshots"):
            kept = {layout.manifest(device, head.seq),
                    *(layout.snapshot(device, s.seq) for s in head.snapshots)}
            folder = layout.device_dir(device)
            for name in await self.target.listdir(folder):
                path = f"{folder}/{name}"
                if name.startswith(("snap-", "manifest-")) and path not in kept:
                    await self.target.delete(path)
            state.pop("stale_snapshots")
        stale = _strings(state.get("stale_blobs"))
        for index, name in enumerate(stale):
            if name not in known:
                await self.target.delete(layout.blob(name))
            state["stale_blobs"] = stale[index + 1:]
        state.pop("stale_blobs", None)

    def _pack(self) -> tuple[SnapshotInfo, bytes]:
        """Snapshot the live database (separate read connection) and compress it."""
        private_dir(self._work)
        fd, name = tempfile.mkstemp(dir=self._work, suffix=".db")
        os.close(fd)
        path = Path(name)
        path.unlink()
        try:
            info = write_snapshot(self.store.path, path)
            with path.open("rb") as src:
                packed = zstandard.ZstdCompressor(level=ZSTD_LEVEL).compress(src.read())
        finally:
            _remove(path)
        return info, packed

    # -- restore support -----------------------------------------------------------------------

    async def list_snapshots(self) -> list[layout.SnapshotEntry]:
        keys = await self.keys(create=False)
        entries: list[layout.SnapshotEntry] = []
        for device in await self.target.listdir(layout.DEVICES):
            if not layout.is_device(device):
                continue
            try:
                head = await self.read_head(keys, device)
            except TamperedFile:
                continue
            if head is not None:
                entries.extend(head.snapshots)
        return sorted(entries, key=lambda e: (e.device_name, e.device, -e.seq))

    async def fetch_blobs_for_restore(self) -> SyncReport:
        """After a restore: download the restored history's media."""
        report = SyncReport()
        keys = await self.keys(create=False)
        known: set[str] = set()
        for device in await self.target.listdir(layout.DEVICES):
            if not layout.is_device(device):
                continue
            head = await self.read_head(keys, device)
            if head is None:
                continue
            label = layout.manifest(device, head.seq)
            sealed = await self.target.get(label)
            if sealed is not None:
                known.update(layout.manifest_blobs(keys.open(sealed, label), label))
        report.blobs_down = await self._fetch_blobs(keys, known, report)
        return report


def snapshot_info(path: Path) -> SnapshotInfo:
    conn = sqlite3.connect(path)
    try:
        return read_info(conn)
    finally:
        conn.close()


@contextlib.contextmanager
def _exclusive(path: Path) -> Iterator[None]:
    """One sync per data folder at a time (the window's schedule and a `stepdesk sync`)."""
    try:
        import fcntl
    except ImportError:  # Windows: the window and the CLI rarely sync at the same instant
        yield
        return
    fd = create_private(path, exclusive=False) if not path.exists() else os.open(path, os.O_RDWR)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise SyncError("Another sync of this history is running; try again when it "
                            "has finished.") from None
        yield
    finally:
        os.close(fd)


def _present_blobs(root: Path) -> set[str]:
    found: set[str] = set()
    try:
        folders = list(os.scandir(root))
    except OSError:
        return found
    for folder in folders:
        if folder.is_dir() and len(folder.name) == 2:
            found.update(entry.name.split(".", 1)[0] for entry in os.scandir(folder.path))
    return found


def _strings(value: object) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _remove(path: Path) -> None:
    for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        p.unlink(missing_ok=True)


def _now_ms() -> int:
    return time.time_ns() // 1_000_000



