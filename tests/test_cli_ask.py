"""`stepdesk ask` end to end: real HTTP to the stand-in, a real SQLite file, real image files."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from PIL import Image

from tests.clihelp import ask, rows, stepdesk
from tests.conftest import TEST_API_KEY


def make_png(path: Path, colour: tuple[int, int, int] = (200, 30, 30),
             size: tuple[int, int] = (64, 48)) -> Path:
    Image.new("RGB", size, colour).save(path, "PNG")
    return path


def statuses(data_dir: Path) -> list[str]:
    return [r[0] for r in rows(data_dir, "SELECT status FROM messages WHERE role='assistant' "
                                         "ORDER BY id")]


def test_ask_streams_answer_and_stores_turn(standin, data_dir: Path) -> None:
    result = ask(standin.base_url, data_dir, "--effort", "high", "What", "is", "this?")
    assert result.code == 0, result.err
    assert result.out == ("Seen 0 image(s) and 0 video(s) in 1 user turn(s) at high effort. "
                          "You said: What is this?\n")
    body = standin.chat_requests()[0].json
    assert body["stream"] is True
    assert body["reasoning_effort"] == "high"
    assert body["model"] == "step-3.7-flash"
    assert "max_tokens" not in body
    stored = rows(data_dir, "SELECT role, content, reasoning, status, prompt_tokens "
                            "FROM messages ORDER BY id")
    assert stored[0][:2] == ("user", "What is this?")
    assert stored[1][0] == "assistant"
    assert stored[1][1] == result.out.rstrip("\n")
    assert stored[1][2] == "The user asks: What is this?"
    assert stored[1][3] == "complete"
    assert stored[1][4] and stored[1][4] > 0
    title = rows(data_dir, "SELECT title FROM conversations")[0][0]
    assert title == "What is this?"


def test_show_reasoning_goes_to_stderr(standin, data_dir: Path) -> None:
    result = ask(standin.base_url, data_dir, "--show-reasoning", "hi")
    assert result.code == 0
    assert "The user asks: hi" in result.err
    assert "The user asks" not in result.out


def test_image_is_uploaded_once_across_two_asks(standin, data_dir: Path, tmp_path: Path) -> None:
    image = make_png(tmp_path / "chart.png")
    first = ask(standin.base_url, data_dir, "--file", str(image), "Describe")
    assert first.code == 0, first.err
    assert len(standin.upload_requests()) == 1
    upload = standin.upload_requests()[0]
    assert upload.purpose == "storage"
    assert "chart" not in (upload.filename or "")  # the user's file name never leaves
    second = ask(standin.base_url, data_dir, "--file", str(image), "Again")
    assert second.code == 0, second.err
    assert len(standin.upload_requests()) == 1  # cache hit: nothing uploaded the second time
    parts = standin.chat_requests()[1].json["messages"][-1]["content"]
    assert parts[0]["type"] == "image_url"
    assert parts[0]["image_url"]["url"].startswith("stepfile://")
    assert parts[0]["image_url"]["detail"] == "high"
    assert parts[-1] == {"type": "text", "text": "Again"}


def test_multi_turn_context_resends_text_and_media_but_never_reasoning(
        standin, data_dir: Path, tmp_path: Path) -> None:
    image = make_png(tmp_path / "a.png")
    assert ask(standin.base_url, data_dir, "--file", str(image), "First").code == 0
    second = ask(standin.base_url, data_dir, "--conversation", "1", "Second")
    assert second.code == 0, second.err
    assert "Seen 1 image(s) and 0 video(s) in 2 user turn(s) at medium effort. You said: Second" \
        in second.out
    messages = standin.chat_requests()[1].json["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    assert messages[1]["content"].startswith("Seen 1 image(s)")
    assert "reasoning" not in messages[1] and "reasoning_content" not in messages[1]
    assert messages[0]["content"][0]["image_url"]["url"].startswith("stepfile://")
    assert len(standin.upload_requests()) == 1


def test_expired_file_is_uploaded_again_once(standin, data_dir: Path, tmp_path: Path) -> None:
    image = make_png(tmp_path / "a.png")
    assert ask(standin.base_url, data_dir, "--file", str(image), "One").code == 0
    standin.expire_files()
    result = ask(standin.base_url, data_dir, "--file", str(image), "Two")
    assert result.code == 0, result.err
    assert len(standin.upload_requests()) == 2
    assert len(rows(data_dir, "SELECT * FROM uploads")) == 1


@pytest.mark.parametrize(("fault", "code", "status", "words"), [
    ("status_401", 4, "error", "API key"),
    ("status_402", 3, "error", "balance"),
    ("status_451", 3, "blocked", "content"),
    ("status_400", 3, "error", ""),
    ("finish_content_filter", 3, "blocked", "content review"),
])
def test_api_failures_exit_codes_and_status(standin, data_dir: Path, fault: str, code: int,
                                            status: str, words: str) -> None:
    standin.fault(fault)
    result = ask(standin.base_url, data_dir, "hello")
    assert result.code == code
    line = result.err.strip().splitlines()[-1]
    assert line.startswith("stepdesk: ")
    assert words.lower() in line.lower()
    assert "Traceback" not in result.err
    assert statuses(data_dir) == [status]
    assert len(standin.chat_requests()) == 1  # never retried


def test_truncated_answer_warns_and_exits_zero(standin, data_dir: Path) -> None:
    standin.fault("finish_length")
    result = ask(standin.base_url, data_dir, "long please")
    assert result.code == 0
    assert "cut off" in result.err
    assert statuses(data_dir) == ["truncated"]


def test_rate_limit_is_retried_then_succeeds(standin, data_dir: Path) -> None:
    standin.fault("status_429", retry_after=0.05, times=2)
    result = ask(standin.base_url, data_dir, "--verbose", "hello")
    assert result.code == 0, result.err
    assert "Retrying" in result.err
    assert len(standin.chat_requests()) == 3
    assert statuses(data_dir) == ["complete"]


def test_drop_mid_stream_keeps_partial_reply_interrupted(standin, data_dir: Path) -> None:
    standin.reply(content="one two three four five six seven eight", reasoning="think")
    standin.fault("drop", after=4)
    result = ask(standin.base_url, data_dir, "hello")
    assert result.code == 3
    assert result.out  # the part that arrived was shown
    content, status = rows(data_dir, "SELECT content, status FROM messages "
                                     "WHERE role='assistant'")[0]
    assert status == "interrupted"
    assert content and result.out.startswith(content)
    assert len(standin.chat_requests()) == 1  # never retried after the reply started


def test_malformed_chunk_is_a_clear_error_and_partial_kept(standin, data_dir: Path) -> None:
    standin.reply(content="alpha beta gamma delta", reasoning="r")
    standin.fault("malformed", after=3)
    result = ask(standin.base_url, data_dir, "hello")
    assert result.code == 3
    assert "Traceback" not in result.err
    assert len(result.err.strip().splitlines()) == 1
    assert statuses(data_dir) == ["interrupted"]


def test_stall_times_out_and_keeps_partial(standin, data_dir: Path) -> None:
    standin.reply(content="first second third fourth", reasoning="r")
    standin.fault("stall", after=3, seconds=30)
    result = ask(standin.base_url, data_dir, "hello", STEPDESK_READ_TIMEOUT="1")
    assert result.code == 3
    assert "1 s" in result.err or "timed out" in result.err.lower() or "stopped" in result.err
    content, status = rows(data_dir, "SELECT content, status FROM messages "
                                     "WHERE role='assistant'")[0]
    assert status == "interrupted"
    assert content == result.out.rstrip("\n")


def test_no_key_exits_4_with_how_to(standin, data_dir: Path) -> None:
    result = ask(standin.base_url, data_dir, "hello", key=None)
    assert result.code == 4
    assert "STEP_API_KEY" in result.err
    assert standin.requests == []


def test_wrong_key_exits_4_one_line(standin, data_dir: Path) -> None:
    result = ask(standin.base_url, data_dir, "hello", key="sk-wrong-key-abcdefghijklmnop")
    assert result.code == 4
    assert len(result.err.strip().splitlines()) == 1
    assert "sk-wrong-key" not in result.err


def test_unreachable_host_exits_3_naming_it(data_dir: Path) -> None:
    result = ask("http://127.0.0.1:9/v1", data_dir, "hello")
    assert result.code == 3
    assert "127.0.0.1" in result.err
    assert len(result.err.strip().splitlines()) == 1


@pytest.mark.parametrize("kind", ["missing", "directory", "empty", "text", "pdf"])
def test_bad_files_exit_2_and_send_nothing(standin, data_dir: Path, tmp_path: Path,
                                           kind: str) -> None:
    target = tmp_path / f"thing-{kind}.png"
    if kind == "directory":
        target.mkdir()
    elif kind == "empty":
        target.write_bytes(b"")
    elif kind == "text":
        target.write_text("hello, I am not an image\n")
    elif kind == "pdf":
        target = tmp_path / "doc.pdf"
        target.write_bytes(b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n")
    result = ask(standin.base_url, data_dir, "--file", str(target), "what is it")
    assert result.code == 2, result.err
    assert target.name in result.err
    assert len(result.err.strip().splitlines()) == 1
    assert standin.requests == []


def test_key_never_stored_logged_or_exported(standin, data_dir: Path, tmp_path: Path) -> None:
    image = make_png(tmp_path / "a.png")
    assert ask(standin.base_url, data_dir, "--file", str(image), "hello").code == 0
    standin.fault("status_401")
    ask(standin.base_url, data_dir, "again")
    out = tmp_path / "export.md"
    assert stepdesk(standin.base_url, data_dir, "history", "export", "1", "--format", "md",
                    "--output", str(out)).code == 0
    exported_json = stepdesk(standin.base_url, data_dir, "history", "export", "1",
                             "--format", "json")
    json.loads(exported_json.out)
    secret = TEST_API_KEY.encode()
    log = data_dir / "logs" / "stepdesk.log"
    assert "failed" in log.read_text(encoding="utf-8")  # the 401 was logged, the key not
    for path in [*data_dir.rglob("*"), out]:
        if path.is_file():
            assert secret not in path.read_bytes(), path
    assert TEST_API_KEY not in exported_json.out


@pytest.mark.parametrize("pieces", [
    ["plain ", "words ", "only"], ["ab\r", "\ncd"], ["a\r\nb", "c\r"], ["\x1b]0;t\x07", "\r\n"],
    ["one piece\r\n"],
])
def test_a_run_of_deltas_prints_as_each_delta_would(pieces: list[str]) -> None:
    """One write per network read shows exactly what one write per delta showed, a CR at
    the end of one delta and an LF at the start of the next included (`^M` then a newline)."""
    from app.cli.ask import write_run
    from app.cli.terminal import SafeWriter

    at_once, one_by_one = io.StringIO(), io.StringIO()
    write_run(SafeWriter(at_once), pieces)  # type: ignore[arg-type]
    each = SafeWriter(one_by_one)
    for piece in pieces:
        each.write(piece)
    assert at_once.getvalue() == one_by_one.getvalue()
