"""Exporting one conversation as Markdown or JSON (what `stepdesk history export` prints).

The export shows the conversation as the user sees it (active versions only) with reasoning,
attachments, token usage and any non-complete status. The database holds no API key, so
nothing here can leak one. Markdown written to a file gets its images copied into a
`<stem>_files/` folder beside it and linked relatively, so the folder can be moved as a unit.

Text from the model is inert in Markdown (control characters shown, `app.safetext.visible`);
JSON keeps the exact text, those characters escaped by JSON. A file is written to a 0600
temp file beside the target and renamed (a failed export leaves no half file) and never
replaces an existing file unless `overwrite` is set; a device or FIFO (`/dev/stdout`) is
written directly, never replaced.
"""

from __future__ import annotations

import dataclasses
import os
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

from app.fsmodes import is_device, private_dir, write_output
from app.safetext import json_dumps, one_line, visible
from app.store import history
from app.store.blobs import BlobStore
from app.store.db import Database
from app.store.errors import StoreError
from app.store.records import AttachmentRecord, Conversation, ExportFormat, Message

FORMAT_ID = "stepdesk-conversation"
FORMAT_VERSION = 1


def export_conversation(
    db: Database, conversation_id: int, fmt: ExportFormat, dest: Path | None, blobs: BlobStore,
    *, overwrite: bool = False,
) -> str:
    with db.read():
        conv = history.get_conversation(db, conversation_id)
        messages = history.active_messages(db, conversation_id) if conv else []
    if conv is None:
        raise StoreError(f"There is no conversation {conversation_id}.")
    if fmt not in ("json", "md"):
        raise ValueError(f"unknown export format {fmt!r}")
    device = dest is not None and is_device(dest)
    if dest is not None and not device:
        if dest.is_dir():
            raise IsADirectoryError(21, "Is a directory", str(dest))
        if not overwrite and os.path.lexists(dest):
            raise FileExistsError(17, "File exists", str(dest))
        private_dir(dest.parent)
    if fmt == "json":
        text = to_json(conv, messages)
    else:
        text = to_markdown(conv, messages, None if device else dest, blobs)
    if dest is not None:
        write_output(dest, text.encode("utf-8"), overwrite=overwrite)
    return text


def _iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="seconds")


def to_json(conv: Conversation, messages: list[Message]) -> str:
    data = {
        "format": FORMAT_ID,
        "version": FORMAT_VERSION,
        "conversation": {**dataclasses.asdict(conv), "created": _iso(conv.created_at)},
        "messages": [
            {**dataclasses.asdict(m), "created": _iso(m.created_at)} for m in messages
        ],
    }
    return json_dumps(data) + "\n"


def to_markdown(
    conv: Conversation, messages: list[Message], dest: Path | None, blobs: BlobStore
) -> str:
    files_dir = dest.with_name(f"{dest.stem}_files") if dest is not None else None
    out = [f"# {one_line(conv.title or 'Untitled conversation')}", ""]
    meta = [f"Model: {one_line(conv.model)}"]
    if conv.effort:
        meta.append(f"effort: {conv.effort}")
    meta.append(f"started {_iso(conv.created_at)}")
    out += [f"*{' · '.join(meta)}*", ""]
    for m in messages:
        who = "You" if m.role == "user" else ("Step" if m.role == "assistant" else m.role)
        out += [f"## {who}", ""]
        out += _attachments(m.attachments, files_dir, blobs)
        if m.reasoning:
            out += ["<details>", "<summary>Thinking</summary>", "", m.reasoning.strip(), "",
                    "</details>", ""]
        if m.content:
            out += [m.content.rstrip(), ""]
        out += _footer(m)
    return visible("\n".join(out).rstrip() + "\n")


def _attachments(
    attachments: tuple[AttachmentRecord, ...], files_dir: Path | None, blobs: BlobStore
) -> list[str]:
    lines = []
    for a in attachments:
        label = one_line(a.original_name or f"{a.kind} {a.sha256[:12]}")
        copied = None
        if files_dir is not None:
            src = blobs.find(a.sha256)
            if src is not None:
                copied = blobs.copy_out(a.sha256, files_dir / f"{a.sha256[:16]}{src.suffix}")
        if copied is None:
            lines.append(f"*[{a.kind}: {label}]*")
        else:
            link = f"{quote(copied.parent.name)}/{quote(copied.name)}"
            lines.append(f"![{label}]({link})" if a.kind == "image" else f"[{label}]({link})")
    return [*lines, ""] if lines else []


def _footer(m: Message) -> list[str]:
    notes = []
    if m.status != "complete":
        notes.append(f"status: {m.status}" + (f" — {m.error}" if m.error else ""))
    if m.prompt_tokens is not None or m.completion_tokens is not None:
        usage = f"tokens: {m.prompt_tokens or 0} in, {m.completion_tokens or 0} out"
        if m.cached_tokens:
            usage += f" ({m.cached_tokens} cached)"
        notes.append(usage)
    return [f"*{' · '.join(notes)}*", ""] if notes else []
