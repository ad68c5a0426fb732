"""Building a `SyncEngine` from the services and the remembered settings (CLI and window),
and `SyncSetup`, the window's Qt-free side of Settings → Sync and "Restore from…".

The secret lookups block (keychain with a timeout), so they run in a thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from app.options import SYNC_INTERVAL_MINUTES, SYNC_ON_QUIT, SYNC_TARGET, option
from app.sync.engine import SyncEngine, SyncReport
from app.sync.errors import BadTarget
from app.sync.restore import Restored, restore_snapshot

if TYPE_CHECKING:
    from app.services import Services
    from app.sync.layout import SnapshotEntry

TARGET_SETTING = SYNC_TARGET.key
INTERVAL_SETTING = SYNC_INTERVAL_MINUTES.key
ON_QUIT_SETTING = SYNC_ON_QUIT.key


async def open_engine(services: Services, env: Mapping[str, str], target_text: str
                      ) -> SyncEngine:
    from app.sync.secrets import open_target, sync_passphrase

    config_dir = services.paths.config_dir
    target = await asyncio.to_thread(open_target, target_text, env, config_dir)
    try:
        passphrase = await asyncio.to_thread(sync_passphrase, env, config_dir)
    except BaseException:
        await target.aclose()
        raise
    return SyncEngine(services.store, services.blobs, target, passphrase,
                      data_dir=services.paths.data_dir)


async def sync_with_settings(services: Services, env: Mapping[str, str]) -> SyncReport | None:
    """One sync to the remembered target; None when no target is set."""
    text = await services.store.get_setting(TARGET_SETTING)
    if not text:
        return None
    engine = await open_engine(services, env, text)
    try:
        return await engine.sync()
    finally:
        await engine.target.aclose()


@dataclass(frozen=True)
class SyncChoice:
    """The Settings → Sync page's values; an empty secret means "keep the one stored"."""

    target: str | None
    interval_minutes: int
    on_quit: bool
    passphrase: str = ""
    webdav_user: str = ""
    webdav_password: str = ""
    use_file: bool = False  # secrets in the 0600 file instead of the keychain


@dataclass(frozen=True)
class Listing:
    """The target's snapshots, with what a restore dialog compares them to."""

    entries: list[SnapshotEntry]
    this_device: str
    here_hlc: int  # the local history's hybrid clock: an entry written before it is older


class SyncSetup:
    """What the window does with sync besides the schedule: keep the target, the schedule and
    the secrets, list the target's snapshots and restore one. Qt-free; every blocking call
    (keychain, Argon2) runs in a thread, the network on the event loop."""

    def __init__(self, services: Services, env: Mapping[str, str]) -> None:
        self.services = services
        self.env = env

    @property
    def target(self) -> str | None:
        return self.services.settings.sync_target

    @property
    def interval_minutes(self) -> int:
        return self.services.settings.sync_interval_minutes

    @property
    def on_quit(self) -> bool:
        return self.services.settings.sync_on_quit

    async def sync(self) -> SyncReport | None:
        return await sync_with_settings(self.services, self.env)

    async def secrets(self) -> tuple[set[str], str | None, bool]:
        from app.sync.secrets import stored_secrets

        return await asyncio.to_thread(stored_secrets, self.env, self.services.paths.config_dir)

    async def save(self, choice: SyncChoice) -> None:
        """Check every value, keep the secrets, then store the options (OptionError or
        SyncError, one sentence, before anything is written when a value is refused)."""
        from app.sync.secrets import PASSPHRASE, WEBDAV_PASSWORD, WEBDAV_USER, save_secrets

        changes: dict[str, object] = {TARGET_SETTING: choice.target or None,
                                      INTERVAL_SETTING: choice.interval_minutes,
                                      ON_QUIT_SETTING: choice.on_quit}
        for key, value in changes.items():
            option(key).validate(value)
        secrets = {PASSPHRASE: choice.passphrase, WEBDAV_USER: choice.webdav_user,
                   WEBDAV_PASSWORD: choice.webdav_password}
        if any(secrets.values()):
            await asyncio.to_thread(save_secrets, self.services.paths.config_dir, secrets,
                                    use_keychain=not choice.use_file)
        await self.services.save_options(changes)

    async def _engine(self) -> SyncEngine:
        if not self.target:
            raise BadTarget("Choose a sync folder or a WebDAV address first.")
        return await open_engine(self.services, self.env, self.target)

    async def snapshots(self) -> Listing:
        engine = await self._engine()
        try:
            entries = await engine.list_snapshots()
        finally:
            await engine.target.aclose()
        device, hlc, _seq = await self.services.store.sync_clock()
        return Listing(entries, device, hlc)

    async def restore(self, entry: SnapshotEntry) -> Restored:
        engine = await self._engine()
        try:
            return await restore_snapshot(engine, entry)
        finally:
            await engine.target.aclose()
