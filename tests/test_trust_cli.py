"""Hostile input per command-line entry point: one line on stderr and the right exit code,
never a traceback, a hang or lost data; model and server text shown, never obeyed.

Each table row (each parametrized case) is one hostile input.
"""

from __future__ import annotations

import json
import os
import sqlite3
import stat
from pathlib import Path

import pytest

from tests.clihelp import ask, rows, stepdesk
from tests.hostile import one_line, run_limited, run_unprivileged

CONTROLS = ("\x1b", "\x07", "\x9b", "\u202e", "\u2066", "\r", "\x00", "\x08")
HOSTILE = ("A\x1b]0;pwned-title\x07B\x1b[2J\x1b[HC\x1b]52;c;ZXZpbA==\x07D"
           "\x1b]8;;http://evil.example\x1b\\link\x1b]8;;\x1b\\E\x9b31mF\u202eG\u2066H"
           "\x07I\rJ\x00K\x08L")


def _inert(text: str) -> None:
    for char in CONTROLS:
        assert char not in text, repr(char)


def _fifo(tmp_path: Path) -> Path:
    path = tmp_path / "pipe"
    os.mkfifo(path)
    return path


def _nested(tmp_path: Path) -> Path:
    path = tmp_path / "nested.json"
    path.write_text('{"format": "stepdesk-templates", "schema_version": 1, "templates": '
                    + "[" * 200_000 + "]" * 200_000 + "}")
    return path


def _big(tmp_path: Path) -> Path:
    path = tmp_path / "big.json"
    path.write_bytes(b" " * 6_000_000)
    return path


def _latin1(tmp_path: Path) -> Path:
    path = tmp_path / "latin1.json"
    path.write_bytes('{"format": "caf\xe9"}'.encode("latin-1"))
    return path


def _folder(tmp_path: Path) -> Path:
    return tmp_path


def _missing(tmp_path: Path) -> Path:
    return tmp_path / "no-such-file"


def _dangling(tmp_path: Path) -> Path:
    link = tmp_path / "dangling.png"
    link.symlink_to(tmp_path / "gone.png")
    return link


def _link_to_fifo(tmp_path: Path) -> Path:
    link = tmp_path / "innocent.png"
    link.symlink_to(_fifo(tmp_path))
    return link


def _text(tmp_path: Path) -> Path:
    path = tmp_path / "photo.png"
    path.write_text("definitely not a picture\n")
    return path


def _png_then_zero(tmp_path: Path) -> Path:
    path = tmp_path / "cut.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    return path


PATHS = {
    "/dev/zero": lambda _: Path("/dev/zero"), "/dev/urandom": lambda _: Path("/dev/urandom"),
    "fifo without writer": _fifo, "link to a fifo": _link_to_fifo,
    "/proc/self/status": lambda _: Path("/proc/self/status"), "folder": _folder,
    "missing": _missing, "dangling link": _dangling,
}

# -- ask -----------------------------------------------------------------------------------
ASK_BAD_INPUT = [
    ("prompt not UTF-8", ["caf\udce9 au lait?"]),
    ("--model not UTF-8", ["--model", "step-\udcff", "hi"]),
    ("--template not UTF-8", ["--template", "\udcff", "--file", "x.png", "hi"]),
    ("conversation id too large for SQLite", ["--conversation", "9" * 30, "hi"]),
    ("conversation id 2**63", ["--conversation", str(2**63), "hi"]),
    ("conversation id negative", ["--conversation", "-4", "hi"]),
    ("conversation id not a number", ["--conversation", "1e3", "hi"]),
    ("conversation id that does not exist", ["--conversation", str(2**63 - 1), "hi"]),
    ("--trim garbage", ["--trim", "soon-later", "--file", "x.mp4", "hi"]),
    ("--effort unknown", ["--effort", "maximal", "hi"]),
    ("nothing to ask", []),
    ("--file text named .png", ["--file", "{text}", "hi"]),
    ("--file PNG header then zeros", ["--file", "{cut}", "hi"]),
    *[(f"--file {name}", ["--file", f"{{path:{name}}}", "hi"]) for name in PATHS],
]


def _expand(argv: list[str], tmp_path: Path) -> list[str]:
    out = []
    for arg in argv:
        if arg == "{text}":
            arg = str(_text(tmp_path))
        elif arg == "{cut}":
            arg = str(_png_then_zero(tmp_path))
        elif arg.startswith("{path:"):
            arg = str(PATHS[arg[6:-1]](tmp_path))
        out.append(arg)
    return out


