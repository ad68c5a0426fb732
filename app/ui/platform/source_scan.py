"""Keep shiboken6's import hook from leaving every module's source text in memory.

Since PySide6 6.4 (PYSIDE-2029) shiboken replaces `__import__` and, for each Python module
imported after it, decides whether the module "uses PySide" (for the opt-in `__feature__`
switches, snake_case and true_property, which Step Desk does not use) by searching its
source for the word "PySide6" — read through `inspect.getsource`, which files the whole text
in `linecache` for good. For Step Desk that is every module it imports, about 10 MB held for
the life of the process, the largest part of what a tray-only instance has beyond a bare
Qt app. `keep_sources_out_of_linecache` gives the hook the same answer read straight from
the module's loader, which caches nothing. Where shiboken has no such function (another
version), nothing changes.
"""

from __future__ import annotations

import sys
from types import ModuleType


def uses_pyside(module: ModuleType) -> bool:
    """shiboken's rule ("PySide6" appears in the source), without linecache."""
    loader = getattr(module, "__loader__", None)
    get_source = getattr(loader, "get_source", None)
    if get_source is None:
        return False  # built in, or frozen without sources: shiboken says False too
    try:
        source = get_source(module.__name__)
    except (ImportError, OSError, SyntaxError, UnicodeDecodeError):
        return False
    return source is not None and "PySide6" in source


def keep_sources_out_of_linecache() -> bool:
    """Replace shiboken's source check (call right after importing PySide6); True if done."""
    feature = sys.modules.get("shibokensupport.feature")
    if feature is None or not callable(getattr(feature, "_mod_uses_pyside", None)):
        return False
    vars(feature)["_mod_uses_pyside"] = uses_pyside
    return True
