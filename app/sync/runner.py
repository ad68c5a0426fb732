"""Building a `SyncEngine` from the services and the remembered settings (CLI and window).

The secret lookups block (keychain with a timeout), so they run in a thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import TYPE_CHECKING

from app.options import SYNC_INTERVAL_MINUTES, SYNC_ON_QUIT, SYNC_TARGET
from app.sync.engine import SyncEngine, SyncReport

if TYPE_CHECKING:
    from app.services import Services

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
