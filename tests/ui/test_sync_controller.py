"""The sync schedule in the window: real syncs to a folder, an injected timer, failures that
stay shown until fixed and never stop the schedule."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from app.sync.engine import SyncReport
from app.sync.targets import FolderTarget
from app.ui.controllers.sync import SyncController
from tests.sync.devices import PASSPHRASE, Device
from tests.ui.sync_helpers import FakeTimer


def test_failures_stay_shown_and_the_schedule_keeps_going(qloop: Any, tmp_path: Path) -> None:
    async def scenario() -> None:
        device = await Device.open(tmp_path, "desk")
        other = await Device.open(tmp_path, "laptop")
        remote = FolderTarget(tmp_path / "remote")
        await other.chat("Set up elsewhere", "q", "r")
        await other.engine(remote).sync()
        passphrase = {"value": "typo in the passphrase"}

        async def run() -> SyncReport:
            return await device.engine(remote, passphrase=passphrase["value"]).sync()

        clock = iter([3600.0 * 10, 3600.0 * 10 + 60, 3600.0 * 11, 3600.0 * 12]).__next__
        timer = FakeTimer()
        controller = SyncController(run, timer=timer, clock=clock)
        shown: list[tuple[str, bool]] = []
        controller.statusChanged.connect(lambda text, failing: shown.append((text, failing)))
        controller.set_interval(15)
        assert timer.interval == 15 * 60_000
        try:
            timer.fire()
            await controller.wait()
            assert shown[-1][1] is True and "passphrase is wrong" in shown[-1][0]
            timer.fire()
            await controller.wait()
            assert shown[-1][1] is True and "(2 attempts)" in shown[-1][0]
            assert controller.scheduled  # a failure never stops the schedule
            passphrase["value"] = PASSPHRASE
            timer.fire()
            await controller.wait()
            assert shown[-1][1] is False and shown[-1][0].startswith("Synced at ")
            assert [t for t, *_ in await device.history()] == ["Set up elsewhere"]
            controller.set_interval(0)
            assert not controller.scheduled
        finally:
            await device.close()
            await other.close()

    qloop.run_until_complete(asyncio.wait_for(scenario(), 60))


def test_a_bug_in_the_sync_is_shown_not_swallowed(qloop: Any) -> None:
    async def broken() -> SyncReport:
        raise RuntimeError("boom")

    async def scenario() -> None:
        controller = SyncController(broken, timer=FakeTimer())
        controller.sync_now()
        await controller.wait()
        assert controller.failing and "internal error (RuntimeError)" in controller.status_text

    qloop.run_until_complete(scenario())