@pytest.mark.parametrize(("label", "argv"), ASK_BAD_INPUT, ids=[c[0] for c in ASK_BAD_INPUT])
def test_ask_bad_input(standin, data_dir: Path, tmp_path: Path, label: str,
                       argv: list[str]) -> None:
    result = ask(standin.base_url, data_dir, *_expand(argv, tmp_path))
    assert result.code == 2, (label, result.err)
    one_line(result)
    assert standin.chat_requests() == [] and standin.upload_requests() == []


def test_ask_answer_and_reasoning_are_shown_not_obeyed(standin, data_dir: Path) -> None:
    standin.reply(content=HOSTILE, reasoning=HOSTILE, chunks=7)
    result = ask(standin.base_url, data_dir, "--show-reasoning", f"title {HOSTILE}")
    assert result.code == 0, result.err
    _inert(result.out)
    _inert(result.err)
    assert "^[]0;pwned-title^G" in result.out  # made visible, not dropped silently
    assert rows(data_dir, "SELECT content FROM messages WHERE role='assistant'") == [
        (HOSTILE,)]  # the database keeps the exact text


@pytest.mark.parametrize("status", [400, 402, 500])
def test_ask_server_error_text_is_shown_not_obeyed(standin, data_dir: Path,
                                                   status: int) -> None:
    standin.fault(f"status_{status}", message=HOSTILE, times=None)
    result = ask(standin.base_url, data_dir, "hi")
    assert result.code == 3, result.err
    _inert(one_line(result))


@pytest.mark.parametrize("style", ["chat", "messages"])
def test_ask_deeply_nested_chunk_from_the_server(standin, data_dir: Path, style: str) -> None:
    from tests.clihelp import rows as _rows

    assert stepdesk(standin.base_url, data_dir, "history", "list").code == 0
    con = sqlite3.connect(data_dir / "stepdesk.db")
    con.execute("INSERT OR REPLACE INTO settings(key, value) VALUES ('api_style', ?)", (style,))
    con.commit()
    con.close()
    standin.fault("deep_json", endpoint="messages" if style == "messages" else "chat", after=2)
    result = ask(standin.base_url, data_dir, "hi")
    assert result.code == 3, result.err
    assert "malformed" in one_line(result)
    assert _rows(data_dir, "SELECT status FROM messages WHERE role='assistant'") == [
        ("interrupted",)]


def test_ask_malformed_chunk_in_the_read_of_good_deltas(standin, data_dir: Path) -> None:
    """The deltas read together with a bad chunk are printed and kept; then one line, exit 3."""
    standin.reply(content="Good words here", reasoning="", chunks=3)
    standin.fault("malformed", after=2, together=True)
    result = ask(standin.base_url, data_dir, "hi")
    assert result.code == 3, result.err
    assert "malformed" in one_line(result)
    assert result.out == "Good words\n"
    assert rows(data_dir, "SELECT status, content FROM messages WHERE role='assistant'") == [
        ("interrupted", "Good words")]


@pytest.mark.parametrize("fault", ["keepalive", "trickle"])
def test_ask_connection_alive_but_silent_times_out(standin, data_dir: Path,
                                                   fault: str) -> None:
    """Keep-alive comments or a byte now and then: the read timeout counts from the last
    event, so the turn ends (exit 3) and the partial reply is kept as interrupted."""
    standin.reply(content="partial answer that will be cut", chunks=8)
    standin.fault(fault, after=3, interval=0.02)
    result = ask(standin.base_url, data_dir, "hi", STEPDESK_READ_TIMEOUT="0.4")
    assert result.code == 3, result.err
    assert "stopped sending" in one_line(result)
    [(status, content, reasoning)] = rows(data_dir, "SELECT status, content, reasoning "
                                                    "FROM messages WHERE role='assistant'")
    assert status == "interrupted" and (content or reasoning)
    assert result.out.startswith(str(content))


def _seed(standin, data_dir: Path) -> None:
    assert ask(standin.base_url, data_dir, "seed the history").code == 0


@pytest.mark.parametrize(("label", "fsize", "with_image"), [
    ("prompt only", 0, False),
    ("with an image", 0, True),
])
def test_ask_full_disk_before_the_reply(standin, data_dir: Path, tmp_path: Path, label: str,
                                        fsize: int, with_image: bool) -> None:
    from PIL import Image

    _seed(standin, data_dir)
    before = rows(data_dir, "SELECT count(*) FROM messages")
    argv = ["ask", "what now?"]
    if with_image:
        image = tmp_path / "noise.png"
        Image.effect_noise((256, 256), 80).convert("RGB").save(image)
        argv[1:1] = ["--file", str(image)]
    result = run_limited(standin.base_url, data_dir, *argv, fsize=max(fsize, 1))
    assert result.code == 3, (label, result.err)
    one_line(result)
    assert rows(data_dir, "SELECT count(*) FROM messages") >= before  # nothing lost
    assert stepdesk(standin.base_url, data_dir, "history", "list").code == 0


