"""Every GFM table in an answer, as plain cell text and as CSV.

The tables are found by the same parser and preset the window renders with (markdown-it,
`js-default`), so table N here is table N on screen, and a cell holds exactly what the user
sees: GFM splitting rules (`\\|` is a literal pipe, also inside `code`; an unescaped pipe always
splits, even between backticks), short rows padded with empty cells, extra cells dropped,
Markdown emphasis and links reduced to their text, entities decoded, and `<br>` (which models
use for line breaks inside cells) turned into a newline.

CSV choice: RFC 4180 — comma separated, `\\r\\n` line ends, fields quoted only when needed
(comma, quote, CR/LF), quotes doubled; files are UTF-8 without a byte-order mark.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_BR_RE = re.compile(r"<br\s*/?>", re.IGNORECASE)
_ALIGN = {"text-align:left": "left", "text-align:center": "center",
          "text-align:right": "right"}


@dataclass(frozen=True, slots=True)
class Table:
    """One table: its header, body rows (all as wide as the header) and column alignment."""

    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    align: tuple[str | None, ...]  # "left" | "center" | "right" | None per column
    lines: tuple[int, int]  # source lines [start, end), 0-based, in the Markdown text

    def to_csv(self) -> str:
        """The header and rows as RFC 4180 CSV text."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(self.header)
        writer.writerows(self.rows)
        return buffer.getvalue()

    def save_csv(self, path: Path) -> None:
        """Write the CSV to `path` as UTF-8 (no BOM), creating or replacing the file."""
        with path.open("w", encoding="utf-8", newline="") as handle:
            handle.write(self.to_csv())


def extract_tables(markdown: str) -> list[Table]:
    """All tables in `markdown`, in document order (nested in lists and quotes included)."""
    from markdown_it import MarkdownIt

    tokens = MarkdownIt("js-default").parse(markdown)
    tables: list[Table] = []
    index = 0
    while index < len(tokens):
        if tokens[index].type == "table_open":
            table, index = _read_table(tokens, index)
            tables.append(table)
        else:
            index += 1
    return tables


def _read_table(tokens: list[Any], start: int) -> tuple[Table, int]:
    """Collect the cells from `table_open` at `start`; returns the table and the next index."""
    rows: list[list[str]] = []
    align: list[str | None] = []
    in_header = False
    index = start + 1
    while tokens[index].type != "table_close":
        token = tokens[index]
        if token.type == "thead_open":
            in_header = True
        elif token.type == "thead_close":
            in_header = False
        elif token.type == "tr_open":
            rows.append([])
        elif token.type in ("th_open", "td_open"):
            if in_header:
                align.append(_ALIGN.get(str(token.attrGet("style") or "")))
        elif token.type == "inline":
            rows[-1].append(_plain(token.children or []))
        index += 1
    table_map = tokens[start].map or [0, 0]
    body = tuple(tuple(row) for row in rows[1:])  # markdown-it pads/cuts rows to the header
    return Table(tuple(rows[0]), body, tuple(align), (table_map[0], table_map[1])), index + 1


def _plain(children: list[Any]) -> str:
    """The text a reader sees in one cell: markup dropped, code kept verbatim."""
    parts: list[str] = []
    for child in children:
        if child.type in ("text", "text_special"):
            parts.append(_BR_RE.sub("\n", child.content))
        elif child.type == "code_inline":
            parts.append(child.content)
        elif child.type == "image":
            parts.append(_plain(child.children or []))
        elif child.type in ("softbreak", "hardbreak"):
            parts.append("\n")
    return "".join(parts)
