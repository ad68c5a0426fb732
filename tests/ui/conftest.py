"""Fixtures for window tests: a qasync loop on pytest-qt's QApplication, a window harness.

pytest-qt has no qasync support and a coroutine stepped by a nested Qt loop (`qtbot.wait`,
`waitSignal`) loses its running loop, so each test runs ONE `qloop.run_until_complete(...)`
scenario and waits for signals through futures (`until`, `next_signal`), as qasync's own
tests do.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ["QT_API"] = "pyside6"

from tests.conftest import TEST_API_KEY


@pytest.fixture
def qloop(qapp: Any) -> Iterator[asyncio.AbstractEventLoop]:
    """A qasync event loop bound to the test QApplication, closed after the test.

    Afterwards the test fails if it left a task running or a reference cycle holding a Qt
    object (see tests/cycles.py: such a cycle would be freed on a random thread).
    """
    import gc

    from app.ui.app import make_loop
    from tests.cycles import qt_cycles

    qapp.setQuitOnLastWindowClosed(False)
    loop = make_loop(qapp)
    asyncio.set_event_loop(loop)
    try:
        yield loop
    finally:
        try:
            pending = sorted(t.get_name() for t in asyncio.all_tasks(loop) if not t.done())
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            loop.close()
            asyncio.set_event_loop(None)
        cycles = qt_cycles()
        gc.collect()  # qasync's loop and its timers form a cycle: free it on this thread
        assert not pending, f"tasks left running: {', '.join(pending)}"
        assert not cycles, "\n".join(cycles)


@pytest.fixture
def gui_env(data_dir: Path, standin: Any) -> dict[str, str]:
    """The environment a window under test starts with: stand-in URL and key, own data dir."""
    return {"STEPDESK_DATA_DIR": str(data_dir), "STEP_BASE_URL": standin.base_url,
            "STEP_API_KEY": TEST_API_KEY}


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
