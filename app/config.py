"""Configuration, resolved once and passed down (no other module reads the environment).

Two stages, because the settings themselves live in SQLite:
1. `resolve_paths(env)` → where the data, config and logs live (needed to open the store);
2. `Settings.resolve(env, stored, paths)` → every preference, environment over stored values
   over defaults.
The API key is looked up separately (`resolve_api_key`) because the keychain can hang: it is
asked off the calling thread with a timeout, and never stored in SQLite.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import ClassVar, Literal
from urllib.parse import urlsplit

from app import options
from app.api.timeouts import Timeouts
from app.paths import Paths as Paths
from app.paths import resolve_paths as resolve_paths

DEFAULT_BASE_URL = options.DEFAULT_BASE_URL
DEFAULT_MODEL = options.DEFAULT_MODEL
EFFORTS = options.EFFORT.values
KEYRING_SERVICE = "stepdesk"
KEYRING_TIMEOUT_S = 2.0
KEY_NAME = "api_key"  # the API key's name in the secret store (keychain / key file)

ApiStyle = options.ApiStyle
log = logging.getLogger(__name__)


class ConfigError(Exception):
    """A setting has a value we cannot use; the message says which and why."""


@dataclass(frozen=True, slots=True)
class Settings:
    """The resolved preferences: one typed attribute per option of `app.options.OPTIONS`.

    Defaults, validation and the stored form live in the registry; this class only gives each
    option its static type (a test checks the attributes and the registry agree).
    """

    paths: Paths
    base_url: str = options.BASE_URL.default
    model: str = options.MODEL.default
    effort: str = options.EFFORT.default
    detail: str = options.DETAIL.default
    api_style: ApiStyle = options.API_STYLE.default
    upload_media: bool = options.UPLOAD_MEDIA.default
    max_tokens: int | None = options.MAX_TOKENS.default
    proxy: str | None = options.PROXY.default
    use_system_trust: bool = options.USE_SYSTEM_TRUST.default
    show_thinking_expanded: bool = options.SHOW_THINKING_EXPANDED.default
    read_timeout: float = options.READ_TIMEOUT.default
    appearance: str = options.APPEARANCE.default
    sync_target: str | None = options.SYNC_TARGET.default
    sync_interval_minutes: int = options.SYNC_INTERVAL_MINUTES.default
    sync_on_quit: bool = options.SYNC_ON_QUIT.default
    run_in_background: bool = options.RUN_IN_BACKGROUND.default
    capture_shortcut: str = options.CAPTURE_SHORTCUT.default
    quick_ask_shortcut: str = options.QUICK_ASK_SHORTCUT.default
    mark_up_captures: bool = options.MARK_UP_CAPTURES.default
    background_note_shown: bool = options.BACKGROUND_NOTE_SHOWN.default
    # From the environment only (not a preference): hosts the proxy must not be used for.
    no_proxy: tuple[str, ...] = ()

    # Keys of preferences stored in SQLite's settings table (readable by the CLI without Qt).
    STORED_KEYS: ClassVar[tuple[str, ...]] = tuple(option.key for option in options.OPTIONS)

    @classmethod
    def resolve(cls, env: Mapping[str, str], stored: Mapping[str, str], paths: Paths) -> Settings:
        """Environment beats stored values beats defaults.

        A bad value in the environment raises ConfigError (the user typed it for this run); a
        bad stored value is logged and replaced by the default, so an old or hand-edited
        database never stops the app.
        """
        values = {option.key: _resolve_option(option, env, stored) for option in options.OPTIONS}
        no_proxy = tuple(
            item.strip().lower()
            for item in (env.get("NO_PROXY") or env.get("no_proxy") or "").split(",")
            if item.strip()
        )
        return cls(paths=paths, no_proxy=no_proxy, **values)  # type: ignore[arg-type]

    @property
    def timeouts(self) -> Timeouts:
        return Timeouts(read=self.read_timeout)

    def value(self, key: str) -> object:
        """The current value of the option stored under `key` (for forms built from it)."""
        return getattr(self, options.option(key).key)

    def with_changes(self, **changes: object) -> Settings:
        """A copy with some options changed; raises OptionError for a value an option refuses."""
        checked = {key: options.BY_KEY[key].validate(value) if key in options.BY_KEY else value
                   for key, value in changes.items()}
        return replace(self, **checked)  # type: ignore[arg-type]

    def proxy_for(self, url: str) -> str | None:
        """The proxy to use for `url`: never for loopback, never for NO_PROXY hosts."""
        if not self.proxy:
            return None
        host = (urlsplit(url).hostname or "").lower()
        if _is_loopback(host):
            return None
        for entry in self.no_proxy:
            if entry == "*" or host == entry.lstrip(".") or host.endswith("." + entry.lstrip(".")):
                return None
        return self.proxy


def check_base_url(base_url: str) -> None:
    """Raise ConfigError (one sentence, the URL never quoted back) unless `base_url` is an
    http(s) address without credentials: the registry's rule for the base URL option."""
    problem = options.BASE_URL.problem(base_url)
    if problem:
        raise ConfigError(problem)


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _resolve_option(option: options.Option[object], env: Mapping[str, str],
                    stored: Mapping[str, str]) -> object:
    from_env = option.from_env(env)
    if from_env is not None and option.env_wins:
        return _from_environment(option, from_env)
    text = stored.get(option.key)
    if text is not None and text.strip():
        try:
            return option.parse(text)
        except options.OptionError as exc:
            log.warning("Ignoring the stored setting %s: %s", option.key, exc)
    if from_env is not None:
        return _from_environment(option, from_env)
    return option.default


