"""The stand-in itself, seen through plain httpx: it must reproduce StepFun's wire quirks."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import TEST_API_KEY
from tests.standin import StandIn

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
AUTH = {"Authorization": f"Bearer {TEST_API_KEY}"}
HI = {"model": "step-3.7-flash", "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture
def http(standin: StandIn) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=standin.base_url, headers=AUTH, trust_env=False,
                      timeout=5) as client:
        yield client


def _chunks(http: httpx.Client, body: dict) -> tuple[list[dict], list[str]]:
    with http.stream("POST", "/chat/completions", json={**body, "stream": True}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in response.iter_lines() if line]
    assert all(line.startswith("data: ") for line in lines)
    return [json.loads(line[6:]) for line in lines if line != "data: [DONE]"], lines


def test_chat_stream_has_stepfuns_quirks(http: httpx.Client) -> None:
    chunks, lines = _chunks(http, HI)
    assert lines[-1] == "data: [DONE]"
    first, middle, last = chunks[0], chunks[1:-1], chunks[-1]
    assert first["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert first["usage"]["completion_tokens"] == 0 and first["usage"]["prompt_tokens"] == 0
    assert middle and all(c["choices"][0]["delta"]["role"] == "" for c in middle)
    assert all(c["choices"][0]["finish_reason"] == "" for c in chunks[:-1])
    assert any("reasoning" in c["choices"][0]["delta"] for c in middle)
    assert last["choices"][0]["finish_reason"] == "stop"
    assert last["choices"][0]["delta"]["content"] == ""
    completions = [c["usage"]["completion_tokens"] for c in chunks]
    assert completions == sorted(completions) and completions[-1] == len(middle)
    for chunk in chunks:
        usage = chunk["usage"]
        assert usage["cached_tokens"] == usage["prompt_tokens_details"]["cached_tokens"]
        assert chunk["object"] == "chat.completion.chunk"
        assert not chunk["id"].startswith("chatcmpl-") and chunk["id"] == chunks[0]["id"]


def test_deepseek_style_reasoning_and_ignored_stream_options(http: httpx.Client) -> None:
    chunks, _ = _chunks(http, {**HI, "reasoning_format": "deepseek-style",
                               "stream_options": {"include_usage": True}})
    deltas = [c["choices"][0]["delta"] for c in chunks]
    assert any("reasoning_content" in d for d in deltas)
    assert not any("reasoning" in d for d in deltas)


def test_non_stream_reply(http: httpx.Client) -> None:
    body = http.post("/chat/completions", json=HI).json()
    assert body["object"] == "chat.completion" and not body["id"].startswith("chatcmpl-")
    message = body["choices"][0]["message"]
    assert message["content"].endswith("You said: hi") and message["reasoning"]
    assert body["choices"][0]["finish_reason"] == "stop"
    assert {"cached_tokens", "prompt_tokens_details"} <= body["usage"].keys()


@pytest.mark.parametrize(("path", "headers", "status"), [
    ("/chat/completions", {}, 401),
    ("/chat/completions", {"Authorization": "Bearer nope"}, 401),
    ("/chat/completions", {"x-api-key": TEST_API_KEY}, 401),
    ("/messages", {"x-api-key": TEST_API_KEY}, 200),
    ("/messages", AUTH, 200),
])
def test_auth(standin: StandIn, path: str, headers: dict, status: int) -> None:
    body = {**HI, "max_tokens": 10}
    response = httpx.post(standin.base_url + path, json=body, headers=headers, trust_env=False)
    assert response.status_code == status and response.headers["X-Trace-Id"]
    if status == 401:
        assert response.json()["error"]["type"] == "authentication_error"
        assert response.json()["error"]["message"]


def test_every_response_carries_a_trace_id(http: httpx.Client) -> None:
    for response in (http.get("/models"), http.get("/files"), http.get("/nowhere"),
                     http.delete("/files/file-missing")):
        assert len(response.headers["X-Trace-Id"]) == 32
    assert http.get("/nowhere").status_code == 404


def test_models(http: httpx.Client) -> None:
    data = http.get("/models").json()["data"]
    assert [m["id"] for m in data] == ["step-3.7-flash", "step-3.5-flash",
                                       "step-3.5-flash-2603", "step-1o-turbo-vision"]
    assert all(m["object"] == "model" and m["owned_by"] == "stepai" for m in data)


def test_files_roundtrip_and_errors(http: httpx.Client, standin: StandIn) -> None:
    made = http.post("/files", data={"purpose": "storage"},
                     files={"file": ("p.png", PNG, "image/png")}).json()
    assert made["id"].startswith("file-") and len(made["id"]) == 15
    assert made["bytes"] == len(PNG) and made["status"] == "processed"
    assert standin.upload_requests()[-1].file_bytes == PNG
    assert http.get(f"/files/{made['id']}").json() == made
    assert http.get(f"/files/{made['id']}/content").content == PNG
    assert http.get("/files").json() == {"object": "list", "data": [made]}
    assert http.delete(f"/files/{made['id']}").json() == {
        "id": made["id"], "object": "file", "deleted": True}
    missing = http.get(f"/files/{made['id']}")
    assert missing.status_code == 404 and missing.json()["error"]["message"]
    wrong = http.post("/files", data={"purpose": "file-extract"},
                      files={"file": ("p.png", PNG)})
    assert wrong.status_code == 400
    assert wrong.json()["error"]["type"] == "request_params_invalid"


def test_messages_stream_shapes(http: httpx.Client, standin: StandIn) -> None:
    def events() -> list[dict]:
        body = {**HI, "max_tokens": 10, "stream": True}
        with http.stream("POST", "/messages", json=body) as response:
            return [json.loads(line[6:]) for line in response.iter_lines()
                    if line.startswith("data: ")]

    got = events()
    assert got[0] == {"type": "message_start", "message": {
        "id": got[0]["message"]["id"], "type": "message", "role": "assistant",
        "model": "step-3.7-flash"}}
    kinds = [e["type"] for e in got]
    assert kinds[1] == "ping" and kinds[-1] == "message_stop"
    assert {"thinking_delta", "text_delta"} == {
        e["delta"]["type"] for e in got if e["type"] == "content_block_delta"}
    assert got[-2]["stop_reason"] == "end_turn"
    standin.messages_stop_nested, standin.messages_thinking = True, False
    got = events()
    assert got[-2]["delta"]["stop_reason"] == "end_turn" and "stop_reason" not in got[-2]
    assert {"text_delta"} == {e["delta"]["type"] for e in got
                              if e["type"] == "content_block_delta"}


@pytest.mark.parametrize("max_tokens", [None, 0, -5])
def test_messages_requires_positive_max_tokens(http: httpx.Client, max_tokens: int | None
                                               ) -> None:
    body = {**HI} if max_tokens is None else {**HI, "max_tokens": max_tokens}
    response = http.post("/messages", json=body)
    assert response.status_code == 400 and "max_tokens" in response.json()["error"]["message"]


def test_faults_are_per_endpoint_and_counted(http: httpx.Client, standin: StandIn) -> None:
    standin.fault("status_503", endpoint="models", times=2)
    assert http.post("/chat/completions", json=HI).status_code == 200
    assert [http.get("/models").status_code for _ in range(3)] == [503, 503, 200]
    standin.fault("status_429", endpoint="*", times=None, retry_after=1.5)
    limited = http.get("/files")
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "1.5"
    standin.clear_faults()
    assert http.get("/files").status_code == 200
    with pytest.raises(ValueError, match="unknown fault"):
        standin.fault("status_quo")


def test_451_is_censorship_block(http: httpx.Client, standin: StandIn) -> None:
    standin.fault("status_451")
    response = http.post("/chat/completions", json=HI)
    assert response.status_code == 451
    assert response.json()["error"]["type"] == "censorship_block"


def test_drop_ends_the_body_without_done(http: httpx.Client, standin: StandIn) -> None:
    standin.fault("drop", after=2)
    lines: list[str] = []
    with pytest.raises(httpx.RemoteProtocolError), \
            http.stream("POST", "/chat/completions", json={**HI, "stream": True}) as response:
        lines.extend(line for line in response.iter_lines() if line)
    assert len(lines) == 3 and "data: [DONE]" not in lines


def test_stop_returns_promptly_with_a_stalled_stream_open() -> None:
    server = StandIn(api_key=TEST_API_KEY).start()
    server.fault("stall", after=1, seconds=60)
    errors: list[BaseException] = []

    def consume() -> None:
        try:
            with httpx.stream("POST", server.base_url + "/chat/completions",
                              json={**HI, "stream": True}, headers=AUTH, trust_env=False,
                              timeout=30) as response:
                for _ in response.iter_lines():
                    pass
        except httpx.HTTPError as exc:
            errors.append(exc)

    reader = threading.Thread(target=consume)
    reader.start()
    deadline = time.monotonic() + 5
    while not server.chat_requests() and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.1)
    start = time.monotonic()
    server.stop()
    assert time.monotonic() - start < 1.5
    reader.join(5)
    assert not reader.is_alive() and errors  # the client saw the stream break off


def test_runnable_by_hand() -> None:
    script = Path(__file__).with_name("standin.py")
    proc = subprocess.Popen([sys.executable, str(script), "--port", "0", "--api-key", "k"],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        base_url = proc.stdout.readline().strip()
        assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/v1")
        models = httpx.get(base_url + "/models", headers={"Authorization": "Bearer k"},
                           trust_env=False)
        assert models.status_code == 200
    finally:
        proc.terminate()
        proc.wait(5)
        if proc.stdout is not None:
            proc.stdout.close()
