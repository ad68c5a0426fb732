"""Video timestamps in answer text (`01:23`, `1:02:03`, `00:07.5`), with their seconds.

Answers about a video cite moments as `mm:ss` (our templates ask for exactly that); the window
turns each one into a link to that frame. What counts: `m:ss` / `mm:ss`, or `h:mm:ss`, with
optional fractional seconds; seconds (and, with hours, minutes) below 60. What does not: parts
of longer numbers or versions (`1:23:45:67`, `v1.2:30`), ratios (`16:9`), clock times with
am/pm, and — when the video's duration is known — anything past its end, which is a time of
day or a mistake rather than a moment of this video.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

_TIMESTAMP_RE = re.compile(
    r"(?<![\w.])(?<!\d:)"  # not inside a longer number, word or version
    r"(?:(?P<h>\d{1,2}):)?(?P<m>\d{1,2}):(?P<s>\d{2})(?:\.(?P<f>\d{1,3}))?"
    r"(?!\d|:\d|\.\d)(?!\s?[ap]\.?m\b)",
    re.IGNORECASE,
)
_END_TOLERANCE_S = 1.0  # a timestamp may round the last frame up


@dataclass(frozen=True, slots=True)
class Timestamp:
    """One timestamp: where it is in the text and the moment it names."""

    start: int  # offsets into the text, [start, end)
    end: int
    text: str
    seconds: float


def find_timestamps(text: str, *, duration_s: float | None = None) -> list[Timestamp]:
    """Every timestamp in `text`, in order; past `duration_s` (when given) are left out."""
    found: list[Timestamp] = []
    for match in _TIMESTAMP_RE.finditer(text):
        hours = int(match["h"] or 0)
        minutes, seconds = int(match["m"]), int(match["s"])
        if seconds >= 60 or (match["h"] is not None and minutes >= 60):
            continue
        value = hours * 3600 + minutes * 60 + seconds + float(f"0.{match['f'] or 0}")
        if duration_s is not None and value > duration_s + _END_TOLERANCE_S:
            continue
        found.append(Timestamp(match.start(), match.end(), match.group(), value))
    return found


def link_timestamps(tokens: list[Any], href: Callable[[float], str],
                    duration_s: float | None = None) -> None:
    """Wrap every timestamp in a markdown-it token stream in a link to `href(seconds)`.

    Works on the parsed tokens (in place), so timestamps in code spans, code blocks and
    existing links stay as they are. Used by the window's renderer for answers about a video.
    """
    from markdown_it.token import Token

    for block in tokens:
        if block.type != "inline" or not block.children:
            continue
        children: list[Token] = []
        in_link = 0
        for child in block.children:
            in_link += {"link_open": 1, "link_close": -1}.get(child.type, 0)
            found = (find_timestamps(child.content, duration_s=duration_s)
                     if child.type == "text" and not in_link else [])
            if not found:
                children.append(child)
                continue
            offset = 0
            for stamp in found:
                if stamp.start > offset:
                    children.append(_text(child.content[offset:stamp.start]))
                children.append(Token("link_open", "a", 1, attrs={"href": href(stamp.seconds)}))
                children.append(_text(stamp.text))
                children.append(Token("link_close", "a", -1))
                offset = stamp.end
            if offset < len(child.content):
                children.append(_text(child.content[offset:]))
        block.children = children


def _text(content: str) -> Any:
    from markdown_it.token import Token

    return Token("text", "", 0, content=content)
