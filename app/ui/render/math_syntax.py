"""Where the math is in Markdown: `$…$`, `$$…$$`, `\\(…\\)`, `\\[…\\]` and amsmath environments.

Qt-free; imported by the renderer only when a text could hold a formula (it holds `$`, `\\(`,
`\\[` or `\\begin{`), so a plain answer never loads mdit-py-plugins.

`$` follows pandoc's rules (mdit-py-plugins' dollarmath with `allow_space=False,
allow_digits=False`): the opening `$` has a non-space on its right, the closing `$` a non-space
on its left and no digit after it, so `costs $5 and $10` and `echo $HOME` stay text; code spans
and fences are parsed before any of this. A `$$` or `\\[` line may interrupt a paragraph
(models write "The roots are:\\n$$ … $$" without a blank line); a formula never spans a blank
line (amsmath environments aside: they end at their `\\end{…}`), so a block the stream has
left behind cannot turn into math later.

`\\(…\\)` and `\\[…\\]` are our own small rules rather than mdit-py-plugins' texmath: texmath's
bracket rules match a regex against a copy of the rest of the *whole document* at every
candidate, which is quadratic on a long answer, and register rule names that clash with
dollarmath's. Ours search with `str.find` inside the current paragraph and remember a failed
search, so each is linear.

Tokens (all rendered by the caller): `math_inline` (text style, in the line), `math_inline_double`
(display style, in the line), `math_block` and `amsmath` (display style, a block of their own).
"""

from __future__ import annotations

from typing import Any

from markdown_it import MarkdownIt
from markdown_it.ruler import RuleOptionsType
from markdown_it.rules_block import StateBlock
from markdown_it.rules_inline import StateInline
from mdit_py_plugins.amsmath import amsmath_plugin
from mdit_py_plugins.dollarmath import dollarmath_plugin
from mdit_py_plugins.dollarmath.index import math_block_dollar

_ALT: RuleOptionsType = {"alt": ["paragraph", "reference", "blockquote", "list"]}


def math_plugin(md: MarkdownIt) -> None:
    """Add the math rules to `md` (render rules are the caller's)."""
    dollarmath_plugin(md, allow_labels=False, allow_space=False, allow_digits=False,
                      allow_blank_lines=False, double_inline=True)
    md.block.ruler.at("math_block", _quiet_when_silent(math_block_dollar(False, None, False)),
                      _ALT)
    amsmath_plugin(md)
    md.inline.ruler.before("escape", "math_paren", _inline_rule("\\(", "\\)", "math_inline"))
    md.inline.ruler.before("escape", "math_bracket",
                           _inline_rule("\\[", "\\]", "math_inline_double"))
    md.block.ruler.before("fence", "math_bracket_block", _bracket_block, _ALT)


def _quiet_when_silent(rule: Any) -> Any:
    """dollarmath's block rule pushes its token even when only asked whether it would match
    (silent mode, as a paragraph asks each rule that may interrupt it): undo that."""
    def checked(state: StateBlock, start_line: int, end_line: int, silent: bool) -> bool:
        if not silent:
            return bool(rule(state, start_line, end_line, False))
        tokens, line = len(state.tokens), state.line
        matched = bool(rule(state, start_line, end_line, False))
        del state.tokens[tokens:]
        state.line = line
        return matched

    return checked


def _inline_rule(opener: str, closer: str, token_type: str) -> Any:
    def rule(state: StateInline, silent: bool) -> bool:
        src, pos = state.src, state.pos
        if not src.startswith(opener, pos):
            return False
        # An earlier search in this same text found no closer after an earlier opener: none
        # after this one either. (The memo holds the text itself, so it cannot be mistaken
        # for another paragraph's.)
        memo: dict[str, tuple[str, int, int]] = state.env.setdefault("_math_no_close", {})
        failed = memo.get(closer)
        if (failed is not None and failed[0] is src and pos >= failed[1]
                and state.posMax <= failed[2]):
            return False
        end = src.find(closer, pos + 2, state.posMax)
        if end < 0:
            memo[closer] = (src, pos, state.posMax)
            return False
        content = src[pos + 2:end]
        if not content.strip():
            return False
        if not silent:
            token = state.push(token_type, "math", 0)
            token.content = content
            token.markup = opener
        state.pos = end + 2
        return True

    return rule


def _bracket_block(state: StateBlock, start_line: int, end_line: int, silent: bool) -> bool:
    """`\\[` at the start of a line up to a line ending in `\\]`, no blank line in between."""
    if state.is_code_block(start_line):
        return False
    begin = state.bMarks[start_line] + state.tShift[start_line]
    first = state.src[begin:state.eMarks[start_line]].rstrip()
    if not first.startswith("\\["):
        return False
    line = start_line
    if len(first) >= 4 and first.endswith("\\]"):
        body = first[2:-2]
    else:
        if "\\]" in first[2:]:
            return False  # closed mid-line: inline math in a paragraph, not a block
        parts = [first[2:]]
        while True:
            line += 1
            if line >= end_line:
                return False
            text = state.src[state.bMarks[line] + state.tShift[line]:state.eMarks[line]]
            stripped = text.rstrip()
            if not stripped:
                return False  # a blank line ends the paragraph: no formula
            if stripped.endswith("\\]"):
                parts.append(stripped[:-2])
                break
            parts.append(text)
        body = "\n".join(parts)
    if not body.strip():
        return False
    if silent:
        return True
    state.line = line + 1
    token = state.push("math_block", "math", 0)
    token.block = True
    token.content = body
    token.markup = "\\["
    token.map = [start_line, state.line]
    return True
