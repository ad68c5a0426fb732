"""Pygments' lexers and formatter, loaded off the UI thread before a stream needs them.

The first use of a lexer compiles its regular expressions (Python's: about 40 ms in one
piece), the first unknown language name scans the installed plugins (about 50 ms), and the
HTML formatter and styles take a few more to import. Done inline, that is a freeze the first
time a session draws a code block (most of the 60–90 ms UI stretch bench_math measured at
the end of a long answer that arrived all at once). So a streaming view first asks
`needs_loading(text)`: when something is missing it is loaded on one background thread and
the view draws on a later step. The compilation is Python code, but a thread hands the GIL
back every `sys.getswitchinterval()` (5 ms), so the window keeps its heartbeat meanwhile.

What is loaded is process-wide (lexer classes keep their compiled rules), so every renderer
shares it; `lexer_class()` is the renderers' lookup, loading inline when nothing asked ahead.
Qt-free.
"""

from __future__ import annotations

import re
import threading
from typing import Any

_CODE = re.compile(r"```|~~~|^(?: {4}|\t)", re.MULTILINE)  # where a code block may be
# A fence's language: the first word of its info string (as the renderer reads it), after
# any list or quote markers the fence is nested in.
_FENCE_LANGUAGE = re.compile(r"^[ \t>*+\-\d.)]*(?:`{3,}|~{3,})[ \t]*([^\s`]+)", re.MULTILINE)

_lock = threading.Lock()
_classes: dict[str, Any] = {}  # lexer class by lower-case name; None: no lexer has that name
_base_loaded = False  # the highlight function, the HTML formatter and both styles
_wanted: set[str] = set()  # names the loading thread still has to look up
_loader: threading.Thread | None = None


def needs_loading(text: str) -> bool:
    """True when highlighting the code in `text` would first load part of Pygments; that
    loading is then under way on a background thread (ask again later)."""
    if _CODE.search(text) is None:
        return False
    names = {match.group(1).lower() for match in _FENCE_LANGUAGE.finditer(text)}
    missing = {name for name in names if name not in _classes}  # (the thread adds to it)
    if _base_loaded and not missing:
        return False
    _load_in_background(missing)
    return True


def lexer_class(name: str) -> Any:
    """The lexer class for a language name (lower case), or None when there is none."""
    if name not in _classes:
        _classes[name] = _find(name)
    return _classes[name]


def _load_in_background(names: set[str]) -> None:
    global _loader
    with _lock:
        _wanted.update(names)
        if _loader is None:  # the thread clears this, under the lock, when it is done
            _loader = threading.Thread(target=_load, name="pygments-loader", daemon=True)
            _loader.start()


def _load() -> None:
    """The loading thread: the formatter and styles, then each name asked for."""
    global _base_loaded, _loader
    try:
        if not _base_loaded:
            try:
                from pygments import highlight  # noqa: F401  (the renderer's, loaded here)
                from pygments.formatters import HtmlFormatter  # noqa: F401
                from pygments.styles import get_style_by_name

                get_style_by_name("default")
                get_style_by_name("github-dark")
            finally:  # a failure shows again where the renderer imports them, as before
                _base_loaded = True
        while True:
            with _lock:
                if not _wanted:
                    _loader = None
                    return
                name = _wanted.pop()
            try:
                lexer_class(name)
            except Exception:  # a broken lexer plugin: that language is shown unhighlighted
                _classes[name] = None
    except BaseException:  # whatever is still missing is asked for again on the next step
        with _lock:
            _loader = None
            _wanted.clear()
        raise


def _find(name: str) -> Any:
    from pygments.lexers import find_lexer_class_by_name
    from pygments.util import ClassNotFound

    try:
        found = find_lexer_class_by_name(name)
    except ClassNotFound:
        return None
    found(stripnl=False, ensurenl=False)  # the first instance compiles the class's rules
    return found
