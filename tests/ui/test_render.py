"""Markdown rendering: Qt-friendly tables and code, nothing loadable, exact code payloads."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from PySide6.QtCore import QUrl
from PySide6.QtGui import QTextDocument

from app.ui.render.markdown import COPY_CODE_PREFIX, MarkdownRenderer, RenderTheme
from app.ui.render.markdown_view import THUMB_SCHEME, MarkdownView, SafeTextBrowser


@pytest.fixture
def renderer() -> MarkdownRenderer:
    return MarkdownRenderer(RenderTheme())


def test_table_alignment_and_escaped_pipes(renderer: MarkdownRenderer) -> None:
    html = renderer.render(
        "| Left | Mid | Right |\n|:--|:-:|--:|\n| a \\| b | c | 1 |\n").html
    assert '<table border="1"' in html and "cellpadding" in html
    assert re.findall(r'<t[hd] align="(\w+)"', html) == ["left", "center", "right"] * 2
    assert "<td align=\"left\">a | b</td>" in html


def test_table_shows_borders_and_cells_in_qt(renderer: MarkdownRenderer) -> None:
    document = QTextDocument()
    document.setHtml(renderer.render("| x | y |\n|---|--:|\n| 1 | 22 |\n").html)
    table = next(f for f in document.rootFrame().childFrames() if f.format().isTableFormat())
    fmt = table.format().toTableFormat()
    assert fmt.border() >= 1 and fmt.cellPadding() >= 4
    assert document.toPlainText().split()[-4:] == ["x", "y", "1", "22"]  # after CSV links


def test_code_is_highlighted_and_copy_payload_exact(renderer: MarkdownRenderer) -> None:
    code = "def f(x):\n    return '<b>' + x  # tab\there\n"
    rendered = renderer.render(f"Intro\n\n```python\n{code}```\n\n```\nplain <i>\n```\n")
    assert [(b.code, b.language) for b in rendered.code_blocks] == [
        (code, "python"), ("plain <i>\n", "")]
    assert f'href="{COPY_CODE_PREFIX}0"' in rendered.html
    assert f'href="{COPY_CODE_PREFIX}1"' in rendered.html
    assert '<span style="color:' in rendered.html  # Pygments inline styles
    assert "&lt;i&gt;" in rendered.html and "<i>" not in rendered.html


def test_code_numbering_starts_where_asked(renderer: MarkdownRenderer) -> None:
    rendered = renderer.render("```\na\n```\n", code_start=5, cache=False)
    assert f'href="{COPY_CODE_PREFIX}5"' in rendered.html


def test_dark_theme_uses_dark_code_style() -> None:
    light = MarkdownRenderer(RenderTheme(dark=False)).render("```python\nx = 1\n```\n").html
    dark = MarkdownRenderer(RenderTheme(dark=True)).render("```python\nx = 1\n```\n").html
    assert light != dark
    assert 'bgcolor="#0d1117"' in dark  # github-dark's background


def test_raw_html_is_escaped(renderer: MarkdownRenderer) -> None:
    html = renderer.render(
        "<script>alert(1)</script>\n\nhi <img src=http://evil.example/x.png> "
        "<a href='javascript:alert(1)'>x</a>\n").html
    assert "<script" not in html and "<img" not in html and "<a href='javascript" not in html
    assert "&lt;script&gt;" in html


@pytest.mark.parametrize("source", [
    "![remote](http://evil.example/x.png)",
    "![local](file:///etc/passwd)",
    "[link](file:///etc/passwd) [js](javascript:alert(1))",
])
def test_images_and_unsafe_links_never_become_loadable(renderer: MarkdownRenderer,
                                                       source: str) -> None:
    html = renderer.render(source).html
    assert "<img" not in html
    assert 'href="file:' not in html and 'href="javascript:' not in html


def test_markdown_images_become_links(renderer: MarkdownRenderer) -> None:
    html = renderer.render("![a cat](https://example.com/cat.png)").html
    assert '<a href="https://example.com/cat.png">[image: a cat]</a>' in html


def test_headings_lists_links(renderer: MarkdownRenderer) -> None:
    html = renderer.render("# Top\n\n- one\n- [two](https://example.com)\n").html
    assert "<h1>Top</h1>" in html and "<li>one</li>" in html
    assert '<a href="https://example.com">two</a>' in html


def test_render_is_memoised(renderer: MarkdownRenderer) -> None:
    assert renderer.render("**x**") is renderer.render("**x**")
    assert renderer.render("**y**", cache=False) is not renderer.render("**y**", cache=False)


def test_split_render_cuts_before_the_last_block(renderer: MarkdownRenderer) -> None:
    text = "# A\n\n```sh\nls\n```\n\npara\n\n```py\nopen fence\n\nstill code\n"
    cut, finished, last = renderer.render_split(text, code_start=3)
    assert text[cut:].startswith("```py")
    assert "<h1>A</h1>" in finished.html and "open fence" not in finished.html
    assert [b.code for b in finished.code_blocks] == ["ls\n"]
    assert [b.code for b in last.code_blocks] == ["open fence\n\nstill code\n"]
    assert f'href="{COPY_CODE_PREFIX}4"' in last.html  # numbered after the finished ones
    assert '<span style="color:' not in last.html  # the growing block is not highlighted
    assert renderer.render_split("just one para")[0] == 0


def test_markdown_not_imported_by_the_modules() -> None:
    """The view modules import markdown-it / Pygments only when something is rendered."""
    import subprocess

    code = ("import sys; import app.ui.widgets.conversation_view; "
            "print('markdown_it' in sys.modules, 'pygments' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).parents[2])
    assert out.stdout.split() == ["False", "False"]


class _Recorder(SafeTextBrowser):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.asked: list[str] = []

    def loadResource(self, kind: int, url: QUrl) -> object:
        self.asked.append(url.toString())
        return super().loadResource(kind, url)


def test_browser_refuses_file_and_remote_resources(qtbot: Any, tmp_path: Path) -> None:
    secret = tmp_path / "secret.png"
    from PySide6.QtGui import QImage

    image = QImage(4, 4, QImage.Format.Format_RGB32)
    image.fill(0xFF0000)
    assert image.save(str(secret))
    browser = _Recorder(thumbnail_for=lambda sha: secret if sha == "abc" else None)
    qtbot.addWidget(browser)
    file_url, web_url = QUrl.fromLocalFile(str(secret)), QUrl("http://127.0.0.1:9/x.png")
    browser.setHtml(f'<img src="{file_url.toString()}"><img src="{web_url.toString()}">')
    browser.show()
    qtbot.waitExposed(browser)
    assert browser.asked  # the document did ask, and was refused
    assert browser.loadResource(QTextDocument.ResourceType.ImageResource, file_url) is None
    assert browser.loadResource(QTextDocument.ResourceType.ImageResource, web_url) is None
    own = browser.loadResource(QTextDocument.ResourceType.ImageResource,
                               QUrl(f"{THUMB_SCHEME}:abc"))
    assert own is not None and own.width() == 4


def test_copy_link_emits_exact_code(qtbot: Any, renderer: MarkdownRenderer) -> None:
    view = MarkdownView(renderer)
    qtbot.addWidget(view)
    code = "x = '<&>'\n\n  y\n"
    view.show_markdown(f"text\n\n```python\n{code}```\n")
    with qtbot.waitSignal(view.code_copy_requested) as copied:
        view.anchorClicked.emit(QUrl(f"{COPY_CODE_PREFIX}0"))
    assert copied.args == [code]
    with qtbot.waitSignal(view.code_save_requested) as saved:
        view.anchorClicked.emit(QUrl("action:save-code/0"))
    assert saved.args == [code, "python"]


def test_streamed_markdown_matches_a_full_render(qtbot: Any, renderer: MarkdownRenderer
                                                 ) -> None:
    source = ("# Title\n\nIntro *text*.\n\n| a | b |\n|---|--:|\n| 1 | 2 |\n\n"
              "```python\nprint('hi')\n```\n\n1. one\n2. two\n\n> quote\n\nEnd.\n")
    streamed, whole = MarkdownView(renderer), MarkdownView(renderer)
    qtbot.addWidget(streamed)
    qtbot.addWidget(whole)
    for start in range(0, len(source), 3):
        streamed.append(source[start:start + 3])
        assert not streamed.render_step()
    streamed.finish_stream()
    assert not streamed.render_step(final=True)
    whole.show_markdown(source)
    assert streamed.toPlainText() == whole.toPlainText()
    assert streamed.document().blockCount() == whole.document().blockCount()
    assert [b.code for b in streamed.code_blocks()] == ["print('hi')\n"]
    headings = [streamed.document().findBlockByNumber(i).blockFormat().headingLevel()
                for i in range(streamed.document().blockCount())]
    assert headings[0] == 1


def test_a_backlog_renders_in_bounded_steps(qtbot: Any, renderer: MarkdownRenderer) -> None:
    from app.ui.render.markdown_view import STEP_CHARS

    source = "".join(f"Paragraph {n} with **bold** words.\n\n" for n in range(2000))
    view = MarkdownView(renderer)
    qtbot.addWidget(view)
    view.append(source)
    steps = 1
    while view.render_step(final=True):
        steps += 1
    assert steps >= len(source) // (2 * STEP_CHARS)
    assert view.toPlainText() == "\n".join(f"Paragraph {n} with bold words." for n in range(2000))


@pytest.mark.parametrize("text", ["t0 t1 t2 " * 500, "Plain words, 3.5 or 1) fine.", "  lead"])
def test_plain_paragraph_fast_path_matches_the_parser(renderer: MarkdownRenderer,
                                                      text: str) -> None:
    assert renderer.is_plain_paragraph(text)
    assert renderer.render(text).html == renderer._render_tokens(
        renderer._parser().parse(text, {}), 0, True).html


@pytest.mark.parametrize("text", ["# h", "- item", "1. item", "a *b*", "a\nb", "x | y",
                                  "    code", "a &amp; b", "[l](https://x)", "> q"])
def test_markdown_is_never_taken_for_plain(renderer: MarkdownRenderer, text: str) -> None:
    assert not renderer.is_plain_paragraph(text)


def test_a_giant_unfinished_block_streams_as_plain_then_renders(
        qtbot: Any, renderer: MarkdownRenderer) -> None:
    from app.ui.render.markdown_view import GIANT_CHARS

    rows = "".join(f"| {n} | **{n * n}** |\n" for n in range(600))
    source = f"Intro.\n\n| n | square |\n|---|---|\n{rows}"
    assert len(source) > GIANT_CHARS
    view = MarkdownView(renderer)
    qtbot.addWidget(view)
    for start in range(0, len(source), 500):
        view.append(source[start:start + 500])
        while view.render_step():
            pass
    assert "| 599 | **358801** |" in view.toPlainText()  # still plain while it grows
    view.append("\nAfter.\n")
    view.finish_stream()
    while view.render_step(final=True):
        pass
    shown = view.toPlainText()
    assert "|" not in shown and "358801" in shown and shown.endswith("After.")


def test_a_long_plain_run_grows_in_place(qtbot: Any, renderer: MarkdownRenderer) -> None:
    view = MarkdownView(renderer)
    qtbot.addWidget(view)
    words = [f"t{n % 10} " for n in range(6000)]
    for start in range(0, len(words), 200):
        view.append("".join(words[start:start + 200]))
        while view.render_step():
            pass
    assert view.toPlainText() == "".join(words).strip()
    assert view.document().blockCount() == 1
    view.append("\n\n**end**")
    view.finish_stream()
    while view.render_step(final=True):
        pass
    assert view.toPlainText().endswith("t9\nend")


def test_a_shown_plain_run_grows_in_line_aligned_pieces_and_ends_as_one_paragraph(
        qtbot: Any, renderer: MarkdownRenderer) -> None:
    from app.ui.render.growing_paragraph import BLOCK_CHARS

    words = "".join(f"t{n % 10} " for n in range(6000))
    streamed, whole = MarkdownView(renderer), MarkdownView(renderer)
    for view in (streamed, whole):
        qtbot.addWidget(view)
        view.resize(600, 300)
        view.show()
    whole.show_markdown(words)
    for start in range(0, len(words), 900):
        streamed.append(words[start:start + 900])
        while streamed.render_step():
            pass
    document = streamed.document()
    assert document.blockCount() > len(words) // (2 * BLOCK_CHARS)  # laid out in pieces
    assert document.toPlainText().replace("\n", "") == words.strip()
    assert document.size() == whole.document().size()  # cut where lines wrap anyway
    streamed.finish_stream()
    assert not streamed.render_step(final=True)
    assert document.blockCount() == 1 and document.toPlainText() == words.strip()
    assert document.firstBlock().blockFormat() == whole.document().firstBlock().blockFormat()
    assert document.size() == whole.document().size()


def test_a_long_plain_paragraph_about_a_video_keeps_its_timestamp_links(
        qtbot: Any, renderer: MarkdownRenderer) -> None:
    from app.ui.render.markdown import SEEK_PREFIX
    from app.ui.render.markdown_view import GIANT_CHARS

    words = " ".join(f"step{n}" for n in range(GIANT_CHARS // 5))
    source = f"At 01:23 the dialog opens and {words} until 02:05 it closes."
    view = MarkdownView(renderer, timestamps=300.0)
    qtbot.addWidget(view)
    view.show()
    for start in range(0, len(source), 700):
        view.append(source[start:start + 700])
        while view.render_step():
            pass
    view.finish_stream()
    while view.render_step(final=True):
        pass
    html = view.toHtml()
    assert f"{SEEK_PREFIX}83" in html and f"{SEEK_PREFIX}125" in html


@pytest.mark.parametrize("dark", [False, True])
def test_code_block_has_a_header_bar_with_language_copy_and_save(dark: bool) -> None:
    from PySide6.QtGui import QColor

    rendered = MarkdownRenderer(RenderTheme(dark=dark)).render("```python\nx = 1\n```\n")
    doc = QTextDocument()
    doc.setHtml(rendered.html)
    text = doc.toPlainText()
    assert text.index("python") < text.index("Copy") < text.index("Save") < text.index("x = 1")
    colours = re.findall(r'bgcolor="(#[0-9a-fA-F]{6})"', rendered.html)
    code_bg, header_bg = QColor(colours[0]), QColor(colours[1])
    assert code_bg != header_bg  # the bar stands out from the code, a shade off
    assert (code_bg.lightnessF() < 0.5) == dark  # syntax colours for the theme
    assert abs(code_bg.lightnessF() - header_bg.lightnessF()) < 0.2


def test_a_stream_step_waits_for_a_lexer_loading_off_the_ui_thread(
        qtbot: Any, renderer: MarkdownRenderer) -> None:
    unknown = f"lang{uuid4().hex}"  # a language name never looked up in this process
    source = (f"Intro.\n\n```{unknown}\nx = 1\n```\n\n```python\nprint('hi')\n```\n\n"
              "End *here*.\n")
    streamed, whole = MarkdownView(renderer, load_code_ahead=True), MarkdownView(renderer)
    qtbot.addWidget(streamed)
    qtbot.addWidget(whole)
    streamed.append(source)
    streamed.finish_stream()
    assert streamed.render_step(final=True)  # its name is being looked up: nothing drawn
    assert streamed.toPlainText() == "" and streamed.has_pending

    def drawn() -> None:
        assert not streamed.render_step(final=True)

    qtbot.waitUntil(drawn)
    whole.show_markdown(source)
    assert streamed.toHtml() == whole.toHtml()  # highlighted exactly as a whole render
    assert [b.language for b in streamed.code_blocks()] == [unknown, "python"]


def test_only_text_with_code_waits_for_pygments(renderer: MarkdownRenderer) -> None:
    assert not renderer.needs_code_loading("Plain *words*, `inline` and $x$, no block.")
    assert not renderer.text_only().needs_code_loading("```python\nx\n```\n")
    assert renderer.needs_code_loading(f"```lang{uuid4().hex}\nx\n```")
