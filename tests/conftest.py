"""The one conftest: every shared fixture (data dir, the API stand-in, a WebDAV server, the
window tests' qasync loop) and the checks that a test leaves nothing running.

Helpers for driving a window live in tests/ui/harness.py; they are functions, not fixtures.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from tests.sync.davserver import DavServer

# No test may reach a real keychain, a proxy, or a display.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["QT_API"] = "pyside6"
os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.null.Keyring"
for _var in ("STEP_API_KEY", "STEP_BASE_URL", "STEPDESK_DATA_DIR", "HTTPS_PROXY", "HTTP_PROXY",
             "https_proxy", "http_proxy", "ALL_PROXY", "all_proxy"):
    os.environ.pop(_var, None)

TEST_API_KEY = "sk-standin-test-key-0123456789abcdef"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A fresh Step Desk data dir for one test."""
    path = tmp_path / "data"
    path.mkdir()
    return path


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


@pytest.fixture
def dav(tmp_path: Path) -> Iterator[DavServer]:
    """A real WebDAV server (wsgidav + cheroot) on 127.0.0.1, for the sync tests."""
    from tests.sync.davserver import DavServer

    server = DavServer(tmp_path / "dav-root")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def standin() -> Iterator[object]:
    """A real HTTP stand-in of the StepFun API on 127.0.0.1, in its own thread."""
    from tests.standin import StandIn

    server = StandIn(api_key=TEST_API_KEY)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def child_processes() -> set[int]:
    """This process's children, zombies included, from /proc (Linux; empty elsewhere)."""
    me, found = os.getpid(), set()
    try:
        entries = os.listdir("/proc")
    except OSError:
        return found
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue  # gone meanwhile
        # pid (comm) state ppid …: comm may hold spaces and brackets, so split after the last ')'
        if int(stat[stat.rindex(b")") + 2:].split()[1]) == me:
            found.add(int(entry))
    return found


@pytest.fixture(autouse=True)
def leaves_nothing_running() -> Iterator[None]:
    """Fail a test that leaves a thread or a child process behind (napari's leak checks).

    A thread the test started gets a bounded join first: stopping is allowed to take a moment,
    never to be forgotten. Threads Python only knows as foreign (Qt's own, `_DummyThread`) are
    not counted; the window tests check their loop's tasks in `qloop` instead.
    """
    threads = set(threading.enumerate())
    children = child_processes()
    yield
    new = [t for t in threading.enumerate() if t not in threads and not _foreign(t)]
    for thread in new:
        thread.join(timeout=10)
    alive = sorted(t.name for t in new if t.is_alive())
    left = {pid for pid in child_processes() - children if not _process_wide(pid)}
    assert not alive, f"threads left running: {', '.join(alive)}"
    assert not left, f"child processes left running: {', '.join(map(_command, sorted(left)))}"


def _foreign(thread: threading.Thread) -> bool:
    """A thread not started by `threading` (a QThread running Python): Python names these
    "Dummy-N", keeps them alive and daemonic for ever, and they cannot be joined."""
    return thread.daemon and thread.name.startswith("Dummy-")


def _process_wide(pid: int) -> bool:
    """multiprocessing's resource tracker: started by the first "spawn" child, it serves
    every later one and lives as long as this process, by design."""
    return "multiprocessing.resource_tracker" in _command(pid)


def _command(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            words = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        return f"{pid} ({words})"
    except OSError:
        return str(pid)
