"""Terminal-safe output: everything the command line prints goes through `SafeWriter`.

Wrapping stdout and stderr once (in `app.cli.main.run`) means no print site can forget: model
answers, reasoning, error texts, titles, template and file names lose their control sequences
(`app.safetext.visible`) whether stdout is a terminal or a pipe, and characters the stream's
encoding cannot show become `?` instead of a UnicodeEncodeError traceback.
"""

from __future__ import annotations

import contextlib
from typing import TextIO

from app.safetext import visible


class SafeWriter:
    """A write-only text stream around another one; the subset of TextIO the CLI uses."""

    def __init__(self, inner: TextIO) -> None:
        self._inner = inner
        self.encoding = getattr(inner, "encoding", None) or "utf-8"

    def write(self, text: str) -> int:
        text = visible(text)
        try:
            self._inner.write(text)
        except UnicodeEncodeError:
            self._inner.write(text.encode(self.encoding, "replace").decode(self.encoding))
        return len(text)

    def flush(self) -> None:
        with contextlib.suppress(BrokenPipeError, ValueError):  # `| head` closed the pipe
            self._inner.flush()

    def isatty(self) -> bool:
        try:
            return self._inner.isatty()
        except ValueError:
            return False

    def fileno(self) -> int:
        return self._inner.fileno()
