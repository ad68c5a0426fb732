"""The X desktop the gesture tests run on: two started at the same moment (two test runs on
one machine) get displays of their own."""

from __future__ import annotations

import contextlib
import shutil
import threading

import pytest

from tests.xdesk import Desk, x_desktop

pytestmark = pytest.mark.skipif(shutil.which("Xvfb") is None, reason="needs Xvfb")


def test_desks_started_together_take_different_displays() -> None:
    with contextlib.ExitStack() as stack:
        desks: list[Desk] = []
        errors: list[BaseException] = []
        started = threading.Barrier(2)

        def start() -> None:
            started.wait()
            try:
                desks.append(stack.enter_context(x_desktop(640, 480)))
            except BaseException as error:  # reported below, in the test's own thread
                errors.append(error)

        threads = [threading.Thread(target=start) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert not errors, errors
        assert len({desk.display for desk in desks}) == 2
        for desk in desks:
            assert desk.root_image().size == (640, 480)
