"""Driving a real window in tests: one qasync scenario per test (the `qloop` fixture, in
tests/conftest.py), awaiting signals and conditions through futures.

pytest-qt has no qasync support and a coroutine stepped by a nested Qt loop (`qtbot.wait`,
`waitSignal`) loses its running loop, so each test runs ONE `qloop.run_until_complete(...)`
scenario and waits for signals through futures (`until`, `next_signal`), as qasync's own
tests do.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any


async def until(predicate: Callable[[], object], timeout: float = 10.0,
                what: str = "condition") -> None:
    """Let the loop run until `predicate()` is true (polling; no nested Qt loop)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def next_signal(signal: Any, trigger: Callable[[], object] | None = None,
                      timeout: float = 10.0) -> tuple[Any, ...]:
    """Await the next emission of a Qt signal (optionally after calling `trigger`)."""
    future: asyncio.Future[tuple[Any, ...]] = asyncio.get_running_loop().create_future()

    def fire(*args: Any) -> None:
        if not future.done():
            future.set_result(args)

    signal.connect(fire)
    try:
        if trigger is not None:
            trigger()
        return await asyncio.wait_for(future, timeout)
    finally:
        signal.disconnect(fire)


async def open_window(env: dict[str, str], files: list[Path] | None = None) -> Any:
    """A shown MainWindow with its controllers (what `run_gui` does, minus the loop)."""
    from app.ui.app import build_window, make_application, start

    make_application()
    window = build_window(Path(env["STEPDESK_DATA_DIR"]))
    window.show()
    await start(window, env, list(files or []))
    return window


async def close_window(window: Any, timeout: float = 5.0) -> float:
    """Close like the user does; returns the seconds the clean shutdown took."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    await next_signal(window.closed, window.close, timeout)
    window.deleteLater()
    await asyncio.sleep(0)
    return loop.time() - started


def run(loop: asyncio.AbstractEventLoop, scenario: Awaitable[Any], timeout: float = 60.0) -> Any:
    """Run one scenario coroutine on the qasync loop, bounded."""
    return loop.run_until_complete(asyncio.wait_for(scenario, timeout))
