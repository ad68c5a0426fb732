"""Reference cycles that hold Qt objects, found the way napari's leak checks find leaks.

Python's cyclic collector frees a cycle on whichever thread happens to trigger a collection;
when a cycle holds a QObject and that thread is a worker (the store's, `asyncio.to_thread`),
Qt destroys the object off its thread and aborts or crashes. Step Desk keeps the collector on
(no process-wide `gc.disable`), so the window must not make such cycles: everything it drops
is freed by reference counting, on the GUI thread, at once. `qt_cycles()` is what the window
tests check after each scenario.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable

from PySide6.QtCore import QObject


def qt_cycles() -> list[str]:
    """Describe each unreachable reference cycle that holds a QObject of ours (one line each).

    Cycles among qasync's own objects are left out: its timer and the loop's handles refer to
    each other for as long as the loop exists, and the app's one loop lives as long as it.

    Collects once with `DEBUG_SAVEALL`, so the unreachable objects are kept for inspection,
    then frees them here (the GUI thread) with an ordinary collection.
    """
    gc.garbage.clear()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        gc.collect()
        found = list(gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    try:
        return [_describe(group) for group in _strongly_connected(found)
                if any(_ours(o) for o in group)]
    finally:
        del found
        gc.collect()


def _strongly_connected(objects: list[object]) -> Iterable[list[object]]:
    """Tarjan's strongly connected components of the reference graph among `objects`,
    keeping only real cycles (more than one object, or one that refers to itself)."""
    index_of = {id(o): i for i, o in enumerate(objects)}
    edges = [[index_of[id(r)] for r in gc.get_referents(o) if id(r) in index_of]
             for o in objects]
    order = [-1] * len(objects)
    low = [0] * len(objects)
    on_stack = [False] * len(objects)
    stack: list[int] = []
    counter = 0
    for root in range(len(objects)):
        if order[root] != -1:
            continue
        work = [(root, 0)]
        while work:
            node, edge = work.pop()
            if edge == 0:
                order[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack[node] = True
            if edge < len(edges[node]):
                work.append((node, edge + 1))
                nxt = edges[node][edge]
                if order[nxt] == -1:
                    work.append((nxt, 0))
                elif on_stack[nxt]:
                    low[node] = min(low[node], order[nxt])
                continue
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == order[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack[member] = False
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1 or node in edges[node]:
                    yield [objects[i] for i in group]


def _ours(thing: object) -> bool:
    return isinstance(thing, QObject) and not type(thing).__module__.startswith("qasync")


def _describe(group: list[object]) -> str:
    names = sorted({_name(o) for o in group if _ours(o) or callable(o)})
    return f"a cycle of {len(group)} objects through " + ", ".join(names[:12])


def _name(thing: object) -> str:
    qualname = getattr(thing, "__qualname__", None)
    if isinstance(qualname, str) and not isinstance(thing, type):
        return f"{type(thing).__name__} {qualname}"
    return type(thing).__name__
