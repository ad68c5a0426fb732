"""The object graph below the window, built the same way for the CLI and the GUI.

`main.py` is the composition root; this module holds the pieces it composes so the CLI and the
window cannot drift apart (same paths, same settings resolution, same client options).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from app.config import KeyLookup, Paths, Settings, account_id, resolve_paths
from app.options import BY_KEY, OPTIONS

if TYPE_CHECKING:
    from app.api.client import StepClient
    from app.chat import ChatEngine
    from app.store import BlobStore, Store


class Services:
    """Store, blobs, settings, key, client and engine of one process.

    `settings` is the one current copy: assigning it (a saved Settings dialog, a new default
    effort) also reaches the engine, whose next turn runs with it.
    """

    def __init__(self, paths: Paths, settings: Settings, store: Store, blobs: BlobStore,
                 key: KeyLookup | None = None, client: StepClient | None = None) -> None:
        self.paths = paths
        self._settings = settings
        self.store = store
        self.blobs = blobs
        self.key = key
        self.client = client
        self._engine: ChatEngine | None = None

    @property
    def settings(self) -> Settings:
        return self._settings

    @settings.setter
    def settings(self, settings: Settings) -> None:
        self._settings = settings
        if self._engine is not None:
            self._engine.update_settings(settings, self._engine.snapshot().client,
                                         self._engine_account())

    def engine(self) -> ChatEngine:
        """The chat engine, built on first use (it needs a client, hence a key)."""
        if self._engine is None:
            from app.chat import ChatEngine

            if self.client is None or self.key is None or not self.key.key:
                raise RuntimeError("engine() needs an API key and a client")
            self._engine = ChatEngine(store=self.store, client=self.client, blobs=self.blobs,
                                      settings=self.settings, account=self._engine_account())
        return self._engine

    def _engine_account(self) -> str:
        return account_id(self.key.key) if self.key is not None and self.key.key else ""

    def rebuild_client(self) -> StepClient | None:
        """Build the one HTTP client for the current settings and key (None without a key).

        The old client, if any, is returned to the caller rather than closed here: a reply may
        still be streaming on it. A running engine is pointed at the new client.
        """
        old, self.client = self.client, None
        if self.key is not None and self.key.key:
            from app.api.keycheck import key_problem
            from app.logsetup import setup_logging
            from app.redact import url_secrets

            # Logs redact the key (even one we refuse) and the proxy's credentials.
            setup_logging(self.paths.log_dir, [self.key.key, *url_secrets(self.settings.proxy)])
            if key_problem(self.key.key):
                return old  # unusable: the window asks again, the CLI refused it already
            self.client = make_client(self.settings, self.key.key)
            if self._engine is not None:
                self._engine.update_settings(self.settings, self.client,
                                             account_id(self.key.key))
        return old

    async def save_options(self, changes: Mapping[str, object]) -> Settings:
        """Validate `changes` (option key → value) through the registry, store them in one
        transaction and make them the current settings; returns the new `Settings`.

        Raises OptionError (one sentence) for an unknown key or a refused value, before
        anything is written. A value equal to the option's default is stored anyway, so a
        later change of the default does not silently change a user's choice. The caller
        decides whether the client needs rebuilding (`rebuild_client`).
        """
        from app.options import option

        checked = {key: option(key).validate(value) for key, value in changes.items()}
        await self.store.set_settings({key: BY_KEY[key].to_text(value)
                                       for key, value in checked.items()})
        self.settings = self.settings.with_changes(**checked)
        return self.settings

    async def aclose(self) -> None:
        if self.client is not None:
            await self.client.aclose()
        await self.store.close()


async def open_core(env: Mapping[str, str] | None = None) -> Services:
    """Open the store (migrating / recovering as needed) and resolve the settings."""
    from app.store import BlobStore, Store

    env = os.environ if env is None else env
    paths = resolve_paths(env)
    await asyncio.to_thread(prepare_private_dirs, paths)
    store = await Store.open(paths.db_path, owner_dir=paths.owner_dir)
    try:
        stored = await store.get_settings([option.key for option in OPTIONS])
        settings = Settings.resolve(env, stored, paths)
    except BaseException:
        await store.close()
        raise
    try:
        blobs = BlobStore(paths.blob_dir)
        await asyncio.to_thread(blobs.collect_stale_temp)
    except OSError:
        blobs = BlobStore(paths.blob_dir, create=False)  # read-only data folder: reading works
    return Services(paths=paths, settings=settings, store=store, blobs=blobs)


def prepare_private_dirs(paths: Paths) -> None:
    """Create the data folder 0700 and tighten whatever an earlier version left wider.

    A read-only data folder is left as it is: reading still works.
    """
    from app.fsmodes import private_dir, tighten_tree

    try:
        private_dir(paths.data_dir)
    except OSError:
        if not paths.data_dir.is_dir():
            raise
    tighten_tree([paths.data_dir, paths.config_dir, paths.log_dir])


def make_client(settings: Settings, api_key: str) -> StepClient:
    """One shared HTTP client with the settings' timeouts, proxy and trust store."""
    from app.api.client import StepClient

    verify: object = True
    if settings.use_system_trust:
        import ssl

        import truststore

        verify = truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    return StepClient(
        base_url=settings.base_url,
        api_key=api_key,
        timeouts=settings.timeouts,
        proxy=settings.proxy_for(settings.base_url),
        verify=verify,  # type: ignore[arg-type]
    )
