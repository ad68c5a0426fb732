"""`stepdesk ask --template`, `--save-tables` and `stepdesk templates …` against the stand-in."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from app.templates.builtin import load_builtins
from tests import media_factory as mf
from tests.clihelp import ask, rows, stepdesk
from tests.test_cli_ask import make_png

BUILTINS = load_builtins()
RECEIPT = """\
| Item | Qty | Unit price | Total |
|:--|--:|--:|--:|
| Croissant, beurre | 2 | 1,20 € | 2,40 € |
| Jus \\| orange | 1 |  | 3,50 € |
| **Total** | | | **5,90 €** |

Note: the VAT line is unreadable.

| a | b |
|---|---|
| 日本 | `x\\|y` |
"""


def media_for(kind: str, tmp_path: Path) -> Path:
    return mf.mp4_h264(tmp_path) if kind == "video" else make_png(tmp_path / "in.png")


@pytest.mark.parametrize("template", BUILTINS, ids=[t.slug for t in BUILTINS])
def test_every_builtin_runs_end_to_end(standin, data_dir: Path, tmp_path: Path,
                                       template) -> None:
    path = media_for("video" if template.media == "video" else "image", tmp_path)
    result = ask(standin.base_url, data_dir, "--template", template.slug, "--file", str(path))
    assert result.code == 0, result.err
    body = standin.chat_requests()[0].json
    assert body["reasoning_effort"] == template.effort
    parts = body["messages"][-1]["content"]
    kind = "video" if template.media == "video" else "image"
    assert [p["type"] for p in parts] == [f"{kind}_url", "text"]
    assert parts[-1]["text"] == template.prompt
    assert parts[0][f"{kind}_url"]["url"].startswith("stepfile://")
    stored = rows(data_dir, "SELECT content, effort FROM messages WHERE role = 'user'")
    assert stored == [(template.prompt, template.effort)]


def test_user_prompt_follows_the_template_and_effort_flag_wins(
        standin, data_dir: Path, tmp_path: Path) -> None:
    image = make_png(tmp_path / "ui.png")
    result = ask(standin.base_url, data_dir, "--template", "screenshot-to-code", "--effort",
                 "low", "--file", str(image), "Use", "React.")
    assert result.code == 0, result.err
    body = standin.chat_requests()[0].json
    assert body["reasoning_effort"] == "low"
    template = next(t for t in BUILTINS if t.slug == "screenshot-to-code")
    assert body["messages"][-1]["content"][-1]["text"] == template.prompt + "\n\nUse React."


@pytest.mark.parametrize(("slug", "files", "message"), [
    ("receipt-to-table", [], "The receipt-to-table template needs an image. Add one with "
                             "--file PATH."),
    ("action-timeline", ["png"], "The action-timeline template works on videos, not images."),
    ("receipt-to-table", ["png", "mp4"], "works on images, not videos."),
    ("no-such-template", ["png"], "There is no template 'no-such-template'"),
])
def test_template_media_mismatch_exits_2_before_sending(
        standin, data_dir: Path, tmp_path: Path, slug: str, files: list[str],
        message: str) -> None:
    argv = ["--template", slug]
    for ext in files:
        argv += ["--file", str(media_for("video" if ext == "mp4" else "image", tmp_path))]
    result = ask(standin.base_url, data_dir, *argv)
    assert result.code == 2
    assert result.err.startswith("stepdesk: ")
    assert message in result.err
    assert standin.chat_requests() == []


def test_either_template_takes_a_video(standin, data_dir: Path, tmp_path: Path) -> None:
    result = ask(standin.base_url, data_dir, "-t", "alt-text", "-f", str(mf.mp4_h264(tmp_path)))
    assert result.code == 0, result.err
    assert standin.chat_requests()[0].json["messages"][-1]["content"][0]["type"] == "video_url"


def test_save_tables_writes_each_table_as_exact_csv(standin, data_dir: Path,
                                                    tmp_path: Path) -> None:
    standin.reply(content=RECEIPT)
    out_dir = tmp_path / "out" / "tables"
    result = ask(standin.base_url, data_dir, "--template", "receipt-to-table", "--file",
                 str(make_png(tmp_path / "r.png")), "--save-tables", str(out_dir))
    assert result.code == 0, result.err
    assert result.out == RECEIPT
    first, second = out_dir / "table-1.csv", out_dir / "table-2.csv"
    assert result.err.splitlines() == [str(first), str(second)]
    assert first.read_bytes().decode("utf-8") == (
        "Item,Qty,Unit price,Total\r\n"
        '"Croissant, beurre",2,"1,20 €","2,40 €"\r\n'
        'Jus | orange,1,,"3,50 €"\r\n'
        'Total,,,"5,90 €"\r\n')
    with second.open(encoding="utf-8", newline="") as handle:
        assert list(csv.reader(handle)) == [["a", "b"], ["日本", "x|y"]]
    assert sorted(p.name for p in out_dir.iterdir()) == ["table-1.csv", "table-2.csv"]


def test_save_tables_without_tables_says_so(standin, data_dir: Path, tmp_path: Path) -> None:
    result = ask(standin.base_url, data_dir, "--save-tables", str(tmp_path / "t"), "hello")
    assert result.code == 0, result.err
    assert "no tables" in result.err
    assert list((tmp_path / "t").iterdir()) == []


def test_save_tables_into_a_file_path_is_refused_before_sending(
        standin, data_dir: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    result = ask(standin.base_url, data_dir, "--save-tables", str(blocker), "hello")
    assert result.code == 2
    assert str(blocker) in result.err
    assert standin.chat_requests() == []


def test_templates_list_and_show(standin, data_dir: Path) -> None:
    listed = stepdesk(standin.base_url, data_dir, "templates", "list")
    assert listed.code == 0, listed.err
    lines = listed.out.splitlines()
    assert [line.split()[0] for line in lines] == [t.slug for t in BUILTINS]
    assert lines[0].split()[1:5] == ["*b", "image", "low", "table"]
    shown = stepdesk(standin.base_url, data_dir, "templates", "show", "screenshot-to-code")
    assert shown.code == 0
    assert "effort: high\n" in shown.out
    assert "output: fenced html code\n" in shown.out
    assert shown.out.endswith(BUILTINS[3].prompt + "\n")
    missing = stepdesk(standin.base_url, data_dir, "templates", "show", "nope")
    assert missing.code == 2
    assert "There is no template 'nope'" in missing.err


def test_export_import_round_trip_renames_clashes(standin, data_dir: Path,
                                                  tmp_path: Path) -> None:
    exported = stepdesk(standin.base_url, data_dir, "templates", "export", "receipt-to-table",
                        "action-timeline", "-o", str(tmp_path / "set.json"))
    assert exported.code == 0, exported.err
    imported = stepdesk(standin.base_url, data_dir, "templates", "import",
                        str(tmp_path / "set.json"))
    assert imported.code == 0, imported.err
    assert imported.out.splitlines()[1:] == [
        "  receipt-to-table → receipt-to-table-2 (the slug 'receipt-to-table' was already "
        "taken)",
        "  action-timeline → action-timeline-2 (the slug 'action-timeline' was already taken)"]
    # The copies are the user's now: in the database, exported by default, usable by ask.
    assert [r[0] for r in rows(data_dir, "SELECT slug FROM templates ORDER BY position")] == [
        "receipt-to-table-2", "action-timeline-2"]
    mine = json.loads(stepdesk(standin.base_url, data_dir, "templates", "export").out)
    original = json.loads((tmp_path / "set.json").read_text(encoding="utf-8"))
    assert [t["slug"] for t in mine["templates"]] == ["receipt-to-table-2", "action-timeline-2"]
    for copy, source in zip(mine["templates"], original["templates"], strict=True):
        assert {**copy, "slug": source["slug"]} == source
    again = stepdesk(standin.base_url, data_dir, "templates", "import",
                     str(tmp_path / "set.json"))
    assert "receipt-to-table → receipt-to-table-3" in again.out


@pytest.mark.parametrize(("content", "reason"), [
    ("{", "not valid JSON"),
    (json.dumps({"format": "stepdesk-templates", "schema_version": 99, "templates": []}),
     "newer Step Desk (schema version 99"),
])
def test_bad_import_file_is_refused_and_changes_nothing(
        standin, data_dir: Path, tmp_path: Path, content: str, reason: str) -> None:
    good = {"slug": "mine", "name": "Mine", "prompt": "p", "effort": "low", "media": "image",
            "output": {"kind": "text"}}
    (tmp_path / "good.json").write_text(json.dumps(
        {"format": "stepdesk-templates", "schema_version": 1, "templates": [good]}))
    assert stepdesk(standin.base_url, data_dir, "templates", "import",
                    str(tmp_path / "good.json")).code == 0
    before = rows(data_dir, "SELECT * FROM templates")
    (tmp_path / "bad.json").write_text(content)
    result = stepdesk(standin.base_url, data_dir, "templates", "import",
                      str(tmp_path / "bad.json"))
    assert result.code == 2
    assert reason in result.err
    assert result.err.rstrip().endswith("Nothing was imported.")
    assert rows(data_dir, "SELECT * FROM templates") == before
    missing = stepdesk(standin.base_url, data_dir, "templates", "import",
                       str(tmp_path / "absent.json"))
    assert missing.code == 2
    assert "Cannot read" in missing.err
