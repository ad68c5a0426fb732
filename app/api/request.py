"""What we send: the request model and the two wire bodies built from it.

Pure functions (except that the Messages body reads local image bytes for its base64 blocks), so
the exact JSON is easy to test. Rules from stepfun-api.md: media parts go before the text
(§2.2, §8); `detail` is always sent because the docs disagree on its default (§6.1);
`max_tokens` is only sent when the user set one, since the server default is unlimited and a small
cap cuts high-effort reasoning off before the answer (DESIGN.md, context policy).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

MESSAGES_DEFAULT_MAX_TOKENS = 32768
"""The Messages API requires `max_tokens` (> 0); this is what we send when the user set none."""


@dataclass(frozen=True)
class MediaRef:
    """One attachment as the request refers to it.

    `url` is `stepfile://<id>` (uploaded) or a `data:` URL; `path` holds the local bytes, which the
    Messages API needs because it takes images only as base64 blocks.
    """

    kind: Literal["image", "video"]
    mime: str
    url: str | None
    path: Path | None = None


@dataclass(frozen=True)
class ChatMessage:
    role: Literal["system", "user", "assistant"]
    text: str
    media: tuple[MediaRef, ...] = ()


@dataclass(frozen=True)
class ChatRequest:
    model: str
    messages: tuple[ChatMessage, ...]
    effort: str | None = "medium"
    detail: str = "high"
    max_tokens: int | None = None
    api_style: Literal["chat", "messages"] = "chat"


def has_video(req: ChatRequest) -> bool:
    """True when any message carries a video: those requests always use Chat Completions."""
    return any(m.kind == "video" for msg in req.messages for m in msg.media)


def build_chat_body(req: ChatRequest, *, stream: bool) -> dict[str, Any]:
    """The `POST /chat/completions` body."""
    body: dict[str, Any] = {
        "model": req.model,
        "messages": [_chat_message(msg, req.detail) for msg in req.messages],
        "stream": stream,
    }
    if req.effort:
        body["reasoning_effort"] = req.effort
    if req.max_tokens is not None:
        body["max_tokens"] = req.max_tokens
    return body


def _chat_message(msg: ChatMessage, detail: str) -> dict[str, Any]:
    if not msg.media:
        return {"role": msg.role, "content": msg.text}
    parts: list[dict[str, Any]] = [_chat_part(ref, detail) for ref in msg.media]
    if msg.text:
        parts.append({"type": "text", "text": msg.text})
    return {"role": msg.role, "content": parts}


def _chat_part(ref: MediaRef, detail: str) -> dict[str, Any]:
    if not ref.url:
        raise ValueError(f"{ref.kind} attachment has no URL (upload it or use a data: URL)")
    if ref.kind == "video":
        return {"type": "video_url", "video_url": {"url": ref.url}}
    return {"type": "image_url", "image_url": {"url": ref.url, "detail": detail}}


def build_messages_body(req: ChatRequest, *, stream: bool) -> dict[str, Any]:
    """The `POST /messages` (Anthropic-style) body. Reads image bytes from `MediaRef.path`.

    Raises ValueError for video (route those through Chat Completions) or an image with neither
    local bytes nor a `data:` URL.
    """
    system = "\n\n".join(m.text for m in req.messages if m.role == "system" and m.text)
    body: dict[str, Any] = {
        "model": req.model,
        "max_tokens": req.max_tokens or MESSAGES_DEFAULT_MAX_TOKENS,
        "messages": [_messages_message(m) for m in req.messages if m.role != "system"],
        "stream": stream,
    }
    if system:
        body["system"] = system
    if req.effort:
        body["output_config"] = {"effort": req.effort}
    return body


def _messages_message(msg: ChatMessage) -> dict[str, Any]:
    if not msg.media:
        return {"role": msg.role, "content": msg.text}
    blocks: list[dict[str, Any]] = [_image_block(ref) for ref in msg.media]
    if msg.text:
        blocks.append({"type": "text", "text": msg.text})
    return {"role": msg.role, "content": blocks}


def _image_block(ref: MediaRef) -> dict[str, Any]:
    if ref.kind != "image":
        raise ValueError("the Messages API takes no video; send it through Chat Completions")
    if ref.path is not None:
        data = base64.b64encode(ref.path.read_bytes()).decode("ascii")
        mime = ref.mime
    elif ref.url and ref.url.startswith("data:"):
        header, _, data = ref.url.partition(",")
        mime = header[5:].split(";")[0] or ref.mime
    else:
        raise ValueError("the Messages API needs the image's local bytes (MediaRef.path)")
    return {"type": "image", "source": {"type": "base64", "media_type": mime, "data": data}}
