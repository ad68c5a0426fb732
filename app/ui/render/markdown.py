"""Markdown → HTML for Qt's rich-text engine (QTextDocument), safe and fast.

Why our own rules rather than markdown-it's defaults: Qt's rich text is an HTML 4 subset, so
tables need `border`/`cellpadding` attributes and `align=` instead of CSS, code blocks need a
table cell to get padding and a background, and images must never turn into `<img>` tags
(QTextDocument would fetch them). The `js-default` preset gives tables and treats raw HTML as
text, so nothing a model writes can become markup.

markdown-it-py and Pygments are imported on first use, never at module import: the window
must be on screen before either is loaded (DESIGN.md, start-up path). Likewise the math rules
(`math_syntax`, mdit-py-plugins) are loaded only for a text that could hold a formula, and the
formulas themselves are typeset by the `Formulas` object the caller passes in (Qt, in
`math_images`); this module stays Qt-free.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass
from html import escape
from typing import Any, Protocol

from app.results.timestamps import find_timestamps, link_timestamps
from app.ui.render import code_loading

COPY_CODE_PREFIX = "action:copy-code/"
SAVE_CODE_PREFIX = "action:save-code/"
COPY_TABLE_PREFIX = "action:copy-table/"
SAVE_TABLE_PREFIX = "action:save-table/"
SEEK_PREFIX = "action:seek/"  # + seconds: a timestamp in an answer about a video
_HIGHLIGHT_LIMIT = 100_000  # characters; longer code blocks are shown unhighlighted
_SAFE_LINK_SCHEMES = ("http://", "https://", "mailto:")
# One line of text with nothing Markdown could act on (entities, escapes, emphasis, code,
# links, autolinks, HTML, tables, headings, list or quote markers, thematic breaks).
# `$` is excluded too: it may open a formula. Unambiguous (each part starts where the previous
# cannot continue), so a near-miss such as "a" + a million spaces + "*" fails in linear time
# instead of backtracking quadratically.
_PLAIN_PARAGRAPH = re.compile(
    r"[ ]{0,3}[^\s\\`*_\[\]<>!&|~#=+\-.)\d$][^\n\\`*_\[\]<>!&|~#=$]*(?:\n[^\S\n]*)*")
# Unclosed `[` beyond this many make markdown-it's link and image rules re-scan the rest of the
# paragraph for each one (a 1 MB run of `[` or `![` takes minutes); such a text is rendered
# with those two rules off, its brackets shown as typed.
_UNCLOSED_BRACKETS_LIMIT = 256
# Emphasis delimiters (`*`, `_`) beyond this many, making up a quarter of the text, make the
# emphasis rule's pairing super-linear (`*_*_…`: 38 s for 1 MB); rendered without that rule.
_DELIMITERS_LIMIT = 4096
# Each line inside a blockquote nested d deep costs markdown-it d terminator checks (a 16 KB
# answer of lazy lines under 50 `>` took 10 s): deeper quote markers are shown 3 deep.
_QUOTE_DEPTH = 3
_DEEP_QUOTE = re.compile(rf"^(?:[ ]{{0,3}}>[ ]?){{{_QUOTE_DEPTH + 1},}}", re.MULTILINE)
MARKDOWN_LIMIT = 200_000
"""Longer answers are shown as plain text: markdown-it costs ~6 s per MB of an ordinary answer
on the UI thread, and more for some shapes; plain text costs milliseconds and keeps every
character (Copy still copies the Markdown source)."""
MATH_MARKERS = ("$", "\\(", "\\[", "\\begin{")
"""Where a rule of math_syntax may start (so a formula's source, as shown, holds one)."""
_MATH_CLOSERS = {"$": "$", "$$": "$$", "\\(": "\\)", "\\[": "\\]"}


@dataclass(frozen=True, slots=True)
class CodeBlock:
    """The exact source of one fenced or indented code block, for Copy and Save."""

    code: str
    language: str


@dataclass(frozen=True, slots=True)
class Rendered:
    """One rendering: the HTML, the raw code blocks its Copy/Save links point at, and how
    many tables it numbered for their Copy/Save-as-CSV links."""

    html: str
    code_blocks: tuple[CodeBlock, ...]
    tables: int = 0
    formulas_pending: bool = False


def _blend(base: str, other: str, share: float) -> str:
    """`base` moved `share` of the way to `other` (both #rrggbb): a header bar a shade off
    the code background, in light and dark styles alike."""
    def rgb(colour: str) -> tuple[int, int, int]:
        colour = colour.lstrip("#")
        if len(colour) == 3:
            colour = "".join(ch * 2 for ch in colour)
        return int(colour[0:2], 16), int(colour[2:4], 16), int(colour[4:6], 16)

    try:
        a, b = rgb(base), rgb(other)
    except ValueError:
        return base
    mixed = (round(x + (y - x) * share) for x, y in zip(a, b, strict=True))
    return "#" + "".join(f"{value:02x}" for value in mixed)


@dataclass(frozen=True, slots=True)
class RenderTheme:
    """Colours the HTML needs, taken from the widget palette by the caller (Qt-free here)."""

    dark: bool = False
    border: str = "#a0a0a0"
    muted: str = "#707070"
    inline_code_bg: str = "#eeeeee"
    link: str = "#0b62c4"
    text: str = "#000000"  # formulas are drawn in the text colour
    font_px: float = 14.0  # the body text's size: inline formulas match it
    x_height: float = 7.0  # puts an inline formula's baseline on the text's (see math_images)


@dataclass(frozen=True, slots=True)
class FormulaRef:
    """What to show for one formula: an image URL (drawn now or once ready), or, when the
    LaTeX did not typeset, the reason (the source is then shown as code)."""

    url: str = ""
    error: str | None = None
    pending: bool = False
    size: tuple[int, int] | None = None
    """A drawn image's logical size in pixels: written into the HTML, so that laying the text
    out does not look the image up (only painting it does)."""


class Formulas(Protocol):
    """Typesets formulas for the renderer (the Qt side: `math_images.FormulaImages`)."""

    def lookup(self, source: str, display: bool, theme: RenderTheme) -> FormulaRef:
        """The image for `source` in `theme`'s size and colour (queued when not drawn yet)."""
        ...


def _attr(value: str) -> str:
    return escape(value, quote=True)


class MarkdownRenderer:
    """Renders Markdown text to Qt-friendly HTML and memoises the result by text.

    One instance per theme; the conversation view makes a new one when the palette changes.
    `formulas` typesets math; without it formulas are shown as their LaTeX source.
    `markup=False` renders only the math: everything else is the text as written, line
    breaks kept (the model's reasoning, which is shown as it came; see `text_only()`).
    """

    def __init__(self, theme: RenderTheme, *, cache_size: int = 512,
                 formulas: Formulas | None = None, markup: bool = True) -> None:
        self.theme = theme
        self.formulas = formulas
        self.markup = markup
        self._text_only: MarkdownRenderer | None = None
        self._cache: OrderedDict[tuple[object, ...], Rendered] = OrderedDict()
        self._cache_size = cache_size
        self._md: Any = None
        self._math_md: Any = None
        self._restricted: dict[tuple[bool, tuple[str, ...]], Any] = {}  # without some rules
        self._formatter: Any = None
        self._code_bg = "#f8f8f8"
        self._code_fg: str | None = None
        self._lexers: dict[str, Any] = {}

    # -- public API ---------------------------------------------------------------------

    def text_only(self) -> MarkdownRenderer:
        """The renderer for text shown as written but with its formulas typeset (same theme,
        same formula images and cache); this renderer itself when it already is one."""
        if not self.markup:
            return self
        if self._text_only is None:
            self._text_only = MarkdownRenderer(self.theme, cache_size=self._cache_size,
                                               formulas=self.formulas, markup=False)
        return self._text_only

    def render(self, text: str, *, code_start: int = 0, table_start: int = 0,
               highlight: bool = True, cache: bool = True,
               timestamps: float | None = None) -> Rendered:
        """Render `text`; code blocks and tables are numbered from `code_start` and
        `table_start` in their Copy/Save links.

        `highlight=False` skips Pygments (used for the still-growing tail of a stream, where
        the block is re-rendered many times a second); `cache=False` keeps such throwaway
        renderings out of the memo. `timestamps` (an answer about a video: its duration in
        seconds) turns `mm:ss` times up to that length into links to `SEEK_PREFIX`.
        """
        key = (text, code_start, table_start, highlight, timestamps)
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
            return hit
        if self.is_plain(text, timestamps):
            result = Rendered(f"<p>{escape(text.strip(), quote=False)}</p>", ())
        elif len(text) > MARKDOWN_LIMIT:
            result = _as_text(text)
        else:
            result = self._render_tokens(self._parse(text, timestamps), code_start, highlight,
                                         table_start, math=self._has_math(text))
        if cache and not result.formulas_pending:  # its images show when ready: render again
            self._cache[key] = result
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return result

    def needs_code_loading(self, text: str) -> bool:
        """True when rendering `text` would first load part of Pygments for its code blocks
        (that loading is then under way off the UI thread: see `code_loading`)."""
        return self.markup and code_loading.needs_loading(text)  # text_only(): no code

    @staticmethod
    def is_plain_paragraph(text: str) -> bool:
        """True when `text` is one line without any Markdown syntax, so its rendering is just
        the escaped text in a paragraph (no need to run the parser, which is slow on long
        runs of text: ~7 µs a character)."""
        return _PLAIN_PARAGRAPH.fullmatch(text) is not None

    def is_plain(self, text: str, timestamps: float | None) -> bool:
        """A plain paragraph with no timestamp to link (those need the parser's tokens)."""
        if not self.is_plain_paragraph(text):
            return False
        return timestamps is None or not find_timestamps(text, duration_s=timestamps)

    def render_split(self, text: str, *, code_start: int = 0, table_start: int = 0,
                     timestamps: float | None = None) -> tuple[int, Rendered, Rendered]:
        """Parse once; render the finished blocks (highlighted) and the last one (not) apart.

        Returns `(cut, finished, last)`: `finished` shows `text[:cut]`, everything before the
        start of the last top-level block. That part cannot change however the text goes on
        (the last block stands between it and any new text), so a stream renders it once and
        afterwards only re-renders from `cut`. One parse serves both halves.
        """
        if self.is_plain(text, timestamps):
            plain = Rendered(f"<p>{escape(text.strip(), quote=False)}</p>", ())
            return 0, Rendered("", ()), plain
        if len(text) > MARKDOWN_LIMIT:
            return 0, Rendered("", ()), _as_text(text)
        tokens = self._parse(text, timestamps)
        math = self._has_math(text)
        split, line = 0, 0
        if "\r" not in text:  # line numbers would not match offsets; rare, so don't split
            for n, token in enumerate(tokens):
                if token.level == 0 and token.map is not None and token.nesting >= 0:
                    split, line = n, token.map[0]
        cut = 0
        for _ in range(line):
            cut = text.index("\n", cut) + 1
        finished = self._render_tokens(tokens[:split], code_start, True, table_start, math=math)
        last = self._render_tokens(tokens[split:], code_start + len(finished.code_blocks),
                                   False, table_start + finished.tables, math=math)
        return cut, finished, last

    # -- internals ----------------------------------------------------------------------

    def _parser(self, math: bool = False) -> Any:
        """The Markdown parser; `math=True`: the one with the math rules (built on the first
        text that may hold a formula; the same tokens as the plain one for any other text)."""
        if math:
            if self._math_md is None:
                self._math_md = self._new_parser(math=True)
            return self._math_md
        if self._md is None:
            self._md = self._new_parser()
        return self._md

    def _parser_for(self, text: str) -> Any:
        """The parser for `text`; without links and images when its brackets would make
        markdown-it re-scan the paragraph for each one (the renderer fuzz test's shapes)."""
        math = self._has_math(text)
        if not self.markup:  # no link, image or emphasis rules to switch off
            return self._parser(math)
        off: list[str] = []
        opened, closed = text.count("["), text.count("]")
        if opened - closed > _UNCLOSED_BRACKETS_LIMIT or \
                opened - 2 * text.count("](") > 4 * _UNCLOSED_BRACKETS_LIMIT:
            off += ["link", "image"]
        delimiters = text.count("*") + text.count("_")
        if delimiters > _DELIMITERS_LIMIT and delimiters * 4 > len(text):
            off.append("emphasis")
        if not off:
            return self._parser(math)
        key = (math, tuple(off))
        if key not in self._restricted:
            self._restricted[key] = self._new_parser(math=math).disable(off)
        return self._restricted[key]

    def _new_parser(self, *, math: bool = False) -> Any:
        from markdown_it import MarkdownIt

        md: Any  # Any: its renderer's rules table is assigned to
        if self.markup:
            md = MarkdownIt("js-default")
        else:  # paragraphs, line breaks and text only (+ the math below)
            md = MarkdownIt("zero", {"breaks": True}).enable("newline")
        md.validateLink = _validate_link
        for name in ("fence", "code_block", "code_inline", "image", "table_open",
                     "th_open", "td_open"):
            # Bound methods, so straight into the table (add_render_rule would re-bind).
            md.renderer.rules[name] = getattr(self, f"_rule_{name}")
        if math:
            from app.ui.render.math_syntax import math_plugin

            math_plugin(md)
            for name in ("math_inline", "math_inline_double", "math_block", "amsmath"):
                md.renderer.rules[name] = self._rule_math
        return md

    @staticmethod
    def _has_math(text: str) -> bool:
        """True when a math rule could start somewhere in `text` (a cheap pre-check)."""
        return any(marker in text for marker in MATH_MARKERS)

    def _parse(self, text: str, timestamps: float | None) -> list[Any]:
        if ">" in text:  # line count unchanged, so token line maps still match `text`
            text = _DEEP_QUOTE.sub("> " * _QUOTE_DEPTH, text)
        tokens = self._parser_for(text).parse(text, {})
        if timestamps is not None:
            link_timestamps(tokens, lambda seconds: f"{SEEK_PREFIX}{seconds:g}", timestamps)
        return tokens

    def _render_tokens(self, tokens: list[Any], code_start: int, highlight: bool,
                       table_start: int = 0, *, math: bool = False) -> Rendered:
        md = self._parser(math)
        env: dict[str, Any] = {"code_blocks": [], "code_start": code_start,
                               "highlight": highlight, "table_start": table_start, "tables": 0,
                               "formulas_pending": False}
        html = md.renderer.render(tokens, md.options, env).strip()  # "\n" → a space in Qt
        return Rendered(html, tuple(env["code_blocks"]), env["tables"], env["formulas_pending"])

    def _rule_math(self, tokens: list[Any], idx: int, _o: Any, env: Any) -> str:
        """A formula: its image (inline on the baseline, or centred on a line of its own), or
        its source as code with the reason as tooltip when it does not typeset."""
        token = tokens[idx]
        source = str(token.content).strip()
        block = token.type in ("math_block", "amsmath")
        display = token.type != "math_inline"
        markup = str(token.markup)
        written = f"{markup}{source}{_MATH_CLOSERS.get(markup, '')}"
        if not source:  # `$$ $$`: nothing to typeset
            return escape(written, quote=False)
        ref = (self.formulas.lookup(source, display, self.theme) if self.formulas is not None
               else FormulaRef(error="Formulas are not typeset here."))
        if ref.error is not None or ref.pending:
            # The source as code: for good when it failed (the reason as tooltip), or
            # until its image is ready (the anchor tells the view which formula it is).
            # Qt names only the first character of an anchor, so the name also carries the
            # length; whitespace is collapsed here so that the HTML import keeps that length.
            written = " ".join(written.split())
            shown = escape(written, quote=False)
            inner = (f'<a name="{_attr(ref.url)}/{len(written)}">{shown}</a>'
                     if ref.error is None else shown)
            title = f' title="{_attr(ref.error)}"' if ref.error is not None else ""
            env["formulas_pending"] = env["formulas_pending"] or ref.pending
            shown = (f'<code style="background-color:{self.theme.inline_code_bg};"{title}>'
                     f'{inner}</code>')
        else:
            # align="middle" is Qt's vertical-align: middle without a style sheet to parse
            size = f' width="{ref.size[0]}" height="{ref.size[1]}"' if ref.size else ""
            shown = (f'<img src="{_attr(ref.url)}" title="{_attr(source)}"{size}'
                     ' align="middle">')
        return f'<p align="center">{shown}</p>\n' if block else shown

    def _highlighter(self) -> Any:
        if self._formatter is None:
            from pygments.formatters import HtmlFormatter
            from pygments.styles import get_style_by_name
            from pygments.token import Token

            style = get_style_by_name("github-dark" if self.theme.dark else "default")
            self._code_bg = style.background_color or self._code_bg
            self._code_fg = style.style_for_token(Token.Text).get("color") or None
            if self._code_fg:
                self._code_fg = "#" + self._code_fg
            self._formatter = HtmlFormatter(style=style, noclasses=True, nowrap=True)
        return self._formatter

    def _lexer(self, language: str) -> Any:
        name = language.lower()
        if name not in self._lexers:
            found = code_loading.lexer_class(name)
            self._lexers[name] = (found(stripnl=False, ensurenl=False) if found is not None
                                  else None)
        return self._lexers[name]

    def _code_html(self, code: str, language: str, env: dict[str, Any]) -> str:
        blocks: list[CodeBlock] = env["code_blocks"]
        number = env["code_start"] + len(blocks)
        blocks.append(CodeBlock(code, language))
        formatter = self._highlighter()
        body = escape(code, quote=False)
        lexer = self._lexer(language) if language and env["highlight"] else None
        if lexer is not None and len(code) <= _HIGHLIGHT_LIMIT:
            from pygments import highlight

            body = highlight(code, lexer, formatter)
        body = body.removesuffix("\n")
        if self._code_fg:
            body = f'<font color="{self._code_fg}">{body}</font>'
        label = escape(language) if language else "code"
        muted = self.theme.muted if not self._code_fg else self._code_fg
        header = _blend(self._code_bg, muted, 0.12)
        return (  # a header bar (language | Copy, Save) over the highlighted code
            f'<table width="100%" cellspacing="0" cellpadding="0" bgcolor="{self._code_bg}"'
            f' style="margin-top:4px; margin-bottom:8px;">'
            f'<tr><td bgcolor="{header}" style="padding:4px 10px;">'
            f'<small><font color="{muted}">{label}</font></small></td>'
            f'<td bgcolor="{header}" align="right" style="padding:4px 10px;"><small>'
            f'<a href="{COPY_CODE_PREFIX}{number}">Copy</a> &nbsp; '
            f'<a href="{SAVE_CODE_PREFIX}{number}">Save…</a></small></td></tr>'
            f'<tr><td colspan="2" style="padding:8px 10px;"><pre style="margin:0;">{body}</pre>'
            "</td></tr></table>\n"
        )

    def _rule_fence(self, tokens: list[Any], idx: int, _o: Any, env: Any) -> str:
        token = tokens[idx]
        language = token.info.strip().split(maxsplit=1)[0] if token.info.strip() else ""
        return self._code_html(token.content, language, env)

    def _rule_code_block(self, tokens: list[Any], idx: int, _o: Any, env: Any) -> str:
        return self._code_html(tokens[idx].content, "", env)

    def _rule_code_inline(self, tokens: list[Any], idx: int, _o: Any, _e: Any) -> str:
        code = escape(tokens[idx].content, quote=False)
        return f'<code style="background-color:{self.theme.inline_code_bg};">{code}</code>'

    def _rule_image(self, tokens: list[Any], idx: int, options: Any, env: Any) -> str:
        # Never an <img>: the document would try to load it. A link the user can open.
        token = tokens[idx]
        alt = self._md.renderer.renderInlineAsText(token.children or [], options, env) or "image"
        src = str(token.attrGet("src") or "")
        if src.startswith(("http://", "https://")):
            return f'<a href="{_attr(src)}">[image: {escape(alt)}]</a>'
        return f"[image: {escape(alt)}]"

    def _rule_table_open(self, _t: Any, _i: int, _o: Any, env: Any) -> str:
        number = env["table_start"] + env["tables"]
        env["tables"] += 1
        links = (f'<p style="margin:4px 0 0 0; color:{self.theme.muted};">table &nbsp; '
                 f'<a href="{COPY_TABLE_PREFIX}{number}">Copy as CSV</a> · '
                 f'<a href="{SAVE_TABLE_PREFIX}{number}">Save as CSV…</a></p>\n')
        return links + ('<table border="1" cellspacing="0" cellpadding="6" style="border-collapse:'
                f"collapse; border-style:solid; border-color:{self.theme.border}; "
                'margin-top:4px; margin-bottom:8px;">\n')

    @staticmethod
    def _cell(tag: str, token: Any) -> str:
        style = str(token.attrGet("style") or "")
        align = style.removeprefix("text-align:").strip() if style else ""
        if align in ("left", "center", "right"):
            return f'<{tag} align="{align}">'
        return f"<{tag}>"

    def _rule_th_open(self, tokens: list[Any], idx: int, _o: Any, _e: Any) -> str:
        return self._cell("th", tokens[idx])

    def _rule_td_open(self, tokens: list[Any], idx: int, _o: Any, _e: Any) -> str:
        return self._cell("td", tokens[idx])


def _as_text(text: str) -> Rendered:
    """An answer too long for Markdown, as escaped paragraphs with its line breaks."""
    paragraphs = (escape(part, quote=False).replace("\n", "<br>")
                  for part in re.split(r"\n[ \t]*\n", text.strip()) if part)
    return Rendered("".join(f"<p>{p}</p>" for p in paragraphs), ())


def _validate_link(url: str) -> bool:
    """Only web and mail links become links; `file:`, `javascript:`, `data:` stay text."""
    return url.strip().lower().startswith(_SAFE_LINK_SCHEMES)