def test_ask_full_disk_mid_stream_keeps_what_was_saved(standin, data_dir: Path) -> None:
    _seed(standin, data_dir)
    db = data_dir / "stepdesk.db"
    wal = data_dir / "stepdesk.db-wal"
    size = max(db.stat().st_size, wal.stat().st_size if wal.exists() else 0)
    standin.fault("paced", count=30_000, duration=3.0)
    result = run_limited(standin.base_url, data_dir, "ask", "a long answer please",
                         fsize=size + 40_000)
    assert result.code == 3, result.err
    line = one_line(result)
    assert "so the reply is kept only up to the last part that could be saved." in line
    assert "I/O error" not in line  # SQLite's own words go to the log, not the sentence
    assert len(result.out) > 100
    shown = stepdesk(standin.base_url, data_dir, "history", "show", "2")
    assert shown.code == 0, shown.err
    assert result.out[:100] in shown.out and "interrupted" in shown.out


# -- history --------------------------------------------------------------------------------
HISTORY_BAD_INPUT = [
    ("show id too large", ["show", "9" * 40]),
    ("show id zero", ["show", "0"]),
    ("show id missing", ["show", "424242"]),
    ("export id 2**64", ["export", str(2**64)]),
    ("search not UTF-8", ["search", "\udcff\udcfe"]),
    ("export to a folder", ["export", "1", "-o", "{folder}"]),
    ("export over an existing file", ["export", "1", "-o", "{existing}"]),
    ("export unknown format", ["export", "1", "--format", "pdf"]),
]


@pytest.mark.parametrize(("label", "argv"), HISTORY_BAD_INPUT,
                         ids=[c[0] for c in HISTORY_BAD_INPUT])
def test_history_bad_input(standin, data_dir: Path, tmp_path: Path, label: str,
                           argv: list[str]) -> None:
    _seed(standin, data_dir)
    existing = tmp_path / "keep.md"
    existing.write_text("precious")
    argv = [str(tmp_path) if a == "{folder}" else str(existing) if a == "{existing}" else a
            for a in argv]
    result = stepdesk(standin.base_url, data_dir, "history", *argv)
    assert result.code == 2, (label, result.err)
    one_line(result)
    assert existing.read_text() == "precious"


@pytest.mark.parametrize("text", ['"', "AND", "NEAR(", "*", "c++", "'", "\x1b[2J", "^%$#"])
def test_history_search_syntax_is_just_text(standin, data_dir: Path, text: str) -> None:
    _seed(standin, data_dir)
    result = stepdesk(standin.base_url, data_dir, "history", "search", text)
    assert result.code == 0, result.err


def test_history_shows_hostile_text_inert(standin, data_dir: Path, tmp_path: Path) -> None:
    standin.reply(content=HOSTILE, reasoning=HOSTILE)
    assert ask(standin.base_url, data_dir, f"title\n{HOSTILE}").code == 0
    listed = stepdesk(standin.base_url, data_dir, "history", "list")
    assert listed.code == 0 and len(listed.out.splitlines()) == 1  # a title cannot forge rows
    _inert(listed.out)
    for argv in (["show", "1"], ["search", "pwned"], ["export", "1"]):
        result = stepdesk(standin.base_url, data_dir, "history", *argv)
        assert result.code == 0, (argv, result.err)
        _inert(result.out)
        assert "pwned" in result.out
    out = tmp_path / "chat.md"
    assert stepdesk(standin.base_url, data_dir, "history", "export", "1", "-o",
                    str(out)).code == 0
    _inert(out.read_text(encoding="utf-8"))
    as_json = stepdesk(standin.base_url, data_dir, "history", "export", "1", "--format", "json")
    assert as_json.code == 0
    _inert(as_json.out)  # escaped by JSON …
    reply = json.loads(as_json.out)["messages"][1]
    assert reply["content"] == HOSTILE and reply["reasoning"] == HOSTILE  # … exact text


