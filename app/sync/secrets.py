"""The sync passphrase and WebDAV credentials: environment (scripts) → keychain → 0600 file.

Kept exactly like the API key (`app.secret_store`), under their own names; never in SQLite,
never in a snapshot, never in an error text.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from app.secret_store import SecretStore
from app.sync.address import check_url, is_url
from app.sync.errors import CredentialsRejected, NoPassphrase, SyncError
from app.sync.targets import Target, WebDavTarget, folder_target

PASSPHRASE = "sync_passphrase"
WEBDAV_USER = "webdav_user"
WEBDAV_PASSWORD = "webdav_password"
PASSPHRASE_ENV = "STEPDESK_SYNC_PASSPHRASE"
USER_ENV, PASSWORD_ENV = "STEPDESK_WEBDAV_USER", "STEPDESK_WEBDAV_PASSWORD"


def _lookup(env: Mapping[str, str], var: str, name: str, config_dir: Path) -> str | None:
    value = env.get(var)
    if value:
        return value
    return SecretStore(config_dir).get(name).value


def sync_passphrase(env: Mapping[str, str], config_dir: Path) -> str:
    """Blocking (the keychain is asked with a timeout); NoPassphrase when there is none."""
    value = _lookup(env, PASSPHRASE_ENV, PASSPHRASE, config_dir)
    if not value:
        raise NoPassphrase(f"No sync passphrase: set {PASSPHRASE_ENV}, or set one in the "
                           "window (Settings → Sync), which keeps it in the keychain.")
    return value


def open_target(text: str, env: Mapping[str, str], config_dir: Path) -> Target:
    """A folder path or a WebDAV URL (credentials looked up for the latter). Blocking."""
    if not is_url(text):
        return folder_target(text)
    check_url(text)
    user = _lookup(env, USER_ENV, WEBDAV_USER, config_dir)
    password = _lookup(env, PASSWORD_ENV, WEBDAV_PASSWORD, config_dir)
    if not user or not password:
        raise CredentialsRejected(f"No WebDAV user and password: set {USER_ENV} and "
                                  f"{PASSWORD_ENV}, or save them in the window "
                                  "(Settings → Sync).")
    return WebDavTarget(text, user, password)


def save_secrets(config_dir: Path, values: Mapping[str, str], *, use_keychain: bool) -> str:
    """Keep each non-empty value under its name (`PASSPHRASE`, `WEBDAV_USER`, …) in the
    keychain or, opt-in, the 0600 file; returns where ("keychain" or "file"). Blocking."""
    from app.secret_store import SecretStoreError

    where = "keychain" if use_keychain else "file"
    for name, value in values.items():
        if not value:
            continue
        try:
            where = SecretStore(config_dir).set(name, value, use_keychain=use_keychain)
        except SecretStoreError:
            raise SyncError("The system keychain could not keep the sync secrets; tick "
                            "\"Keep them in a private file\" instead.") from None
    return where


def stored_secrets(env: Mapping[str, str], config_dir: Path
                   ) -> tuple[set[str], str | None, bool]:
    """Which secrets are known (from the environment or stored), the keychain's problem and
    whether any is kept in a 0600 file, for the Settings page: it says "kept" without ever
    showing a secret. Blocking."""
    store = SecretStore(config_dir)
    known: set[str] = set()
    problem = None
    in_file = False
    for var, name in ((PASSPHRASE_ENV, PASSPHRASE), (USER_ENV, WEBDAV_USER),
                      (PASSWORD_ENV, WEBDAV_PASSWORD)):
        if env.get(var):
            known.add(name)
            continue
        found = store.get(name)
        problem = problem or found.problem
        if found.value:
            known.add(name)
            in_file = in_file or found.source == "file"
    return known, problem, in_file
