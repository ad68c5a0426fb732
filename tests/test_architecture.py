"""DESIGN.md's layers as a contract over every import of every module under `app/`.

The imports are read from the source (`tests/importmap.py`): module-level and function-level
ones alike, `from package import Name` followed to the module defining `Name`. The layer rules
apply to every import, type-only ones included (knowing a type is knowing the layer); the
cycle check leaves out imports under `if TYPE_CHECKING:`, which never run.
"""

from __future__ import annotations

from collections import defaultdict

import pytest

from tests.importmap import Import, imports, module_path, modules

QT = ("PySide6", "shiboken6", "qasync")

# Leaf modules: shared by every layer, so they import nothing of the app themselves.
LEAVES = ("app", "app.limits", "app.usage", "app.redact", "app.fsmodes", "app.safetext",
          "app.boundedread", "app.stream_thread", "app.paths")

CORE = ("app.api", "app.media", "app.store")
ENGINE = (*CORE, "app.config", "app.context", "app.turn_events")

# Each layer and the layers it may import (besides itself and the leaves). A new layer is one
# line. The most specific prefix decides a module's layer.
LAYERS: dict[str, tuple[str, ...]] = {
    "app.api": (),  # HTTP protocol: knows neither media nor the store
    "app.media": (),  # intake, images, video: knows neither the API nor the store
    "app.store": (),  # SQLite: knows neither the API nor media
    "app.results": (),  # take-aways from answer text (tables, code, timestamps): pure text
    "app.secret_store": (),
    "app.logsetup": (),
    "app.options": ("app.api.timeouts",),
    "app.turn_events": ("app.api", "app.media"),  # events name what media were prepared
    "app.config": ("app.api", "app.options", "app.secret_store"),
    "app.context": ("app.api", "app.config", "app.media", "app.store"),
    "app.chat": (*ENGINE,),
    "app.compare": (*ENGINE, "app.chat"),
    "app.templates": ("app.config", "app.store"),
    "app.services": (*ENGINE, "app.chat", "app.logsetup", "app.options"),
    "app.cli": (*ENGINE, "app.chat", "app.compare", "app.options", "app.results",
                "app.services", "app.templates"),
    "app.ui": (*ENGINE, "app.chat", "app.compare", "app.options", "app.results",
               "app.services", "app.templates"),
    "app.main": ("app.cli", "app.ui"),  # both only inside functions: see below
    "app.__main__": ("app.main",),
}
QT_LAYERS = ("app.ui",)  # and app.main, lazily (inside a function), to start the loop
LAZY_ONLY = {"app.main": ("app.cli", "app.ui", *QT)}

# Outside its controllers (and the composition root), the window knows the core only by its
# plain data types (records, events, dataclasses): never the services that do the work.
UI_PLAIN_PARTS = "app.ui"
UI_CORE_PATHS = ("app.ui.controllers", "app.ui.app")
UI_FORBIDDEN = ("app.store.store", "app.api.client", "app.chat", "app.services", "app.compare")
def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def layer_of(module: str) -> str | None:
    matches = [layer for layer in (*LAYERS, *LEAVES) if _within(module, layer)]
    return max(matches, key=len) if matches else None


def _line(item: Import, why: str) -> str:
    return f"{item.where()} imports {item.target}: {why}"


def test_the_import_map_sees_every_kind_of_import() -> None:
    found = imports()
    assert len(modules()) > 100 and len(found) > 1000
    assert any(not i.top_level for i in found), "function-level imports are read"
    assert any(i.type_only for i in found), "TYPE_CHECKING imports are recognised"
    # Re-exports are followed: `from app.store import Store` depends on app.store.store.
    assert any(i.importer == "app.services" and i.target == "app.store.store" for i in found)


def test_every_module_has_a_layer() -> None:
    assert [m for m in modules() if layer_of(m) is None] == []


def test_leaves_import_nothing_of_the_app() -> None:
    bad = [_line(i, "a leaf module imports nothing of the app") for i in imports()
           if i.importer in LEAVES and _within(i.target, "app") and i.target != i.importer]
    assert bad == []


def test_layers_import_only_what_they_may() -> None:
    bad = []
    for item in imports():
        if not _within(item.target, "app"):
            continue
        mine, theirs = layer_of(item.importer), layer_of(item.target)
        if mine in LEAVES or theirs in LEAVES or mine == theirs or theirs is None:
            continue
        allowed = LAYERS.get(mine or "", ())
        if not any(_within(item.target, ok) for ok in allowed):
            bad.append(_line(item, f"{mine} may import only {', '.join(allowed) or 'leaves'}"))
    assert bad == []


def test_only_the_window_imports_qt() -> None:
    bad = [_line(i, "only app/ui imports Qt (app/main.py inside a function)")
           for i in imports()
           if i.target.split(".")[0] in QT
           and not any(_within(i.importer, layer) for layer in QT_LAYERS)
           and not (i.importer in LAZY_ONLY and not i.top_level)]
    assert bad == []


def test_lazy_only_imports_stay_inside_functions() -> None:
    bad = [_line(i, "imported at module level; import it where it is used")
           for i in imports() if i.importer in LAZY_ONLY and i.top_level
           and any(_within(i.target, lazy) for lazy in LAZY_ONLY[i.importer])]
    assert bad == []


def test_the_window_reaches_the_core_only_through_its_controllers() -> None:
    bad = []
    for item in imports():
        if not _within(item.importer, UI_PLAIN_PARTS) or \
                any(_within(item.importer, path) for path in UI_CORE_PATHS):
            continue
        if any(_within(item.target, core) for core in UI_FORBIDDEN):
            bad.append(_line(item, "widgets, dialogs and the renderer get data from the "
                                   "controllers, not the services"))
    assert bad == []


def _cycles() -> list[list[str]]:
    """Strongly connected groups of modules (Tarjan), each as one import path round it."""
    graph: dict[str, set[str]] = defaultdict(set)
    for item in imports():
        if not item.type_only and item.target in modules() and item.target != item.importer:
            graph[item.importer].add(item.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                group.append(top)
                if top == node:
                    break
            if len(group) > 1:
                groups.append(_path_round(sorted(group), graph))

    for node in sorted(modules()):
        if node not in index:
            visit(node)
    return groups


def _path_round(group: list[str], graph: dict[str, set[str]]) -> list[str]:
    """One cycle through the group's first module, found breadth-first: the shortest path."""
    start, members = group[0], set(group)
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for nxt in sorted(graph[node] & members):
            if nxt == start:
                return [*paths[node], start]
            if nxt not in paths:
                paths[nxt] = [*paths[node], nxt]
                queue.append(nxt)
    return group


def test_no_import_cycles() -> None:
    """No module imports itself back, through any chain (imports under TYPE_CHECKING aside)."""
    assert [" -> ".join(module_path(m) for m in cycle) for cycle in _cycles()] == []


@pytest.mark.parametrize(("module", "layer"), [
    ("app.ui.controllers.library", "app.ui"), ("app.store.store", "app.store"),
    ("app.usage", "app.usage"), ("app.cli.main", "app.cli"), ("app.main", "app.main"),
])
def test_layer_of(module: str, layer: str) -> None:
    assert layer_of(module) == layer
