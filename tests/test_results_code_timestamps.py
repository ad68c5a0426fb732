"""Code blocks → file names, and video timestamps in answer text."""

from __future__ import annotations

import pytest

from app.results.code import CodeBlock, extension_for, extract_code_blocks, suggested_filename
from app.results.timestamps import find_timestamps


def test_code_blocks_in_renderer_order_with_languages() -> None:
    text = ("Intro\n\n```html title=\"page\"\n<p>a | b</p>\n```\n\n"
            "    indented = True\n\n~~~c++\nint x;\n~~~\n\n```\nplain\n```\n"
            "- ```python\n  print(1)\n  ```\n")
    assert extract_code_blocks(text) == [
        CodeBlock("<p>a | b</p>\n", "html"),
        CodeBlock("indented = True\n", ""),
        CodeBlock("int x;\n", "c++"),
        CodeBlock("plain\n", ""),
        CodeBlock("print(1)\n", "python"),
    ]


@pytest.mark.parametrize(("language", "ext"), [
    ("python", "py"), ("Python", "py"), ("html", "html"), ("c++", "cpp"), ("tsx", "tsx"),
    ("bash", "sh"), ("yml", "yaml"), ("csharp", "cs"), ("", "txt"), ("no-such-lang", "txt"),
    ("haskell", "hs"), ("ocaml", "ml"),  # ocaml: from Pygments' lexer patterns
])
def test_extension_for(language: str, ext: str) -> None:
    assert extension_for(language) == ext


def test_suggested_filename() -> None:
    assert suggested_filename("python", 3) == "code-3.py"
    assert suggested_filename("Dockerfile") == "Dockerfile"
    assert suggested_filename("") == "code.txt"
    assert suggested_filename("tsx") == "code.tsx"


def test_timestamps_with_seconds() -> None:
    text = ("- 00:07 — user opens Settings\n- 01:23: clicks Save\n"
            "- 1:02:03 — long video\n- [04:59.5] end; range 0:10–0:12.")
    found = find_timestamps(text)
    assert [(t.text, t.seconds) for t in found] == [
        ("00:07", 7.0), ("01:23", 83.0), ("1:02:03", 3723.0), ("04:59.5", 299.5),
        ("0:10", 10.0), ("0:12", 12.0)]
    assert all(text[t.start:t.end] == t.text for t in found)


@pytest.mark.parametrize("text", [
    "ratio 16:9 and 4:3", "version 1.2:30", "1:23:45:67", "meet at 10:30 am", "10:30pm",
    "12:75 is not a time", "1:75:00", "x01:23", "123:45", "01:234",
])
def test_not_timestamps(text: str) -> None:
    assert find_timestamps(text) == []


def test_timestamps_past_the_video_end_are_left_out() -> None:
    text = "At 00:30 it freezes; the meeting was at 14:30; last frame 01:00."
    assert [t.text for t in find_timestamps(text, duration_s=60.4)] == ["00:30", "01:00"]


def test_link_timestamps_in_rendered_markdown_but_not_code_or_links() -> None:
    from markdown_it import MarkdownIt

    from app.results.timestamps import link_timestamps

    md = MarkdownIt("js-default")
    tokens = md.parse("- 00:07 — opens `00:09` [at 00:10](https://x) **01:23**; 09:00\n\n"
                      "```\n00:11\n```\n")
    link_timestamps(tokens, lambda s: f"action:seek/{s:g}", duration_s=120)
    html = md.renderer.render(tokens, md.options, {})
    assert html == (
        '<ul>\n<li><a href="action:seek/7">00:07</a> — opens <code>00:09</code> '
        '<a href="https://x">at 00:10</a> <strong><a href="action:seek/83">01:23</a></strong>'
        "; 09:00</li>\n</ul>\n<pre><code>00:11\n</code></pre>\n")