def test_history_export_devices_and_folders(standin, data_dir: Path, tmp_path: Path) -> None:
    _seed(standin, data_dir)
    full = stepdesk(standin.base_url, data_dir, "history", "export", "1", "-o", "/dev/full")
    assert full.code == 3
    assert "No space left" in one_line(full)
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)  # never replaced by a file
    target = tmp_path / "new folder" / "deeper" / "chat.md"
    assert stepdesk(standin.base_url, data_dir, "history", "export", "1", "-o",
                    str(target)).code == 0
    again = stepdesk(standin.base_url, data_dir, "history", "export", "1", "-o", str(target))
    assert again.code == 2 and "--force" in one_line(again)
    target.write_text("older export")
    forced = stepdesk(standin.base_url, data_dir, "history", "export", "1", "-o", str(target),
                      "--force")
    assert forced.code == 0 and target.read_text().startswith("# seed the history")
    assert sorted(p.name for p in target.parent.iterdir()) == ["chat.md"]  # no temp left


def test_history_export_full_disk_leaves_no_half_file(standin, data_dir: Path,
                                                      tmp_path: Path) -> None:
    standin.reply(content="x" * 50_000)
    assert ask(standin.base_url, data_dir, "long").code == 0
    target = tmp_path / "out.md"
    result = run_limited(standin.base_url, data_dir, "history", "export", "1", "-o",
                         str(target), fsize=10_000)
    assert result.code == 3, result.err
    one_line(result)
    assert list(tmp_path.glob("*out.md*")) == []


def _damage(db: Path) -> None:
    """Overwrite every page after the first with garbage (the schema page survives)."""
    con = sqlite3.connect(db)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    page = con.execute("PRAGMA page_size").fetchone()[0]
    con.close()
    data = bytearray(db.read_bytes())
    for offset in range(page, len(data), page):
        data[offset:offset + page] = bytes([0xA5]) * page
    db.write_bytes(bytes(data))


@pytest.mark.parametrize("argv", [["list"], ["show", "1"], ["search", "pad"],
                                  ["export", "1"]])
def test_history_on_a_damaged_page(standin, data_dir: Path, argv: list[str]) -> None:
    for n in range(3):
        assert ask(standin.base_url, data_dir, f"conversation {n} " + "pad " * 500).code == 0
    _damage(data_dir / "stepdesk.db")
    result = stepdesk(standin.base_url, data_dir, "history", *argv)
    assert result.code == 3, (argv, result.err)
    one_line(result)
    assert list(data_dir.glob("stepdesk.db.corrupt-*"))  # moved aside, never deleted


def test_read_only_data_folder_still_reads(standin, data_dir: Path, tmp_path: Path) -> None:
    standin.reply(content="kept answer")
    assert ask(standin.base_url, data_dir, "read me later").code == 0
    for path in [*data_dir.rglob("*"), data_dir]:
        os.chmod(path, 0o500 if path.is_dir() else 0o400)
    try:
        for argv in (["history", "list"], ["history", "show", "1"],
                     ["history", "search", "kept"], ["history", "export", "1"],
                     ["history", "export", "1", "--format", "json"],
                     ["templates", "list"], ["templates", "show", "receipt-to-table"]):
            result = run_unprivileged(standin.base_url, data_dir, *argv)
            assert result.code == 0, (argv, result.err)
        shown = run_unprivileged(standin.base_url, data_dir, "history", "show", "1")
        assert "kept answer" in shown.out
        writing = run_unprivileged(standin.base_url, data_dir, "ask", "now write")
        assert writing.code == 3, writing.err
        one_line(writing)
    finally:
        for path in [data_dir, *data_dir.rglob("*")]:
            os.chmod(path, 0o700 if path.is_dir() else 0o600)


# -- files ----------------------------------------------------------------------------------
FILES_BAD_INPUT = [
    ("--keep negative", ["prune", "--keep", "-5"]),
    ("--keep not a number", ["prune", "--keep", "many"]),
    ("--keep huge", ["prune", "--keep", "9" * 30]),
    ("unknown action", ["delete-everything"]),
]


@pytest.mark.parametrize(("label", "argv"), FILES_BAD_INPUT, ids=[c[0] for c in FILES_BAD_INPUT])
def test_files_bad_input(standin, data_dir: Path, label: str, argv: list[str]) -> None:
    result = stepdesk(standin.base_url, data_dir, "files", *argv)
    assert result.code == 2, (label, result.err)
    one_line(result)
    assert standin.requests == []


def test_files_list_shows_remote_names_inert(standin, data_dir: Path) -> None:
    standin.add_file(b"x", filename=f"{HOSTILE}.png")
    result = stepdesk(standin.base_url, data_dir, "files", "list")
    assert result.code == 0, result.err
    assert len(result.out.splitlines()) == 1
    _inert(result.out)