def _from_environment(option: options.Option[object], text: str) -> object:
    try:
        return option.parse(text)
    except options.OptionError as exc:
        names = " / ".join(option.env)
        raise ConfigError(f"{names}: {exc}") from None


# ---------------------------------------------------------------------------------------------
# The API key: STEP_API_KEY → OS keychain (with a timeout) → opt-in 0600 key file → ask.


@dataclass(frozen=True, slots=True)
class KeyLookup:
    key: str | None
    source: Literal["environment", "keychain", "key file", "none"]
    keychain_problem: str | None = None  # why the keychain could not be used, for the UI


def resolve_api_key(env: Mapping[str, str], paths: Paths,
                    timeout: float = KEYRING_TIMEOUT_S) -> KeyLookup:
    """Find the API key in the documented order. Blocking for at most ~`timeout` seconds."""
    from app.secret_store import SecretStore

    key = (env.get("STEP_API_KEY") or "").strip()
    if key:
        return KeyLookup(key, "environment")
    found = SecretStore(paths.config_dir, timeout=timeout).get(KEY_NAME)
    if found.value:
        source: Literal["keychain", "key file"] = \
            "keychain" if found.source == "keychain" else "key file"
        return KeyLookup(found.value, source, found.problem)
    return KeyLookup(None, "none", found.problem)


def read_key_file(paths: Paths) -> str | None:
    from app.secret_store import SecretStore

    return SecretStore(paths.config_dir).read_file(KEY_NAME)


def store_api_key(key: str, paths: Paths, *, use_keychain: bool = True,
                  timeout: float = KEYRING_TIMEOUT_S) -> str:
    """Save the key in the keychain, or (opt-in) the 0600 key file. Returns where it went."""
    from app.api.keycheck import key_problem
    from app.secret_store import SecretStore, SecretStoreError

    key = key.strip()
    if not key:
        raise ConfigError("The API key is empty.")
    problem = key_problem(key)
    if problem:
        raise ConfigError(problem)
    try:
        where = SecretStore(paths.config_dir, timeout=timeout).set(
            KEY_NAME, key, use_keychain=use_keychain)
    except SecretStoreError:
        raise ConfigError("The system keychain could not store the key; "
                          "use the key file option instead.") from None
    return "keychain" if where == "keychain" else "key file"


def account_id(api_key: str) -> str:
    """A stable, non-reversible name for the account a key belongs to (uploads cache key)."""
    import hashlib

    return hashlib.sha256(api_key.encode("utf-8")).hexdigest()[:16]
