"""Text from the model or a server is shown, never obeyed: control characters made visible.

An answer, a title or a file name may carry terminal control sequences (`ESC ]0;title BEL`
renames the terminal window, `ESC ]52;c;…` writes the clipboard, `ESC ]8;;url` hides a link,
CSI sequences move the cursor and rewrite what was printed) or bidirectional overrides that
make text read differently than it is. `visible` turns every C0 control except newline and tab,
DEL, every C1 control and the bidi embedding/override/isolate characters into a visible
notation (`\\x1b` → `^[`, U+202E → `<U+202E>`), so what is printed is inert wherever it goes:
a terminal, a pipe, a Markdown export, a window title. JSON keeps the exact text instead:
`json_dumps` escapes the same characters as `\\uXXXX`.

Leaf module: imports nothing from the app (the CLI, the store's exports and the window use it).
"""

from __future__ import annotations

import json
import re
from typing import Any

BIDI_CONTROLS = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"


def _table(single_line: bool) -> dict[int, str]:
    table: dict[int, str] = {code: f"^{chr(code + 64)}" for code in range(0x20)}
    del table[0x0A], table[0x09]
    table[0x7F] = "^?"
    for code in range(0x80, 0xA0):
        table[code] = f"<U+{code:04X}>"
    for char in BIDI_CONTROLS:
        table[ord(char)] = f"<U+{ord(char):04X}>"
    if single_line:
        table[0x0A] = " "
        table[0x09] = " "
        table[0x2028] = " "
        table[0x2029] = " "
    return table


_MULTI = _table(single_line=False)
_SINGLE = _table(single_line=True)
_NEEDS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f" + BIDI_CONTROLS + "]")
_JSON_ESCAPE = re.compile("[\x7f-\x9f" + BIDI_CONTROLS + "\u2028\u2029]")


def visible(text: str) -> str:
    """`text` with control characters shown (`^[`, `^M`, `<U+202E>`); newlines and tabs kept.

    A CRLF line end becomes a plain newline rather than `^M`.
    """
    if not _NEEDS.search(text):
        return text
    return text.replace("\r\n", "\n").translate(_MULTI)


def one_line(text: str) -> str:
    """`visible`, and line breaks and tabs as spaces: for titles, names and list columns."""
    return text.translate(_SINGLE)


def has_controls(text: str) -> bool:
    return _NEEDS.search(text) is not None


def json_dumps(value: Any, *, indent: int | None = 2) -> str:
    """`json.dumps(..., ensure_ascii=False)` with DEL, C1, bidi controls and line separators
    escaped as `\\uXXXX`: the same exact text, but inert when the JSON itself is printed."""
    text = json.dumps(value, ensure_ascii=False, indent=indent)
    return _JSON_ESCAPE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
