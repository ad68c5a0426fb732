"""`stepdesk ask --compare`: real HTTP to the stand-in, a real SQLite file, real images."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from tests.clihelp import ask, rows, stepdesk


def make_png(path: Path) -> Path:
    Image.new("RGB", (48, 32), (10, 120, 240)).save(path, "PNG")
    return path


def test_compare_prints_each_answer_under_its_header_in_order(
        standin, data_dir: Path, tmp_path: Path) -> None:
    image = make_png(tmp_path / "chart.png")
    result = ask(standin.base_url, data_dir, "--compare", "low,medium,high", "--file",
                 str(image), "What", "now?")
    assert result.code == 0, result.err
    out = result.out
    headers = [out.index(f"=== {e} effort ===") for e in ("low", "medium", "high")]
    assert headers == sorted(headers)
    for effort, start in zip(("low", "medium", "high"), headers, strict=True):
        section = out[start:]
        answer = section.splitlines()[1]
        assert answer.startswith("Seen 1 image(s)") and f"at {effort} effort" in answer
        assert section.splitlines()[2].startswith(f"[{effort}: complete · first thought")
    assert len(standin.upload_requests()) == 1
    assert sorted(r.json["reasoning_effort"] for r in standin.chat_requests()) == [
        "high", "low", "medium"]
    stored = rows(data_dir, "SELECT effort, status, comparison_id FROM messages "
                            "WHERE role = 'assistant' ORDER BY id")
    assert [r[:2] for r in stored] == [("low", "complete"), ("medium", "complete"),
                                       ("high", "complete")]
    assert {r[2] for r in stored} == {1}


def test_compare_json_shape(standin, data_dir: Path) -> None:
    standin.reasoning_tokens = True
    result = ask(standin.base_url, data_dir, "--compare", "low,high", "--json",
                 "--show-reasoning", "Which?")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert set(data) == {"conversation_id", "user_message_id", "comparison_id", "efforts",
                         "kept", "answers"}
    assert data["efforts"] == ["low", "high"] and data["kept"] is None
    assert [a["effort"] for a in data["answers"]] == ["low", "high"]
    for answer in data["answers"]:
        assert set(answer) == {"effort", "message_id", "status", "error", "content",
                               "reasoning", "figures"}
        assert answer["status"] == "complete" and answer["error"] is None
        assert f"at {answer['effort']} effort" in answer["content"]
        assert answer["reasoning"] == "The user asks: Which?"
        figures = answer["figures"]
        assert set(figures) == {"first_reasoning_s", "first_answer_s", "total_s",
                                "prompt_tokens", "reasoning_tokens", "answer_tokens",
                                "cached_tokens", "tokens_estimated", "retries"}
        assert figures["reasoning_tokens"] == 4 and figures["tokens_estimated"] is False
        assert 0 <= figures["first_reasoning_s"] <= figures["first_answer_s"] \
            <= figures["total_s"]
        [content] = rows(data_dir, "SELECT content FROM messages WHERE id = ?",
                         answer["message_id"])
        assert content[0] == answer["content"]


def test_keep_makes_that_answer_the_turn_s_answer_for_later_commands(
        standin, data_dir: Path) -> None:
    result = ask(standin.base_url, data_dir, "--compare", "low,medium,high", "--keep",
                 "medium", "--json", "Pick")
    assert result.code == 0, result.err
    assert json.loads(result.out)["kept"] == "medium"
    shown = stepdesk(standin.base_url, data_dir, "history", "show", "1")
    assert "at medium effort" in shown.out and "at high effort" not in shown.out
    follow = ask(standin.base_url, data_dir, "--conversation", "1", "More")
    assert follow.code == 0, follow.err
    history = standin.chat_requests()[-1].json["messages"]
    assert "at medium effort" in history[1]["content"]
    assert standin.chat_requests()[-1].json["reasoning_effort"] == "medium"  # remembered


def test_one_failed_column_prints_the_others_and_exits_with_its_code(
        standin, data_dir: Path) -> None:
    standin.fault("status_429", times=None, effort="medium", retry_after=0)
    result = ask(standin.base_url, data_dir, "--compare", "low,medium,high", "Busy")
    assert result.code == 3
    assert "at low effort" in result.out and "at high effort" in result.out
    assert "[medium: error" in result.out
    assert result.err.count("\n") == 1 and result.err.startswith("stepdesk: medium: ")


@pytest.mark.parametrize(("argv", "says"), [
    (["--compare", "low", "x"], "at least two"),
    (["--compare", "low,turbo", "x"], "'turbo' is not an effort"),
    (["--compare", "low,high", "--effort", "high", "x"], "--effort does not go with"),
    (["--compare", "low,high", "--split", "x"], "--split does not go with"),
    (["--compare", "low,high", "--keep", "medium", "x"], "--keep medium is not one of"),
    (["--keep", "low", "x"], "--keep needs --compare"),
    (["--json", "x"], "--json needs --compare"),
])
def test_bad_compare_options_exit_2_and_send_nothing(standin, data_dir: Path,
                                                     argv: list[str], says: str) -> None:
    result = ask(standin.base_url, data_dir, *argv)
    assert result.code == 2 and says in result.err
    assert result.err.count("\n") == 1 and result.out == ""
    assert standin.chat_requests() == []


def test_a_template_turn_remembers_its_template_for_a_later_comparison(
        standin, data_dir: Path, tmp_path: Path) -> None:
    image = make_png(tmp_path / "lunch.png")
    result = ask(standin.base_url, data_dir, "--template", "receipt-to-table", "--file",
                 str(image), "lunch")
    assert result.code == 0, result.err
    result = ask(standin.base_url, data_dir, "--compare", "low,high", "--json", "--file",
                 str(image), "plain")
    assert result.code == 0, result.err
    stored = rows(data_dir, "SELECT figures FROM messages WHERE role = 'user' ORDER BY id")
    assert [json.loads(r[0]) if r[0] else None for r in stored] == [
        {"template": "receipt-to-table"}, None]
