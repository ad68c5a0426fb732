"""Pathological Markdown shapes for the renderer fuzz test and its benchmark.

Each maker returns about `n` characters of one hostile shape (long runs of spaces, backticks,
`*`, `|`, `[`, unclosed fences, deep nesting, a single huge line, …). The baseline is plain
prose of the same size, wrapped in lines as a model writes a long paragraph.
"""

from __future__ import annotations

from collections.abc import Callable

_WORDS = ("lorem", "ipsum", "dolor", "sit", "amet,", "consectetur", "adipiscing", "elit.",
          "sed", "do", "eiusmod", "tempor", "incididunt", "ut", "labore", "et", "dolore",
          "magna", "aliqua.")


def prose(n: int, *, width: int = 78) -> str:
    """A plain paragraph of about `n` characters in lines of about `width`."""
    lines, line, size, i = [], [], 0, 0
    while size < n:
        word = _WORDS[i % len(_WORDS)]
        i += 1
        line.append(word)
        size += len(word) + 1
        if sum(map(len, line)) + len(line) > width:
            lines.append(" ".join(line))
            line = []
    lines.append(" ".join(line))
    return "\n".join(lines)[:n]


SHAPES: dict[str, Callable[[int], str]] = {
    "spaces then a star": lambda n: "a" + " " * (n - 2) + "*",
    "spaces then a newline": lambda n: "a" + " " * (n - 3) + "\nb",
    "backticks": lambda n: "`" * n,
    "backtick pairs": lambda n: "`a" * (n // 2),
    "backtick ladder": lambda n: "".join("`" * k + "a" for k in range(1, 2000))[:n],
    "stars": lambda n: "*" * n,
    "star words": lambda n: "*a " * (n // 3),
    "underscores": lambda n: "_" * n,
    "emphasis mix": lambda n: "*_" * (n // 2),
    "pipes": lambda n: "|" * n,
    "wide table": lambda n: "|a" * (n // 4) + "|\n" + "|-" * (n // 4) + "|",
    "long table": lambda n: "|a|b|\n|-|-|\n" + "|x|y|\n" * (n // 6),
    "brackets": lambda n: "[" * n,
    "brackets then one close": lambda n: "[" * (n - 1) + "]",
    "nested brackets": lambda n: "[" * (n // 2) + "]" * (n // 2),
    "open links": lambda n: "[a](" * (n // 4),
    "open images": lambda n: "![" * (n // 2),
    "closed brackets": lambda n: "[a]" * (n // 3),
    "unclosed fence": lambda n: "```\n" + "code line\n" * (n // 10),
    "many fences": lambda n: "```\n" * (n // 4),
    "tilde fences": lambda n: "~~~\n" * (n // 4),
    "nested quotes": lambda n: ">" * n,
    "deep quote lines": lambda n: ("> " * 50 + "a\n") * (n // 102),
    "deep quote, lazy lines": lambda n: "> " * 50 + "a\n" + "a\n" * ((n - 102) // 2),
    "deep quote, list inside": lambda n: "> " * 30 + "- a\n" + "  b\n" * ((n - 64) // 4),
    "nested lists": lambda n: "".join("  " * (i % 200) + "- a\n" for i in range(n // 200)),
    "list markers": lambda n: "- " * (n // 2),
    "backslashes": lambda n: "\\" * n,
    "entities": lambda n: "&#" * (n // 2),
    "less-than": lambda n: "<" * n,
    "autolinks": lambda n: "<a" * (n // 2),
    "headings": lambda n: "#" * n,
    "tildes": lambda n: "~" * n,
    "newlines": lambda n: "\n" * n,
    "lines of spaces": lambda n: (" " * 79 + "\n") * (n // 80),
    "link references": lambda n: "[a]: b\n" * (n // 7),
    "reference uses": lambda n: "[a]: /u\n" + "[a] " * (n // 4),
    "control characters": lambda n: "\x1b[31m\x00\x07\u202e" * (n // 8),
    "one long line": lambda n: prose(n).replace("\n", " ") + " *",
    "dollars": lambda n: "$" * n,
    "dollar pairs": lambda n: "$a" * (n // 2),
    "double dollars": lambda n: "$$\n" * (n // 3),
    "open formulas": lambda n: "\\(" * (n // 2),
    "open display formulas": lambda n: "\\[" * (n // 2),
    "open environments": lambda n: "\\begin{align}" * (n // 13),
}


_ANSWER = """## Findings

The chart shows **three series**; the `revenue` line rises by *12 %* between March and May,
while costs stay flat. See [the source](https://example.com/report) for details.

- first point, with `inline code` and **bold**
- second point: a longer sentence that wraps across the line as answers often do
  1. nested step
  2. another step

| month | revenue | cost |
|---|---:|---:|
| March | 120 | 80 |
| May | 134 | 81 |

> A short quote from the receipt, for reference.

```python
total = sum(row.amount for row in rows)
```

"""


def typical_answer(n: int) -> str:
    """About `n` characters of an ordinary Markdown answer: headings, emphasis, code spans,
    a link, lists, a small table, a quote and a code block, repeated."""
    return (_ANSWER * (n // len(_ANSWER) + 1))[:n]
