"""Edited images through the real chat engine and stand-in: what leaves, what is kept."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from PIL import Image

from app.chat import ChatEngine
from app.config import Settings, account_id, resolve_paths
from app.context import with_legend
from app.media.edit_steps import (
    REDACT_FILL,
    Box,
    Callout,
    EditRequest,
    EditSteps,
    Redact,
    Shape,
)
from app.media.intake import IntakeOptions, prepare_sync
from app.services import make_client
from app.store import BlobStore, Store, schema
from app.turn_events import TurnStarted
from tests.conftest import TEST_API_KEY
from tests.test_media_annotate import every_pixel, screenshot
from tests.test_store_migrations import make_old_db

REDACTION = Box(41, 59, 517, 49)
STEPS = EditSteps((Shape("rect", Box(600, 300, 200, 120)), Callout(620, 320, "the save button"),
                   Callout(900, 500), Redact(REDACTION)))


async def open_engine(standin, data_dir: Path) -> tuple[ChatEngine, Store, BlobStore]:
    paths = resolve_paths({"STEPDESK_DATA_DIR": str(data_dir)})
    store = await Store.open(paths.db_path, owner_dir=paths.owner_dir)
    settings = Settings.resolve({"STEP_BASE_URL": standin.base_url}, {}, paths)
    blobs = BlobStore(paths.blob_dir)
    engine = ChatEngine(store=store, client=make_client(settings, TEST_API_KEY), blobs=blobs,
                        settings=settings, account=account_id(TEST_API_KEY))
    return engine, store, blobs


@pytest.fixture
async def parts(standin, data_dir: Path) -> AsyncIterator[tuple[ChatEngine, Store, BlobStore]]:
    engine, store, blobs = await open_engine(standin, data_dir)
    try:
        yield engine, store, blobs
    finally:
        await engine._client.aclose()
        await store.close()


def edited(tmp_path: Path, blobs: BlobStore, steps: EditSteps = STEPS, keep: bool = False):
    src = tmp_path / "shot.png"
    if not src.exists():
        screenshot().save(src)
    return prepare_sync(src, work_dir=blobs.tmp_dir,
                        options=IntakeOptions(edit=EditRequest(steps, keep_original=keep)))


def request_text(standin) -> str:
    content = standin.chat_requests()[-1].json["messages"][-1]["content"]
    return next(part["text"] for part in content if part["type"] == "text")


async def test_redacted_pixels_are_solid_in_every_copy_and_callouts_reach_the_prompt(
        parts, standin, tmp_path: Path) -> None:
    engine, store, blobs = parts
    item = edited(tmp_path, blobs)
    events = [e async for e in engine.send(None, "Why is #1 greyed out?", [item])]
    started = next(e for e in events if isinstance(e, TurnStarted))
    box = (REDACTION.x, REDACTION.y, REDACTION.right, REDACTION.bottom)

    [uploaded] = standin.files.values()  # the bytes the stand-in received
    with Image.open(io.BytesIO(uploaded.data)) as sent:
        assert sent.format == "PNG" and sent.size == (1280, 800)
        assert every_pixel(sent, box) == {REDACT_FILL}
    with Image.open(blobs.path(item.sha256, "png")) as stored:
        assert every_pixel(stored, box) == {REDACT_FILL}
    thumb_path = blobs.thumbnail_path(item.sha256)
    assert thumb_path is not None
    with Image.open(thumb_path) as thumb:
        s = thumb.width / 1280
        assert every_pixel(thumb, (int(box[0] * s) + 1, int(box[1] * s) + 1,
                                   int(box[2] * s) - 1, int(box[3] * s) - 1)) == {REDACT_FILL}
    assert uploaded.data == blobs.path(item.sha256, "png").read_bytes()

    text = request_text(standin)
    assert text.startswith("Why is #1 greyed out?\n\n")
    assert ("Image 1 has numbered markers 1–2 drawn on it by the user: "
            "1 = the save button; 2.") in text
    # The stored message is what the user typed; the legend is made for each request.
    [user, _reply] = await store.active_messages(started.conversation_id)
    assert user.content == "Why is #1 greyed out?"
    [record] = user.attachments
    assert EditSteps.from_json(record.edits or "").callouts()[0].label == "the save button"
    assert record.edit_base is not None and blobs.exists(record.edit_base, "png")
    with Image.open(blobs.path(record.edit_base, "png")) as base:  # original not kept
        assert every_pixel(base, box) == {REDACT_FILL}

    # Export: the flattened image only.
    out = tmp_path / "export" / "chat.md"
    await store.export_conversation(started.conversation_id, "md", out, blobs)
    [exported] = [p for p in out.parent.rglob("*.png")]
    assert exported.read_bytes() == uploaded.data


async def test_edit_again_after_restart_and_resend_as_a_new_version(
        standin, data_dir: Path, tmp_path: Path) -> None:
    engine, store, blobs = await open_engine(standin, data_dir)
    item = edited(tmp_path, blobs, keep=True)
    events = [e async for e in engine.send(None, "Look at #2", [item])]
    started = next(e for e in events if isinstance(e, TurnStarted))
    await engine._client.aclose()
    await store.close()

    engine, store, blobs = await open_engine(standin, data_dir)  # a restart
    try:
        [user, _] = await store.active_messages(started.conversation_id)
        [record] = user.attachments
        steps = EditSteps.from_json(record.edits or "")
        assert steps == STEPS  # kept original: every step, redaction included, is editable
        base_path = blobs.path(record.edit_base or "", "png")
        with Image.open(base_path) as base:
            assert base.convert("RGB").tobytes() == screenshot().tobytes()
        # Edit again: drop the second callout, send as a new version of the turn.
        again = EditSteps(tuple(s for s in steps.steps if s != Callout(900, 500)))
        redo = prepare_sync(base_path, work_dir=blobs.tmp_dir,
                            options=IntakeOptions(edit=EditRequest(again, keep_original=True)))
        assert redo.sha256 != item.sha256
        _ = [e async for e in engine.edit_and_resend(user.id, "Look at #1", replace={0: redo})]
        versions = await store.versions(user.id)
        assert [v.content for v in versions] == ["Look at #2", "Look at #1"]
        assert versions[-1].attachments[0].sha256 == redo.sha256
        assert "markers" not in request_text(standin).split("\n\n")[0]
        assert "Image 1 has marker 1 drawn on it by the user: 1 = the save button." in \
            request_text(standin)
        # Both sent images were uploaded; the base was never.
        assert len(standin.files) == 2
        assert all(f.data != base_path.read_bytes() for f in standin.files.values())
        # Deleting the conversation frees both flattened images and the base.
        orphaned = await store.delete_conversation(started.conversation_id)
        assert record.edit_base in orphaned and item.sha256 in orphaned
    finally:
        await engine._client.aclose()
        await store.close()


async def test_a_kept_original_stays_on_this_computer_only(parts, standin,
                                                           tmp_path: Path) -> None:
    """Kept by choice: stored (for "Edit again"), but never uploaded, exported or in a
    thumbnail; every copy that leaves has the redaction."""
    engine, store, blobs = parts
    item = edited(tmp_path, blobs, keep=True)
    events = [e async for e in engine.send(None, "What is hidden?", [item])]
    started = next(e for e in events if isinstance(e, TurnStarted))
    [user, _reply] = await store.active_messages(started.conversation_id)
    [record] = user.attachments
    assert record.edit_base is not None
    original = blobs.path(record.edit_base, "png").read_bytes()
    with Image.open(io.BytesIO(original)) as kept:
        assert kept.convert("RGB").tobytes() == screenshot().tobytes()
    box = (REDACTION.x, REDACTION.y, REDACTION.right, REDACTION.bottom)
    [uploaded] = standin.files.values()
    with Image.open(io.BytesIO(uploaded.data)) as sent:
        assert every_pixel(sent, box) == {REDACT_FILL}
    thumb_path = blobs.thumbnail_path(record.sha256)
    assert thumb_path is not None and blobs.thumbnail_path(record.edit_base) is None
    md = tmp_path / "export" / "chat.md"
    await store.export_conversation(started.conversation_id, "md", md, blobs)
    exported = [p.read_bytes() for p in md.parent.rglob("*") if p.is_file() and p != md]
    assert exported == [uploaded.data] and original not in exported
    as_json = await store.export_conversation(started.conversation_id, "json", None, blobs)
    assert "base64" not in as_json and len(as_json) < 20_000  # records, not pixels


@pytest.mark.parametrize("version", range(1, schema.LATEST))
async def test_edits_are_stored_after_migrating_from_every_version(
        data_dir: Path, version: int) -> None:
    from app.store import AttachmentRecord

    path = data_dir / "stepdesk.db"
    make_old_db(path, version)
    store = await Store.open(path, owner_dir=data_dir / "owners")
    record = AttachmentRecord("image", "image/png", "d" * 64, 10, 4, 4, None, "e.png", 0,
                              edits=STEPS.to_json(), edit_base="e" * 64)
    try:
        message = await store.add_user_message(1, "edited", [record], model=None, effort=None)
        assert "e" * 64 in await store.referenced_sha256s()
    finally:
        await store.close()
    store = await Store.open(path, owner_dir=data_dir / "owners")
    try:
        reread = await store.get_message(message.id)
        assert reread is not None
        assert EditSteps.from_json(reread.attachments[0].edits or "") == STEPS
        assert reread.attachments[0].edit_base == "e" * 64
    finally:
        await store.close()


def test_a_legend_needs_callouts_and_damaged_steps_are_no_legend() -> None:
    assert with_legend("hi", []) == "hi"
    assert with_legend("", [(2, EditSteps((Callout(1, 1, "a"),)))]).startswith("Image 2 has")
    from app.context import stored_steps

    assert stored_steps("{nonsense") == EditSteps()
