"""The exact JSON bodies built for Chat Completions and Messages (pure functions, no server)."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from app.api.request import (
    MESSAGES_DEFAULT_MAX_TOKENS,
    ChatMessage,
    ChatRequest,
    MediaRef,
    build_chat_body,
    build_messages_body,
    has_video,
)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
IMG = MediaRef("image", "image/png", "stepfile://file-AAAAAAAAAA")
VID = MediaRef("video", "video/mp4", "stepfile://file-BBBBBBBBBB")


def _req(*messages: ChatMessage, **kw: object) -> ChatRequest:
    return ChatRequest(model="step-3.7-flash", messages=messages, **kw)  # type: ignore[arg-type]


def test_media_parts_come_before_the_text_and_detail_is_always_sent() -> None:
    body = build_chat_body(_req(ChatMessage("user", "what is this?", (IMG, VID, IMG))),
                           stream=True)
    parts = body["messages"][0]["content"]
    assert [p["type"] for p in parts] == ["image_url", "video_url", "image_url", "text"]
    assert parts[0]["image_url"] == {"url": IMG.url, "detail": "high"}
    assert parts[1]["video_url"] == {"url": VID.url}
    assert parts[3] == {"type": "text", "text": "what is this?"}


def test_detail_follows_the_request() -> None:
    body = build_chat_body(_req(ChatMessage("user", "x", (IMG,)), detail="low"), stream=False)
    assert body["messages"][0]["content"][0]["image_url"]["detail"] == "low"


def test_text_only_messages_are_plain_strings_and_roles_are_kept() -> None:
    body = build_chat_body(_req(ChatMessage("system", "be brief"), ChatMessage("user", "hi"),
                                ChatMessage("assistant", "hello"), ChatMessage("user", "again")),
                           stream=True)
    assert body["messages"] == [
        {"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello"}, {"role": "user", "content": "again"}]
    assert body["stream"] is True and body["model"] == "step-3.7-flash"


def test_media_without_text_sends_no_empty_text_part() -> None:
    body = build_chat_body(_req(ChatMessage("user", "", (IMG,))), stream=True)
    assert [p["type"] for p in body["messages"][0]["content"]] == ["image_url"]


def test_no_max_tokens_unless_set_and_effort_as_reasoning_effort() -> None:
    body = build_chat_body(_req(ChatMessage("user", "hi")), stream=True)
    assert "max_tokens" not in body
    assert body["reasoning_effort"] == "medium"
    body = build_chat_body(_req(ChatMessage("user", "hi"), max_tokens=512, effort="high"),
                           stream=True)
    assert body["max_tokens"] == 512 and body["reasoning_effort"] == "high"
    body = build_chat_body(_req(ChatMessage("user", "hi"), effort=None), stream=True)
    assert "reasoning_effort" not in body


def test_media_without_a_url_is_refused_for_chat_completions() -> None:
    ref = MediaRef("image", "image/png", None, Path("x.png"))
    with pytest.raises(ValueError, match="no URL"):
        build_chat_body(_req(ChatMessage("user", "x", (ref,))), stream=True)


def test_messages_body_effort_max_tokens_system_and_base64_images(tmp_path: Path) -> None:
    path = tmp_path / "a.png"
    path.write_bytes(PNG)
    ref = MediaRef("image", "image/png", "stepfile://file-X", path)
    data_ref = MediaRef("image", "image/jpeg", "data:image/jpeg;base64,/9j/AAAA")
    body = build_messages_body(_req(ChatMessage("system", "be brief"),
                                    ChatMessage("user", "look", (ref, data_ref)),
                                    effort="low"), stream=True)
    assert body["system"] == "be brief"
    assert body["output_config"] == {"effort": "low"}
    assert body["max_tokens"] == MESSAGES_DEFAULT_MAX_TOKENS
    assert "reasoning_effort" not in body
    blocks = body["messages"][0]["content"]
    assert blocks[0] == {"type": "image", "source": {
        "type": "base64", "media_type": "image/png", "data": base64.b64encode(PNG).decode()}}
    assert blocks[1]["source"] == {"type": "base64", "media_type": "image/jpeg",
                                   "data": "/9j/AAAA"}
    assert blocks[2] == {"type": "text", "text": "look"}
    assert [m["role"] for m in body["messages"]] == ["user"]


def test_messages_body_keeps_a_set_max_tokens_and_omits_effort_when_none() -> None:
    body = build_messages_body(_req(ChatMessage("user", "hi"), max_tokens=100, effort=None),
                               stream=False)
    assert body["max_tokens"] == 100 and "output_config" not in body and body["stream"] is False


def test_messages_body_refuses_video_and_images_without_local_bytes() -> None:
    with pytest.raises(ValueError, match="video"):
        build_messages_body(_req(ChatMessage("user", "x", (VID,))), stream=True)
    with pytest.raises(ValueError, match="local bytes"):
        build_messages_body(_req(ChatMessage("user", "x", (IMG,))), stream=True)


def test_has_video() -> None:
    assert has_video(_req(ChatMessage("user", "x", (IMG, VID))))
    assert not has_video(_req(ChatMessage("user", "x", (IMG,))))
