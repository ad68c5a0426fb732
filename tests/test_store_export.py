"""Exporting a conversation: Markdown with images beside it, JSON that round-trips."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from app.api.events import Usage
from app.store import AttachmentRecord, BlobStore, Store, StoreError
from tests.conftest import TEST_API_KEY

KEY_RE = re.compile(r"\bsk-[A-Za-z0-9]{8,}")  # key material ("stepdesk-…" is fine)
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cf00000301010018dd8db40000000049454e44ae426082"
)


@pytest.fixture
async def store(data_dir: Path) -> AsyncIterator[Store]:
    s = await Store.open(data_dir / "stepdesk.db", owner_dir=data_dir / "owners")
    yield s
    await s.close()


async def _conversation(store: Store, blobs: BlobStore, tmp: Path) -> int:
    src = tmp / "my photo.png"
    src.write_bytes(PNG)
    digest, _ = blobs.put_file(src)
    conv = await store.create_conversation("Pixels & more", "step-3.7-flash", "high")
    image = AttachmentRecord("image", "image/png", digest, len(PNG), 1, 1, None, "my photo.png", 0)
    q = await store.add_user_message(conv.id, "What colour is this pixel?", [image],
                                     model="step-3.7-flash", effort="high")
    old = await store.start_assistant_message(conv.id, reply_to=q.id, model="m", effort="high")
    await store.append_reply(old.id, "", "An old answer nobody sees", None)
    await store.finish_message(old.id, "stopped")
    a = await store.start_assistant_message(conv.id, reply_to=q.id, model="m", effort="high",
                                            version_of=old.id)
    await store.append_reply(a.id, "It is one transparent pixel.", "It is **transparent**.",
                             Usage(120, 30, 100))
    await store.finish_message(a.id, "truncated", finish_reason="length")
    return conv.id


async def test_markdown_with_images_beside(store: Store, tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path / "blobs")
    conv_id = await _conversation(store, blobs, tmp_path)
    dest = tmp_path / "out" / "pixel chat.md"
    text = await store.export_conversation(conv_id, "md", dest, blobs)
    assert dest.read_text(encoding="utf-8") == text
    assert text.startswith("# Pixels & more\n")
    assert "What colour is this pixel?" in text and "It is **transparent**." in text
    assert "<details>" in text and "It is one transparent pixel." in text
    assert "An old answer nobody sees" not in text  # only the active version
    assert "status: truncated" in text and "120 in, 30 out (100 cached)" in text
    [image] = list((tmp_path / "out" / "pixel chat_files").iterdir())
    assert image.read_bytes() == PNG
    assert f"![my photo.png](pixel%20chat_files/{image.name})" in text


async def test_markdown_to_stdout_names_images(store: Store, tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path / "blobs")
    conv_id = await _conversation(store, blobs, tmp_path)
    text = await store.export_conversation(conv_id, "md", None, blobs)
    assert "*[image: my photo.png]*" in text
    assert not list(tmp_path.glob("*_files"))


async def test_json_is_parseable_with_reasoning(store: Store, tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path / "blobs")
    conv_id = await _conversation(store, blobs, tmp_path)
    dest = tmp_path / "chat.json"
    text = await store.export_conversation(conv_id, "json", dest, blobs)
    data = json.loads(dest.read_text(encoding="utf-8"))
    assert data == json.loads(text)
    assert data["format"] == "stepdesk-conversation" and data["conversation"]["title"] == (
        "Pixels & more")
    user, reply = data["messages"]
    assert user["attachments"][0]["original_name"] == "my photo.png"
    assert reply["reasoning"] == "It is one transparent pixel."
    assert (reply["status"], reply["finish_reason"], reply["cached_tokens"]) == (
        "truncated", "length", 100)


async def test_exports_never_contain_key_material(store: Store, tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path / "blobs")
    conv_id = await _conversation(store, blobs, tmp_path)
    for fmt in ("md", "json"):
        text = await store.export_conversation(conv_id, fmt, tmp_path / f"x.{fmt}", blobs)
        assert not KEY_RE.search(text) and TEST_API_KEY not in text
    assert TEST_API_KEY.encode() not in (store.path).read_bytes()


async def test_missing_conversation(store: Store, tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no conversation 42"):
        await store.export_conversation(42, "md", None, BlobStore(tmp_path / "b"))
