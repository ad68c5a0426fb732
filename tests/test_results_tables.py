"""Markdown tables → CSV, exactly, on the tables models actually write."""

from __future__ import annotations

import csv
from pathlib import Path

from app.results.tables import extract_tables

TRICKY = """\
Here is the receipt:

| Item | Qty | Unit price | Total |
|:-----|:---:|-----------:|------:|
| Café crème, grand | 2 | 3,20 € | 6,40 € |
| Pipe \\| fitting | 1 | | 12.00 |
| `a\\|b` code | | | |
| **Total** | | | **18,40 €** |

Note: the VAT line is unreadable.
"""


def test_tricky_table_to_csv_is_exact() -> None:
    [table] = extract_tables(TRICKY)
    assert table.header == ("Item", "Qty", "Unit price", "Total")
    assert table.align == ("left", "center", "right", "right")
    assert table.rows == (
        ("Café crème, grand", "2", "3,20 €", "6,40 €"),
        ("Pipe | fitting", "1", "", "12.00"),
        ("a|b code", "", "", ""),
        ("Total", "", "", "18,40 €"),
    )
    assert table.to_csv() == (
        "Item,Qty,Unit price,Total\r\n"
        '"Café crème, grand",2,"3,20 €","6,40 €"\r\n'
        "Pipe | fitting,1,,12.00\r\n"
        "a|b code,,,\r\n"
        'Total,,,"18,40 €"\r\n'
    )
    assert table.lines == (2, 8)


def test_unescaped_pipe_in_code_splits_like_the_renderer() -> None:
    # GFM (and markdown-it, which draws the table) split on every unescaped pipe.
    [table] = extract_tables("| a | b |\n|---|---|\n| `x|y` |\n")
    assert table.rows == (("`x", "y`"),)


def test_ragged_rows_padded_and_cut_to_header_width() -> None:
    [table] = extract_tables("a | b | c\n--|--|--\n1\n1 | 2 | 3 | 4\n")
    assert table.header == ("a", "b", "c")
    assert table.align == (None, None, None)
    assert table.rows == (("1", "", ""), ("1", "2", "3"))


def test_quotes_newlines_entities_links_and_non_ascii() -> None:
    text = ('| name | note |\n| --- | --- |\n'
            '| 日本語 "quoted" | line one<br>line two<BR/>three |\n'
            '| [link](https://example.com) | &amp; &#124; \\* _em_ ~~gone~~ |\n'
            '| ![alt text](x.png) | 👍🏽 |\n')
    [table] = extract_tables(text)
    assert table.rows == (
        ('日本語 "quoted"', "line one\nline two\nthree"),
        ("link", "& | * em gone"),
        ("alt text", "👍🏽"),
    )
    assert table.to_csv() == ('name,note\r\n"日本語 ""quoted""","line one\nline two\nthree"\r\n'
                              "link,& | * em gone\r\nalt text,👍🏽\r\n")


def test_every_table_found_in_order_but_not_in_code() -> None:
    text = ("| a |\n|---|\n| 1 |\n\n```\n| x |\n|---|\n| 2 |\n```\n\n"
            "> | q | r |\n> |:-|-:|\n> | 3 | 4 |\n\n- | s |\n  |---|\n  | 5 |\n")
    tables = extract_tables(text)
    assert [t.header for t in tables] == [("a",), ("q", "r"), ("s",)]
    assert tables[1].align == ("left", "right")
    assert [t.rows for t in tables] == [(("1",),), (("3", "4"),), (("5",),)]


def test_not_a_table_when_delimiter_row_does_not_match() -> None:
    assert extract_tables("| a | b |\n|---|\n| 1 | 2 |\n") == []
    assert extract_tables("a | b\nno delimiter\n") == []
    assert extract_tables("") == []


def test_header_only_table_and_empty_header_cells() -> None:
    [table] = extract_tables("|  | b |\n|--|--|\n")
    assert table.header == ("", "b")
    assert table.rows == ()
    assert table.to_csv() == ",b\r\n"


def test_save_csv_writes_utf8_that_csv_reads_back(tmp_path: Path) -> None:
    [table] = extract_tables(TRICKY)
    path = tmp_path / "table-1.csv"
    table.save_csv(path)
    raw = path.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")
    assert raw.decode("utf-8") == table.to_csv()
    with path.open(encoding="utf-8", newline="") as handle:
        assert [tuple(r) for r in csv.reader(handle)] == [table.header, *table.rows]
