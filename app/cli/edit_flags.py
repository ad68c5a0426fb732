"""`stepdesk ask --redact/--box/--ellipse/--arrow/--callout/--crop`: image edits for scripts.

The rule: an edit flag applies to the `--file` given before it on the command line; flags
given before any `--file` apply to the first one. So
`--file a.png --redact 0,0,100,20 --file b.png --callout 40,40,Total` redacts a.png and marks
b.png. Coordinates are pixels of the upright image (as an image viewer shows it). The same
Qt-free flattening as the window's editor runs in intake (`app.media.annotate`). The flags
themselves are declared with the others in `app.cli.parser`, which records them in order; this
module, and the edit model it loads, is needed only once a flag was given.
"""

from __future__ import annotations

from collections.abc import Sequence

from app.cli.errors import EXIT_BAD_INPUT, CliError
from app.cli.parser import EDIT_FLAGS
from app.media.edit_steps import (
    MAX_COORD,
    MAX_TEXT,
    Arrow,
    Box,
    Callout,
    Crop,
    EditSteps,
    Redact,
    Shape,
    Step,
)


def edits_by_file(recorded: Sequence[tuple[str, str, int]], file_count: int
                  ) -> dict[int, EditSteps]:
    """Parse every recorded flag; a bad value is a CliError (exit 2) naming the flag."""
    if recorded and file_count == 0:
        raise CliError(f"{recorded[0][0]} edits an image: add it with --file PATH.",
                       EXIT_BAD_INPUT)
    steps: dict[int, list[Step]] = {}
    for flag, value, index in recorded:
        steps.setdefault(index, []).append(parse_flag(flag, value))
    return {index: EditSteps(tuple(found)) for index, found in steps.items()}


def parse_flag(flag: str, value: str) -> Step:
    if flag == "--callout":
        parts = value.split(",", 2)
        if len(parts) < 2:
            raise _bad(flag, value, "X,Y[,LABEL]")
        x, y = (_number(flag, value, part) for part in parts[:2])
        label = parts[2].strip() if len(parts) == 3 else ""
        if len(label) > MAX_TEXT or any(ord(ch) < 32 for ch in label):
            raise CliError(f"{flag} {value[:40]!r}: the label must be one line of at most "
                           f"{MAX_TEXT} characters.", EXIT_BAD_INPUT)
        return Callout(x, y, label, size=0)
    parts = value.split(",")
    if len(parts) != 4:
        raise _bad(flag, value, EDIT_FLAGS[flag][0])
    a, b, c, d = (_number(flag, value, part) for part in parts)
    if flag == "--arrow":
        return Arrow(a, b, c, d, width=0)
    if c < 0 or d < 0:
        raise CliError(f"{flag} {value[:40]!r}: width and height cannot be negative.",
                       EXIT_BAD_INPUT)
    box = Box(a, b, c, d)
    if flag == "--redact":
        return Redact(box)
    if flag == "--crop":
        return Crop(box)
    return Shape("rect" if flag == "--box" else "ellipse", box, width=0)


def _number(flag: str, value: str, part: str) -> int:
    try:
        number = int(part.strip())
    except ValueError:
        raise CliError(f"{flag} {value[:40]!r}: {part.strip()[:20]!r} is not a whole number "
                       "of pixels.", EXIT_BAD_INPUT) from None
    if abs(number) > MAX_COORD:
        raise CliError(f"{flag} {value[:40]!r}: {number} is far outside any image.",
                       EXIT_BAD_INPUT)
    return number


def _bad(flag: str, value: str, form: str) -> CliError:
    return CliError(f"{flag} {value[:40]!r}: expected {form}.", EXIT_BAD_INPUT)