@pytest.mark.parametrize(("fault", "code"), [("status_500", 3), ("status_401", 4),
                                             ("echo_auth", 3)])
def test_files_list_server_failures(standin, data_dir: Path, fault: str, code: int) -> None:
    standin.fault(fault, endpoint="files", times=None,
                  **({"message": HOSTILE} if fault == "status_500" else {}))
    result = stepdesk(standin.base_url, data_dir, "files", "list")
    assert result.code == code, result.err
    _inert(one_line(result))
    assert "sk-standin" not in result.err


# -- templates ------------------------------------------------------------------------------
TEMPLATE_IMPORTS = {
    **PATHS,
    "nested 200,000 deep": _nested, "6 MB of spaces": _big, "not UTF-8": _latin1,
}


@pytest.mark.parametrize("label", list(TEMPLATE_IMPORTS))
def test_templates_import_hostile_files(standin, data_dir: Path, tmp_path: Path,
                                        label: str) -> None:
    path = TEMPLATE_IMPORTS[label](tmp_path)
    result = stepdesk(standin.base_url, data_dir, "templates", "import", str(path))
    assert result.code == 2, (label, result.err)
    one_line(result)


TEMPLATES_BAD_INPUT = [
    ("show slug not UTF-8", ["show", "\udcff"]),
    ("show unknown slug", ["show", "no-such-template"]),
    ("export unknown slug", ["export", "nope"]),
    ("export over an existing file", ["export", "--all", "-o", "{existing}"]),
    ("export to a folder", ["export", "--all", "-o", "{folder}"]),
    ("export into a missing folder", ["export", "--all", "-o", "{missing}"]),
]


@pytest.mark.parametrize(("label", "argv"), TEMPLATES_BAD_INPUT,
                         ids=[c[0] for c in TEMPLATES_BAD_INPUT])
def test_templates_bad_input(standin, data_dir: Path, tmp_path: Path, label: str,
                             argv: list[str]) -> None:
    existing = tmp_path / "keep.json"
    existing.write_text("precious")
    subs = {"{existing}": str(existing), "{folder}": str(tmp_path),
            "{missing}": str(tmp_path / "nope" / "t.json")}
    result = stepdesk(standin.base_url, data_dir, "templates",
                      *[subs.get(a, a) for a in argv])
    assert result.code == 2, (label, result.err)
    one_line(result)
    assert existing.read_text() == "precious"


def test_templates_export_to_a_full_disk(standin, data_dir: Path) -> None:
    result = stepdesk(standin.base_url, data_dir, "templates", "export", "--all", "-o",
                      "/dev/full")
    assert result.code == 3
    one_line(result)


def test_templates_show_hostile_names_inert(standin, data_dir: Path, tmp_path: Path) -> None:
    doc = {"format": "stepdesk-templates", "schema_version": 1, "templates": [{
        "slug": "evil", "name": "Evil \x1b]0;pwned\x07 \x9b31m\u202eeman", "icon": "🧾",
        "prompt": f"Do {HOSTILE}", "effort": "low", "media": "image",
        "output": {"kind": "text"}}]}
    source = tmp_path / "evil.json"
    source.write_text(json.dumps(doc))
    imported = stepdesk(standin.base_url, data_dir, "templates", "import", str(source))
    assert imported.code == 0, imported.err
    for argv in (["list"], ["show", "evil"], ["export"]):
        result = stepdesk(standin.base_url, data_dir, "templates", *argv)
        assert result.code == 0, (argv, result.err)
        _inert(result.out)
    exported = stepdesk(standin.base_url, data_dir, "templates", "export", "evil")
    assert json.loads(exported.out)["templates"][0]["name"] == doc["templates"][0]["name"]


# -- media intake (the window's drop/paste/open share it) ------------------------------------
@pytest.mark.parametrize("label", [*PATHS, "text named .png", "PNG header then zeros"])
def test_media_intake_hostile_paths(tmp_path: Path, label: str) -> None:
    import asyncio

    from app.media.intake import MediaError, prepare

    maker = PATHS.get(label) or {"text named .png": _text,
                                 "PNG header then zeros": _png_then_zero}[label]
    work = tmp_path / "work"
    with pytest.raises(MediaError) as caught:
        asyncio.run(prepare(maker(tmp_path), work_dir=work))
    message = str(caught.value)
    assert "\n" not in message and message.endswith((".", "”"))
    assert list(work.iterdir()) == []  # nothing left behind
