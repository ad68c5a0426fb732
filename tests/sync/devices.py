"""Devices for sync tests: each a real data folder with its own SQLite history and media."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from app.store import AttachmentRecord, BlobStore, Store
from app.sync.crypto import KdfParams
from app.sync.engine import SyncEngine
from app.sync.targets import Target

CHEAP_KDF = KdfParams(memory_kib=1024, iterations=1, lanes=1)
"""Tests derive keys often; the cost is stored in sync.json, so cheap here means cheap only here."""
PASSPHRASE = "correct horse battery staple"


@dataclass
class Device:
    name: str
    data_dir: Path
    store: Store
    blobs: BlobStore

    @classmethod
    async def open(cls, root: Path, name: str) -> Device:
        data = root / name
        data.mkdir(parents=True, exist_ok=True)
        store = await Store.open(data / "stepdesk.db", owner_dir=data / "owners")
        return cls(name, data, store, BlobStore(data / "media"))

    def engine(self, target: Target, passphrase: str = PASSPHRASE) -> SyncEngine:
        return SyncEngine(self.store, self.blobs, target, passphrase, data_dir=self.data_dir,
                          kdf=CHEAP_KDF, device_name=self.name)

    async def chat(self, title: str, question: str, answer: str, *,
                   image_seed: int | None = None) -> int:
        """A conversation with one finished turn (and an image when `image_seed` is set)."""
        conv = await self.store.create_conversation(title, "step-3.7-flash", None)
        attachments = []
        if image_seed is not None:
            data = png(image_seed)
            sha = hashlib.sha256(data).hexdigest()
            tmp = self.blobs.tmp_dir / f"{sha}.part"
            tmp.write_bytes(data)
            self.blobs.adopt(tmp, sha, "png")
            attachments.append(AttachmentRecord("image", "image/png", sha, len(data), 4, 4,
                                                None, f"img{image_seed}.png", 0))
        user = await self.store.add_user_message(conv.id, question, attachments, model=None,
                                                 effort=None)
        reply = await self.store.start_assistant_message(conv.id, reply_to=user.id, model=None,
                                                         effort=None)
        await self.store.append_reply(reply.id, "", answer, None)
        await self.store.finish_message(reply.id, "complete", finish_reason="stop")
        return conv.id

    async def history(self) -> list[tuple[object, ...]]:
        """Everything a user sees, independent of local ids: comparable across devices."""
        out: list[tuple[object, ...]] = []
        for conv in sorted(await self.store.list_conversations(10_000), key=lambda c: c.title):
            msgs = await self.store.list_messages(conv.id)
            out.append((conv.title, conv.pinned, tuple(
                (m.role, m.content, m.status, tuple(a.sha256 for a in m.attachments))
                for m in sorted(msgs, key=lambda m: (m.created_at, m.content)))))
        return out

    async def close(self) -> None:
        await self.store.close()


def png(seed: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 4), (seed % 256, (seed * 7) % 256, (seed * 13) % 256)).save(out, "PNG")
    return out.getvalue()
