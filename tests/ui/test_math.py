"""Math in answers: typeset formulas in real views, what is and is not math, copy, DPR, themes."""

from __future__ import annotations

import multiprocessing
import re
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QEvent, QPoint, Qt, QUrl
from PySide6.QtGui import (
    QColor,
    QFontMetricsF,
    QGuiApplication,
    QHelpEvent,
    QImage,
    QPalette,
    QPixmap,
    QTextCursor,
    QTextDocument,
)
from PySide6.QtWidgets import QToolTip

from app.ui.render.markdown import MarkdownRenderer, RenderTheme
from app.ui.render.markdown_view import MarkdownView, theme_from_palette
from app.ui.render.math_images import FormulaImages
from app.ui.render.math_typeset import FormulaError, FormulaStyle, typeset

ROOT = Path(__file__).parents[2]
ANSWER = r"""Inline $x^2 + y^2 = r^2$ and \(\alpha + \beta\) in a sentence.

$$\frac{-b \pm \sqrt{b^2 - 4ac}}{2a}$$

\[
\int_0^\infty e^{-x^2}\,dx = \frac{\sqrt{\pi}}{2}
\]

$$
\begin{aligned} a &= b + c \\ d &= e \end{aligned}
$$

\begin{pmatrix} 1 & 2 \\ 3 & 4 \end{pmatrix} stays text outside math, but
$\begin{bmatrix} 1 & 0 \\ 0 & 1 \end{bmatrix}$ is a matrix.

A broken one: $\frac{1}{$ here.
"""
GOOD = [r"x^2 + y^2 = r^2", r"\alpha + \beta", r"\frac{-b \pm \sqrt{b^2 - 4ac}}{2a}",
        r"\int_0^\infty e^{-x^2}\,dx = \frac{\sqrt{\pi}}{2}",
        r"\begin{aligned} a &= b + c \\ d &= e \end{aligned}",
        r"\begin{bmatrix} 1 & 0 \\ 0 & 1 \end{bmatrix}"]
BROKEN = r"\frac{1}{"


@pytest.fixture(scope="module")
def layout() -> Iterator[ProcessPoolExecutor]:
    """One child process lays out every formula of this module (as the app's one does)."""
    pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
    pool.submit(int).result()  # its child and threads start now, not inside the first test
    yield pool
    pool.shutdown(cancel_futures=True)


@pytest.fixture
def formulas(layout: ProcessPoolExecutor) -> Iterator[FormulaImages]:
    images = FormulaImages(layout=layout)
    yield images
    images.close()


def make_view(qtbot: Any, formulas: FormulaImages, palette: QPalette | None = None
              ) -> MarkdownView:
    theme = theme_from_palette(palette or QGuiApplication.palette())
    view = MarkdownView(MarkdownRenderer(theme, formulas=formulas))
    if palette is not None:
        view.setPalette(palette)
    qtbot.addWidget(view)
    view.resize(700, 400)
    view.show()
    return view


def formula_names(view: MarkdownView) -> list[str]:
    """The math image names in the document, in order."""
    return view.formula_urls()


def shown_formulas(view: MarkdownView, formulas: FormulaImages) -> list[str]:
    """The LaTeX of every formula shown, typeset or still being typeset, in order."""
    urls = {position: url for position, _n, url in view._pending_sources()}
    block = view.document().begin()
    while block.isValid():
        iterator = block.begin()
        while not iterator.atEnd():
            fragment = iterator.fragment()
            fmt = fragment.charFormat()
            if fmt.isImageFormat() and fmt.toImageFormat().name().startswith("stepdesk-math:"):
                urls[fragment.position()] = fmt.toImageFormat().name()
            iterator += 1
        block = block.next()
    return [formulas.info(urls[p]).source for p in sorted(urls)]  # type: ignore[union-attr]


def wait_typeset(qtbot: Any, view: MarkdownView, formulas: FormulaImages) -> None:
    """Until no formula of the view is still being typeset (the ready signal has run)."""
    qtbot.waitUntil(lambda: not view.pending_formula_urls(), timeout=20_000)


