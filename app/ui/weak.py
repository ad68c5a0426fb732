"""Hooks handed to a longer-lived object without tying the two into a reference cycle.

A service that owns a controller and gives it its own bound methods as hooks makes a cycle
(service → controller → bound method → service). Python's collector frees such a cycle on
whatever thread triggers a collection, and a QObject destroyed off the GUI thread crashes Qt;
so hooks go over as `weakly(self.method)`: the owner is still freed by reference counting.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


def weakly(method: Callable[P, T]) -> Callable[P, T]:
    """A callable that calls the bound `method` while its object lives (ReferenceError
    after: an owner that is gone has no hooks to answer)."""
    ref = weakref.WeakMethod(method)
    name = method.__qualname__  # not `method` itself: that would hold its object

    def call(*args: P.args, **kwargs: P.kwargs) -> T:
        target = ref()
        if target is None:
            raise ReferenceError(f"{name}: its object is gone")
        return target(*args, **kwargs)

    return call
