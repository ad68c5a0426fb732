"""Videos through `stepdesk ask`: sent as MP4 by reference, long ones refused, --trim, --split."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.clihelp import ask, rows
from tests.media_factory import long_tiny_video, mov_h264


@pytest.fixture(scope="module")
def long_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return long_tiny_video(tmp_path_factory.mktemp("long"), seconds=360.0)


def test_mov_is_sent_as_mp4_video_by_reference(standin, data_dir: Path, tmp_path: Path) -> None:
    clip = mov_h264(tmp_path, seconds=1.0)
    result = ask(standin.base_url, data_dir, "--file", str(clip), "What happens?")
    assert result.code == 0, result.err
    upload = standin.upload_requests()[0]
    assert upload.file_bytes is not None and upload.file_bytes[4:8] == b"ftyp"
    parts = standin.chat_requests()[0].json["messages"][0]["content"]
    assert parts[0]["type"] == "video_url"
    assert parts[0]["video_url"]["url"].startswith("stepfile://")
    assert parts[-1]["type"] == "text"
    assert "1 video(s)" in result.out


def test_six_minute_video_is_refused_with_options(standin, data_dir: Path,
                                                  long_video: Path) -> None:
    result = ask(standin.base_url, data_dir, "--file", str(long_video), "Summarise")
    assert result.code == 2
    line = result.err.strip()
    assert len(line.splitlines()) == 1
    assert "6:00" in line and "--trim" in line and "--split" in line
    assert standin.requests == []


def test_trim_sends_only_the_range(standin, data_dir: Path, long_video: Path) -> None:
    result = ask(standin.base_url, data_dir, "--file", str(long_video), "--trim", "0:10-1:10",
                 "Summarise")
    assert result.code == 0, result.err
    duration = rows(data_dir, "SELECT duration_s FROM attachments")[0][0]
    assert 55 <= float(duration) <= 65  # type: ignore[arg-type]
    assert len(standin.chat_requests()) == 1


def test_split_sends_one_labelled_turn_per_part(standin, data_dir: Path,
                                                long_video: Path) -> None:
    result = ask(standin.base_url, data_dir, "--file", str(long_video), "--split", "Summarise")
    assert result.code == 0, result.err
    requests = standin.chat_requests()
    assert len(requests) == 2  # 6:00 → two parts of at most 4:59
    texts = [r.json["messages"][-1]["content"][-1]["text"] for r in requests]
    assert texts[0].startswith("[Part 1 of 2: 0:00–")
    assert texts[1].startswith("[Part 2 of 2: ")
    assert len(rows(data_dir, "SELECT id FROM conversations")) == 1  # same conversation
    second_request_roles = [m["role"] for m in requests[1].json["messages"]]
    assert second_request_roles == ["user", "assistant", "user"]


def test_trim_with_two_videos_is_refused(standin, data_dir: Path, tmp_path: Path) -> None:
    a = mov_h264(tmp_path, name="a.mov")
    b = mov_h264(tmp_path, name="b.mov")
    result = ask(standin.base_url, data_dir, "--file", str(a), "--file", str(b),
                 "--trim", "0:00-0:01", "x")
    assert result.code == 2 and "--trim" in result.err
    assert standin.requests == []