def image_position(view: MarkdownView, name: str) -> QPoint:
    """The viewport point in the middle of the formula image called `name`."""
    block = view.document().begin()
    while block.isValid():
        iterator = block.begin()
        while not iterator.atEnd():
            fragment = iterator.fragment()
            fmt = fragment.charFormat()
            if fmt.isImageFormat() and fmt.toImageFormat().name() == name:
                cursor = QTextCursor(view.document())
                cursor.setPosition(fragment.position())
                left = view.cursorRect(cursor)
                cursor.setPosition(fragment.position() + 1)
                right = view.cursorRect(cursor)
                return QPoint((left.x() + right.x()) // 2, left.center().y())
            iterator += 1
        block = block.next()
    raise AssertionError(f"{name} is not in the document")


def test_an_answer_shows_images_for_good_formulas_and_source_for_a_broken_one(
        qtbot: Any, formulas: FormulaImages) -> None:
    view = make_view(qtbot, formulas)
    view.show_markdown(ANSWER)
    assert formula_names(view) == []  # nothing typeset yet: every source shown as code
    assert shown_formulas(view, formulas) == [*GOOD, BROKEN]
    assert "$x^2 + y^2 = r^2$" in view.toPlainText()
    wait_typeset(qtbot, view, formulas)
    names = formula_names(view)
    assert [formulas.info(n).source for n in names] == GOOD  # type: ignore[union-attr]
    document = view.document()
    for name in names:  # the typeset image itself is in the document (kept as a pixmap)
        image = formulas.image(name)
        assert image is not None and not image.isNull()
        shown_image = document.resource(QTextDocument.ResourceType.ImageResource, name)
        assert isinstance(shown_image, QPixmap) and shown_image.toImage() == image
    text = view.toPlainText()
    assert "$\\frac{1}{$" in text  # the broken one is its source, as text
    assert "\\begin{pmatrix}" in text  # a bare inner environment is not math
    cursor = QTextCursor(document)
    cursor.setPosition(text.index("$\\frac{1}{$") + 2)
    assert cursor.charFormat().toolTip().startswith("This LaTeX does not parse")
    view.show_markdown(ANSWER)  # a fresh rendering knows the failure at once
    assert len(formula_names(view)) == len(GOOD) and "$\\frac{1}{$" in view.toPlainText()


# (text, the formulas in it): pandoc's rules for `$`; code is never math.
CASES = [
    ("costs $5 and $10", []),
    ("between $5 and $10 each", []),
    ("5$ and 10$", []),
    ("echo $HOME", []),
    ("echo $HOME and $PATH", []),
    ("`echo $HOME` and `$x$`", []),
    ("```sh\necho $x$\n```", []),
    ("    $indented$ code", []),
    ("$ x$ and $x $", []),  # space inside the delimiters
    ("$x$5", []),  # a digit after the closing $
    ("2$x$", []),  # a digit before the opening $
    ("\\$x\\$ escaped", []),
    ("$$ $$ and \\(  \\)", []),  # empty
    ("$x$", ["x"]),
    ("a $x$, b", ["x"]),
    ("$a\\$b$", ["a\\$b"]),
    ("$HOME/$USER", ["HOME/"]),  # pandoc reads these two as math too
    ("$10 or 5$ each", ["10 or 5"]),
    ("a $$x$$ b", ["x"]),
    ("The roots:\n$$\nx = 1\n$$\nafter", ["x = 1"]),
    ("\\(a\\) and \\(b\\)", ["a", "b"]),
    ("unclosed \\(a and \\(b", []),
    ("text\n\\[\ny\n\\]\nmore", ["y"]),
    ("in line \\[z\\] too", ["z"]),
    ("\\begin{align}a &= b\\end{align}", ["\\begin{align}a &= b\\end{align}"]),
    ("$$\nx\n\ny\n$$", []),  # a blank line ends it: no formula
    ("- item $i$\n- $j$", ["i", "j"]),
    ("> quote $q$", ["q"]),
    ("| a | $t$ |\n|---|---|\n| 1 | 2 |", ["t"]),
    ("**bold $b$**", ["b"]),
]


def test_a_view_drawn_again_reads_its_formula_images_once(qtbot: Any,
                                                         formulas: FormulaImages) -> None:
    loaded: list[str] = []

    class CountingView(MarkdownView):
        def loadResource(self, kind: int, name: QUrl | str, /) -> object:
            loaded.append(QUrl(name).toString())
            return super().loadResource(kind, name)

    theme = theme_from_palette(QGuiApplication.palette())
    view = CountingView(MarkdownRenderer(theme, formulas=formulas))
    qtbot.addWidget(view)
    view.resize(700, 400)
    view.show()
    view.show_markdown(ANSWER)
    wait_typeset(qtbot, view, formulas)
    view.grab()
    names = formula_names(view)
    assert sorted(set(loaded)) == sorted(names)
    loaded.clear()
    view.show_markdown(f"{ANSWER}\nOnce more.")  # drawn again (a new text, same formulas)
    view.grab()
    assert formula_names(view) == names and loaded == []  # kept in the document as pixmaps


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_what_is_math(formulas: FormulaImages, text: str, expected: list[str]) -> None:
    html = MarkdownRenderer(RenderTheme(), formulas=formulas).render(text, cache=False).html
    urls = re.findall(r"stepdesk-math:[0-9a-f]+", html)  # an image, or its source until ready
    assert [formulas.info(u).source for u in urls] == expected  # type: ignore[union-attr]
    if not expected:
        assert "<img" not in html and "<a name" not in html


def test_currency_and_shell_render_as_text(qtbot: Any, formulas: FormulaImages) -> None:
    view = make_view(qtbot, formulas)
    text = "It costs $5 and $10 in total.\n\n5$ here.\n\nRun `echo $HOME` and then echo $PATH."
    view.show_markdown(text)
    assert formula_names(view) == []
    assert view.toPlainText() == ("It costs $5 and $10 in total.\n5$ here.\n"
                                  "Run echo $HOME and then echo $PATH.")


def test_formula_colour_follows_the_dark_theme(qtbot: Any, formulas: FormulaImages) -> None:
    dark = QPalette(QGuiApplication.palette())
    dark.setColor(QPalette.ColorRole.Base, QColor("#1e1e1e"))
    dark.setColor(QPalette.ColorRole.Text, QColor("#e0e0e0"))
    view = make_view(qtbot, formulas, dark)
    view.show_markdown("Dark $\\sum_{i=1}^{n} i^2$ text.")
    wait_typeset(qtbot, view, formulas)
    (name,) = formula_names(view)
    image = formulas.image(name)
    assert image is not None
    opaque = [image.pixelColor(x, y) for x in range(image.width())
              for y in range(image.height()) if image.pixelColor(x, y).alpha() == 255]
    assert len(opaque) > 20  # the glyph cores are fully covered
    assert all(c.name() == "#e0e0e0" for c in opaque)
    light = make_view(qtbot, formulas)
    light.show_markdown("Dark $\\sum_{i=1}^{n} i^2$ text.")
    assert formula_names(light) != [name]  # another colour, another image


def test_images_are_drawn_at_the_device_pixel_ratio(qtbot: Any,
                                                    layout: ProcessPoolExecutor) -> None:
    formulas = FormulaImages(ratio=lambda: 2.0, layout=layout)
    try:
        view = make_view(qtbot, formulas)
        view.show_markdown("Sharp $\\frac{a}{b}$ at 2x.")
        wait_typeset(qtbot, view, formulas)
        (name,) = formula_names(view)
        image = formulas.image(name)
        assert image is not None and image.devicePixelRatio() == 2.0
        logical = image.deviceIndependentSize()
        assert image.width() == round(2 * logical.width())
        assert image.height() == round(2 * logical.height())
        assert view.document().size().height() > 0  # laid out
        block = view.document().begin()
        assert block.layout().lineCount() == 1
        line = block.layout().lineAt(0)
        assert logical.height() - 1 <= line.height() < image.height()  # at its logical size
        swapped = (view.document().size(), line.height(), line.naturalTextWidth())
        view.show_markdown("Sharp $\\frac{a}{b}$ at 2x.")  # drawn again: the size is in the HTML
        assert formula_names(view) == [name]
        line = view.document().begin().layout().lineAt(0)
        assert (view.document().size(), line.height(), line.naturalTextWidth()) == swapped
    finally:
        formulas.close()


def test_qt_scale_factor_two_draws_formulas_at_twice_the_pixels(tmp_path: Path) -> None:
    """A real high-DPI start (QT_SCALE_FACTOR=2): formulas come out at ratio 2."""
    code = (
        "import sys; from PySide6.QtWidgets import QApplication; qt = QApplication([]);\n"
        "from app.ui.render.math_images import FormulaImages\n"
        "from app.ui.render.markdown import RenderTheme\n"
        "from app.ui.render.math_typeset import FormulaStyle, typeset\n"
        "f = FormulaImages(); ref = f.lookup('x^2', False, RenderTheme());\n"
        "style = f._requests[ref.url].style\n"
        "img = typeset('x^2', False, style)\n"
        "print(qt.devicePixelRatio(), img.devicePixelRatio(), img.width(),"
        " img.deviceIndependentSize().width()); f.close()\n")
    env = {"QT_QPA_PLATFORM": "offscreen", "QT_SCALE_FACTOR": "2", "PYTHONPATH": str(ROOT),
           "HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT, env=env, timeout=120)
    app_ratio, ratio, pixels, logical = (float(v) for v in out.stdout.split())
    assert app_ratio == 2.0 and ratio == 2.0
    assert abs(pixels - 2 * logical) <= 1


def test_inline_math_sits_on_the_text_baseline(qapp: Any) -> None:
    """Qt centres a `vertical-align: middle` image a quarter x-height above the baseline;
    math_typeset pads inline images on that assumption. Check Qt still does so."""
    document = QTextDocument()
    image = QImage(10, 40, QImage.Format.Format_ARGB32)
    image.fill(QColor("red"))
    document.addResource(QTextDocument.ResourceType.ImageResource, "m:1", image)
    document.setHtml('<p>x<img src="m:1" style="vertical-align:middle">x</p>')
    document.setTextWidth(400)
    assert document.size().height() > 0  # laid out
    block = document.begin()  # kept: a temporary block would take its layout with it
    assert block.layout().lineCount() == 1
    line = block.layout().lineAt(0)
    x_height = QFontMetricsF(document.defaultFont()).xHeight()
    assert line.ascent() == pytest.approx((40 + x_height / 2) / 2, abs=0.5)
    # so a typeset image's formula baseline, at (h + x/2) / 2 from its top, is the text's:
    style = FormulaStyle(16.0, "#ff0000", 1.0, x_height)
    drawn = typeset("y_1", False, style)
    baseline = (drawn.height() + x_height / 2) / 2
    ink = [y for y in range(drawn.height())
           if any(drawn.pixelColor(x, y).alpha() > 128 for x in range(drawn.width()))]
    assert ink[0] < baseline < ink[-1]  # "y" above and below it, the subscript below


def test_streaming_a_formula_split_across_many_deltas(qtbot: Any,
                                                      formulas: FormulaImages) -> None:
    view = make_view(qtbot, formulas)
    text = ("The area is $\\pi r^2$ and the volume\n\n$$\nV = \\frac{4}{3}\\pi r^3\n$$\n\n"
            "costs $5 there.")
    inline, display = "\\pi r^2", "V = \\frac{4}{3}\\pi r^3"
    checkpoints = {  # prefix end → the formulas shown by then
        text.index("r^2") + 2: [], text.index("r^2$") + 4: [inline],
        text.index("r^3\n$") + 5: [inline], text.index("r^3\n$$") + 6: [inline, display],
        len(text): [inline, display]}
    for n in range(len(text)):
        view.append(text[n])
        view.render_step()
        if n + 1 in checkpoints:
            assert shown_formulas(view, formulas) == checkpoints[n + 1], text[:n + 1]
    view.finish_stream()
    while view.render_step(final=True):
        pass
    wait_typeset(qtbot, view, formulas)
    assert [formulas.info(n).source for n in formula_names(view)] == [  # type: ignore[union-attr]
        inline, display]
    assert "$\\pi r^2$" not in view.toPlainText()
    assert view.toPlainText().endswith("costs $5 there.")
    full = make_view(qtbot, formulas)
    full.show_markdown(text)
    assert full.toPlainText() == view.toPlainText()


@pytest.mark.qt_log_ignore("This plugin does not support raise")  # the tooltip, offscreen
def test_copy_latex_from_the_context_menu_selection_and_tooltip(
        qtbot: Any, formulas: FormulaImages) -> None:
    view = make_view(qtbot, formulas)
    view.show_markdown("Energy $E = mc^2$ and\n\n$$\\sum_i a_i$$\n\nbroken $x^$ here")
    wait_typeset(qtbot, view, formulas)
    inline, display = formula_names(view)
    menu = view.context_menu_at(image_position(view, inline))
    labels = [a.text() for a in menu.actions()]
    assert labels[0] == "Copy LaTeX"
    with qtbot.waitSignal(view.code_copy_requested) as copied:
        menu.actions()[0].trigger()
    assert copied.args == ["$E = mc^2$"]
    menu = view.context_menu_at(image_position(view, display))
    with qtbot.waitSignal(view.code_copy_requested) as copied:
        menu.actions()[0].trigger()
    assert copied.args == ["$$\\sum_i a_i$$"]
    assert "Copy LaTeX" not in [a.text() for a in view.context_menu_at(QPoint(2, 2)).actions()]
    view.selectAll()
    assert view.createMimeDataFromSelection().text() == (
        "Energy $E = mc^2$ and\n$$\\sum_i a_i$$\nbroken $x^$ here")
    point = image_position(view, inline)
    event = QHelpEvent(QEvent.Type.ToolTip, point, view.viewport().mapToGlobal(point))
    assert view.event(event)
    assert QToolTip.text() == "$E = mc^2$"
    QToolTip.hideText()


def test_message_copy_keeps_the_latex_source(qtbot: Any, formulas: FormulaImages) -> None:
    from app.ui.widgets.message_widget import MessageWidget
    from tests.ui.test_conversation_view import make_message

    content = "So $x = \\frac{1}{2}$ and\n\n$$y^2$$\n"
    renderer = MarkdownRenderer(theme_from_palette(QGuiApplication.palette()),
                                formulas=formulas)
    widget = MessageWidget(make_message(2, "assistant", content), renderer=renderer,
                           thumbnails=lambda _sha: None)
    qtbot.addWidget(widget)
    with qtbot.waitSignal(widget.copy_requested) as copied:
        widget.header_buttons["copy"].click()
    assert copied.args == [content]


async def test_exports_keep_the_latex_source(data_dir: Path, tmp_path: Path) -> None:
    import json

    from app.store import BlobStore, Store

    store = await Store.open(data_dir / "stepdesk.db", owner_dir=data_dir / "owners")
    try:
        conv = await store.create_conversation("Maths", "step-3.7-flash", "high")
        question = await store.add_user_message(conv.id, "Solve $x^2=2$", [],
                                                model="step-3.7-flash", effort="high")
        answer = await store.start_assistant_message(conv.id, reply_to=question.id,
                                                     model="m", effort="high")
        latex = "$$x = \\pm\\sqrt{2}$$ so \\(x \\approx 1.41\\)"
        await store.append_reply(answer.id, "think $a$", latex, None)
        await store.finish_message(answer.id, "complete")
        blobs = BlobStore(tmp_path / "blobs")
        markdown = await store.export_conversation(conv.id, "md", None, blobs)
        assert latex in markdown and "Solve $x^2=2$" in markdown
        exported = json.loads(await store.export_conversation(conv.id, "json", None, blobs))
        assert [m["content"] for m in exported["messages"]] == ["Solve $x^2=2$", latex]
        assert exported["messages"][1]["reasoning"] == "think $a$"
    finally:
        await store.close()


@pytest.mark.parametrize("source", [
    "\\frac{a", "x^", "\\left( x", "\\notacommand{a}", "{" * 400 + "x" + "}" * 400,
    "x" * 5000, "\\begin{matrix}" + "a\\\\" * 2000 + "\\end{matrix}",
])
def test_hostile_formulas_fail_as_one_sentence(qapp: Any, source: str) -> None:
    style = FormulaStyle(16.0, "#000000", 1.0, 7.0)
    try:
        image = typeset(source, True, style)
    except FormulaError as error:
        message = str(error)
        assert message.endswith(".") and "\n" not in message and len(message) < 120
    else:
        assert not image.isNull()


def test_the_math_stack_is_not_imported_before_the_first_formula() -> None:
    code = (
        "import sys; from PySide6.QtWidgets import QApplication; qt = QApplication([]);\n"
        "import app.ui.main_window\n"
        "from app.ui.render.markdown import MarkdownRenderer\n"
        "from app.ui.render.markdown_view import MarkdownView, theme_from_palette\n"
        "from app.ui.render.math_images import FormulaImages\n"
        "f = FormulaImages(); r = MarkdownRenderer(theme_from_palette(qt.palette()),"
        " formulas=f)\n"
        "v = MarkdownView(r); v.show_markdown('# Plain\\n\\nA **plain** answer, `code`.')\n"
        "names = ('ziamath', 'ziafont', 'latex2mathml', 'mdit_py_plugins',"
        " 'mdit_py_plugins.dollarmath', 'app.ui.render.math_syntax',"
        " 'app.ui.render.math_typeset', 'PySide6.QtSvg')\n"
        "print(*[n in sys.modules for n in names])\n"
        "v.show_markdown('Now $x$.')\n"
        "import time; url = v.pending_formula_urls()[0]; deadline = time.monotonic() + 60\n"
        "while v.pending_formula_urls() and time.monotonic() < deadline:\n"
        "    qt.processEvents(); time.sleep(0.01)\n"
        "print('mdit_py_plugins.dollarmath' in sys.modules, v.formula_urls() == [url],"
        " 'ziamath' in sys.modules); f.close()\n")
    env = {"QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT, env=env, timeout=120)
    before, after = out.stdout.splitlines()
    assert before.split() == ["False"] * 8
    assert after.split() == ["True", "True", "False"]  # typeset, by the child process


def test_thinking_typesets_its_formulas_while_it_streams(qtbot: Any,
                                                         formulas: FormulaImages) -> None:
    """The reasoning pane: the answer's images and cache, a formula stays source until it
    closes, everything else shown as written (no Markdown), Copy LaTeX reaches the message."""
    from app.ui.widgets.message_widget import MessageWidget
    from tests.ui.test_conversation_view import make_message

    renderer = MarkdownRenderer(theme_from_palette(QGuiApplication.palette()),
                                formulas=formulas)
    message = make_message(2, "assistant", status="streaming")
    widget = MessageWidget(message, renderer=renderer, thumbnails=lambda _sha: None)
    qtbot.addWidget(widget)
    widget.resize(700, 600)
    widget.show()
    thinking = widget.thinking
    assert thinking is not None and thinking.is_expanded
    reasoning = ("So *maybe* the area is $\\pi r^2$,\nthen check\n\n$$\nV = \\frac{4}{3}"
                 "\\pi r^3\n$$\n\nand it costs $5.")
    inline, display = "\\pi r^2", "V = \\frac{4}{3}\\pi r^3"
    checkpoints = {reasoning.index("r^2") + 2: [], reasoning.index("r^2$") + 4: [inline],
                   reasoning.index("r^3\n$$") + 6: [inline, display]}
    body = thinking.body
    assert isinstance(body, MarkdownView)
    for n, char in enumerate(reasoning):
        message = replace(message, reasoning=message.reasoning + char)
        widget.stream(message, char, "")
        while widget.render_step():
            pass
        if n + 1 in checkpoints:
            assert shown_formulas(body, formulas) == checkpoints[n + 1], reasoning[:n + 1]
    widget.stream(replace(message, content="Done."), "", "Done.")  # thinking is over
    while widget.render_step():
        pass
    assert not thinking.is_live and not thinking.is_expanded
    qtbot.mouseClick(thinking.header, Qt.MouseButton.LeftButton)
    wait_typeset(qtbot, body, formulas)
    urls = formula_names(body)
    assert [formulas.info(u).source for u in urls] == [inline, display]  # type: ignore[union-attr]
    assert body.toPlainText() == ("So *maybe* the area is \ufffc,\nthen check\n\ufffc\n"
                                  "and it costs $5.")
    answer = MarkdownView(renderer)  # the same formula in an answer: the same image
    qtbot.addWidget(answer)
    answer.show_markdown("Area $\\pi r^2$.")
    assert formula_names(answer) == urls[:1] and not answer.pending_formula_urls()
    menu = body.context_menu_at(image_position(body, urls[0]))
    with qtbot.waitSignal(widget.copy_requested) as copied:
        menu.actions()[0].trigger()
    assert copied.args == ["$\\pi r^2$"]


def test_thinking_formulas_follow_a_theme_switch(qtbot: Any, formulas: FormulaImages) -> None:
    from app.ui.widgets.message_widget import MessageWidget
    from tests.ui.test_conversation_view import make_message

    light = MarkdownRenderer(theme_from_palette(QGuiApplication.palette()), formulas=formulas)
    widget = MessageWidget(make_message(2, "assistant", "The answer $y$.",
                                        reasoning="Think of $\\sum_{i=1}^{n} i^2$ first."),
                           renderer=light, thumbnails=lambda _sha: None, thinking_expanded=True)
    qtbot.addWidget(widget)
    widget.show()
    thinking = widget.thinking
    assert thinking is not None and isinstance(thinking.body, MarkdownView)
    body = thinking.body
    wait_typeset(qtbot, body, formulas)
    (before,) = formula_names(body)
    dark = MarkdownRenderer(replace(light.theme, dark=True, text="#e0e0e0"), formulas=formulas)
    assert widget.show_markdown(dark)  # the open reasoning pane is drawn again in steps
    while widget.render_step():
        pass
    wait_typeset(qtbot, body, formulas)
    (after,) = formula_names(body)
    assert after != before
    image = formulas.image(after)
    assert image is not None
    assert {image.pixelColor(x, y).name() for x in range(image.width())
            for y in range(image.height()) if image.pixelColor(x, y).alpha() == 255} == {
                "#e0e0e0"}


def test_formulas_far_apart_are_swapped_in_over_several_turns(
        qtbot: Any, formulas: FormulaImages, monkeypatch: pytest.MonkeyPatch) -> None:
    """Swaps go in edit blocks of nearby formulas, one block per event-loop turn when the
    budget is spent (here: always), until every formula is an image — the same document a
    render with the images cached gives."""
    from app.ui.render import markdown_view

    monkeypatch.setattr(markdown_view, "SWAP_BUDGET_S", 0.0)
    filler = "Words of prose that carry the argument along. " * 60  # > SWAP_SPAN_CHARS
    text = "\n\n".join(f"Step {n}: $a_{{{n}}} + b$ then\n\n{filler}" for n in range(6))
    view = make_view(qtbot, formulas)
    view.show_markdown(text)
    assert len(view.pending_formula_urls()) == 6
    wait_typeset(qtbot, view, formulas)
    assert [formulas.info(u).source for u in formula_names(view)] == [  # type: ignore[union-attr]
        f"a_{{{n}}} + b" for n in range(6)]
    cached = make_view(qtbot, formulas)
    cached.show_markdown(text)
    assert not cached.pending_formula_urls()
    assert view.toPlainText() == cached.toPlainText()


@pytest.mark.parametrize("shape", ["emphasis mix", "long table", "open links", "brackets"])
def test_the_reasoning_shows_hostile_text_as_written(formulas: FormulaImages,
                                                     shape: str) -> None:
    """The text-only renderer (the reasoning pane) turns nothing but formulas into markup:
    Markdown, HTML and links a model writes stay text."""
    from tests.render_shapes import SHAPES

    renderer = MarkdownRenderer(RenderTheme(), formulas=formulas).text_only()
    hostile = ("<b>bold</b> **strong** [link](javascript:alert(1)) ![x](file:///etc/passwd)\n"
               "# not a heading\n\n| a | b |\n|---|---|\n\n```\nfence\n```\n$x^2$\n")
    for text in (hostile, SHAPES[shape](5_000)):
        html = renderer.render(text, cache=False).html
        tags = set(re.findall(r"<(/?[a-z]+)", html))
        assert tags <= {"p", "/p", "br", "code", "/code", "a", "/a", "img"}, tags
        assert "href" not in html
    document = QTextDocument()
    document.setHtml(renderer.render(hostile).html)
    assert document.toPlainText().startswith(
        "<b>bold</b> **strong** [link](javascript:alert(1)) ![x](file:///etc/passwd)\n"
        "# not a heading\n")
