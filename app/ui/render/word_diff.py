"""Word-level differences between two answers, for the comparison view's "show differences".

Qt-free and pure: `word_diff(left, right)` says, for each word of `right`, whether the answer
to its left has it too, and `diff_html()` turns that into escaped HTML with highlighted spans.
`difflib` on words (whitespace kept with the word before it) is enough for answers of a few
thousand words; the controller runs it in a worker thread all the same.
"""

from __future__ import annotations

import difflib
import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

_WORD = re.compile(r"\S+\s*|\s+")
Kind = Literal["same", "added", "changed"]


@dataclass(frozen=True, slots=True)
class Segment:
    text: str
    kind: Kind


def word_diff(left: str, right: str) -> list[Segment]:
    """`right` cut into runs of words it shares with `left`, adds, or changes."""
    a, b = _WORD.findall(left), _WORD.findall(right)
    matcher = difflib.SequenceMatcher(None, [w.strip() for w in a], [w.strip() for w in b],
                                      autojunk=False)
    out: list[Segment] = []
    for tag, _i1, _i2, j1, j2 in matcher.get_opcodes():
        if j1 == j2:
            continue  # words only the left answer has: nothing to show on the right
        kind: Kind = "same" if tag == "equal" else "added" if tag == "insert" else "changed"
        text = "".join(b[j1:j2])
        if out and out[-1].kind == kind:
            out[-1] = Segment(out[-1].text + text, kind)
        else:
            out.append(Segment(text, kind))
    return out


def diff_html(segments: Sequence[Segment], *, added: str, changed: str) -> str:
    """Escaped HTML of `segments`; added and changed runs get the given background colours."""
    parts = []
    for segment in segments:
        text = html.escape(segment.text)
        if segment.kind == "same":
            parts.append(text)
        else:
            colour = added if segment.kind == "added" else changed
            title = "added" if segment.kind == "added" else "changed"
            parts.append(f'<span style="background-color:{colour}" title="{title}">{text}</span>')
    return '<div style="white-space:pre-wrap">' + "".join(parts) + "</div>"
