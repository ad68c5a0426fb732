"""DESIGN.md's context policy: what one request carries, built from the stored history.

Earlier turns are re-sent as text, earlier media by reference (`stepfile://` once uploaded),
never earlier reasoning; past the request-wide image limits the oldest images are left out and
named, so the user can be told. Pure functions, no I/O beyond checking that blobs exist.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from app import limits
from app.api.request import ChatMessage, ChatRequest, MediaRef
from app.config import Settings
from app.store import BlobStore, Message

if TYPE_CHECKING:
    from app.media.edit_steps import EditSteps

EXT_BY_MIME = {"image/jpeg": "jpg", "image/png": "png", "image/gif": "gif",
               "image/webp": "webp", "video/mp4": "mp4"}


def plan_request(history: Sequence[Message], blobs: BlobStore, settings: Settings, model: str,
                 effort: str) -> tuple[ChatRequest, list[str]]:
    """DESIGN.md's context policy: text of earlier turns, earlier media by reference,
    never earlier reasoning, and the oldest images left out past the request limits."""
    keep = images_within_limits(history)
    omitted: list[str] = []
    messages: list[ChatMessage] = []
    for message in history:
        if message.role == "assistant":
            if message.content:
                messages.append(ChatMessage("assistant", message.content))
            continue
        media: list[MediaRef] = []
        marked: list[tuple[int, EditSteps]] = []
        for attachment in message.attachments:
            ext = EXT_BY_MIME.get(attachment.mime, "bin")
            path = blobs.path(attachment.sha256, ext)
            if (attachment.kind == "image" and (message.id, attachment.ordinal) not in keep) \
                    or not path.exists():
                omitted.append(attachment.original_name)
                continue
            media.append(MediaRef(attachment.kind, attachment.mime,  # type: ignore[arg-type]
                                  url=f"sha256:{attachment.sha256}", path=path))
            if attachment.kind == "image" and attachment.edits:
                number = sum(1 for ref in media if ref.kind == "image")
                marked.append((number, stored_steps(attachment.edits)))
        text = with_legend(message.content, marked)
        if text or media:
            messages.append(ChatMessage("user", text, tuple(media)))
    request = ChatRequest(model=model, messages=tuple(messages), effort=effort,
                          detail=settings.detail, max_tokens=settings.max_tokens,
                          api_style=settings.api_style)
    return request, omitted


def with_legend(text: str, marked: Sequence[tuple[int, EditSteps]]) -> str:
    """The user's text followed by what the numbered markers on its images mean.

    Built at request time from the stored steps (never saved into the message), so the
    window, the CLI and a resend all tell the model the same thing.
    """
    if not marked:  # no marked image: the edit model is not even loaded
        return text
    from app.media.edit_steps import callout_legend

    legend = callout_legend(marked)
    if not legend:
        return text
    return f"{text}\n\n{legend}" if text.strip() else legend


def stored_steps(edits: str) -> EditSteps:
    """Steps saved with an attachment; a damaged record means "no markers", not a failure."""
    from app.media.edit_steps import EditError, EditSteps

    try:
        return EditSteps.from_json(edits)
    except EditError:
        return EditSteps()


def uses_files(request: ChatRequest, settings: Settings) -> bool:
    """Whether media go by `stepfile://` (uploaded once) rather than inline."""
    has_media = any(m.media for m in request.messages)
    has_video = any(r.kind == "video" for m in request.messages for r in m.media)
    if not has_media:
        return False
    if request.api_style == "messages" and not has_video:
        return False  # Messages takes images as base64 blocks
    return settings.upload_media or (has_video and video_too_big_inline(request))



def images_within_limits(history: Sequence[Message]) -> set[tuple[int, int]]:
    """The images (message id, ordinal) that fit the request-wide limits, newest first."""
    keep: set[tuple[int, int]] = set()
    count = 0
    total = 0
    for message in reversed(history):
        for attachment in reversed(message.attachments):
            if attachment.kind != "image":
                continue
            if count + 1 > limits.MAX_IMAGES_PER_REQUEST or \
                    total + attachment.bytes > limits.MAX_IMAGE_BYTES_PER_REQUEST:
                return keep
            count += 1
            total += attachment.bytes
            keep.add((message.id, attachment.ordinal))
    return keep


def omitted_reason() -> str:
    return (f"A request may carry at most {limits.MAX_IMAGES_PER_REQUEST} images and "
            f"{limits.MAX_IMAGE_BYTES_PER_REQUEST // limits.MB} MB of images, so the oldest "
            "were left out of this one.")


def sha_of(ref: MediaRef) -> str:
    return (ref.url or "").removeprefix("sha256:")


def video_too_big_inline(request: ChatRequest) -> bool:
    """Inline base64 video is only safe when small (~12 MB of base64 is the proven cap)."""
    return any(r.kind == "video" and r.path is not None and r.path.stat().st_size > 9_000_000
               for m in request.messages for r in m.media)


def with_refs(request: ChatRequest, refs: dict[str, MediaRef], *, inline: bool) -> ChatRequest:
    """Replace our internal `sha256:` placeholders with `stepfile://` IDs or data: URLs."""
    messages = []
    for message in request.messages:
        media = []
        for ref in message.media:
            sha = sha_of(ref)
            if sha in refs:
                media.append(refs[sha])
            elif inline and ref.path is not None:
                media.append(MediaRef(ref.kind, ref.mime, url=_data_url(ref.path, ref.mime),
                                      path=ref.path))
            else:
                media.append(ref)
        messages.append(ChatMessage(message.role, message.text, tuple(media)))
    return ChatRequest(model=request.model, messages=tuple(messages), effort=request.effort,
                       detail=request.detail, max_tokens=request.max_tokens,
                       api_style=request.api_style)


def _data_url(path: Path, mime: str) -> str:
    import base64

    return f"data:{mime};base64," + base64.b64encode(path.read_bytes()).decode("ascii")
