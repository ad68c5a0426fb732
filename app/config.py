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
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from app.api.timeouts import DEFAULT_READ_TIMEOUT_S, Timeouts

APP_NAME = "stepdesk"
DEFAULT_BASE_URL = "https://api.stepfun.ai/v1"
DEFAULT_MODEL = "step-3.7-flash"
EFFORTS = ("low", "medium", "high")
DETAILS = ("low", "high")
API_STYLES = ("chat", "messages")
APPEARANCES = ("system", "light", "dark")
KEYRING_SERVICE = "stepdesk"
KEYRING_TIMEOUT_S = 2.0
KEY_NAME = "api_key"  # the API key's name in the secret store (keychain / key file)

ApiStyle = Literal["chat", "messages"]


class ConfigError(Exception):
    """A setting has a value we cannot use; the message says which and why."""


@dataclass(frozen=True, slots=True)
class Paths:
    data_dir: Path
    config_dir: Path
    log_dir: Path

    @property
    def db_path(self) -> Path:
        return self.data_dir / "stepdesk.db"

    @property
    def blob_dir(self) -> Path:
        return self.data_dir / "media"

    @property
    def owner_dir(self) -> Path:
        return self.data_dir / "owners"

    @property
    def key_file(self) -> Path:
        return self.config_dir / "api_key"


def resolve_paths(env: Mapping[str, str]) -> Paths:
    """`STEPDESK_DATA_DIR` puts everything (data, config, logs) under one folder; tests use it."""
    override = env.get("STEPDESK_DATA_DIR")
    if override:
        root = Path(override).expanduser()
        return Paths(data_dir=root, config_dir=root / "config", log_dir=root / "logs")
    import platformdirs

    return Paths(
        data_dir=Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)),
        config_dir=Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)),
        log_dir=Path(platformdirs.user_log_dir(APP_NAME, appauthor=False)),
    )


@dataclass(frozen=True, slots=True)
class Settings:
    """Every preference with its default, declared once (Picard's options.py pattern)."""

    paths: Paths
    base_url: str = DEFAULT_BASE_URL
    model: str = DEFAULT_MODEL
    effort: str = "medium"
    detail: str = "high"
    api_style: ApiStyle = "chat"
    upload_media: bool = True
    max_tokens: int | None = None
    proxy: str | None = None
    no_proxy: tuple[str, ...] = ()
    use_system_trust: bool = False
    show_thinking_expanded: bool = False
    appearance: str = "system"  # "system" | "light" | "dark"
    timeouts: Timeouts = field(default_factory=Timeouts)

    # Keys of preferences stored in SQLite's settings table (readable by the CLI without Qt).
    STORED_KEYS = (
        "base_url", "model", "effort", "detail", "api_style", "upload_media", "max_tokens",
        "proxy", "use_system_trust", "show_thinking_expanded", "read_timeout",
        "appearance",
    )

    @classmethod
    def resolve(cls, env: Mapping[str, str], stored: Mapping[str, str], paths: Paths) -> Settings:
        """Environment beats stored values beats defaults; bad values raise ConfigError."""
        base_url = (env.get("STEP_BASE_URL") or stored.get("base_url") or DEFAULT_BASE_URL).strip()
        check_base_url(base_url)
        effort = stored.get("effort", "medium")
        detail = stored.get("detail", "high")
        api_style = stored.get("api_style", "chat")
        appearance = stored.get("appearance", "system")
        read_timeout = _positive_float(
            env.get("STEPDESK_READ_TIMEOUT") or stored.get("read_timeout"), DEFAULT_READ_TIMEOUT_S)
        max_tokens = stored.get("max_tokens")
        proxy = (stored.get("proxy") or env.get("HTTPS_PROXY") or env.get("https_proxy")
                 or env.get("ALL_PROXY") or env.get("all_proxy") or None)
        no_proxy = tuple(
            item.strip().lower()
            for item in (env.get("NO_PROXY") or env.get("no_proxy") or "").split(",")
            if item.strip()
        )
        return cls(
            paths=paths,
            base_url=base_url.rstrip("/"),
            model=stored.get("model") or DEFAULT_MODEL,
            effort=effort if effort in EFFORTS else "medium",
            detail=detail if detail in DETAILS else "high",
            api_style=api_style if api_style in API_STYLES else "chat",  # type: ignore[arg-type]
            upload_media=_flag(stored.get("upload_media"), True),
            max_tokens=int(max_tokens) if max_tokens and max_tokens.isdigit() else None,
            proxy=proxy,
            no_proxy=no_proxy,
            use_system_trust=_flag(stored.get("use_system_trust"), False),
            show_thinking_expanded=_flag(stored.get("show_thinking_expanded"), False),
            appearance=appearance if appearance in APPEARANCES else "system",
            timeouts=Timeouts(read=read_timeout),
        )

    def with_changes(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]

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
    """Refuse what is not an http(s) address, and credentials inside the URL: Step Desk sends
    the key itself, and a password in the URL would end up in logs, errors and the settings."""
    from app.redact import redact

    try:
        parts = urlsplit(base_url)
        host, user, password = parts.hostname, parts.username, parts.password
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise ConfigError(f"The base URL {redact(base_url)!r} is not a valid address.") from None
    if user or password or "@" in parts.netloc:
        raise ConfigError("The base URL contains a user name or password (user:password@…); "
                          "remove them: Step Desk sends the API key itself.")
    if parts.scheme not in ("http", "https") or not host:
        raise ConfigError(f"The base URL {redact(base_url)!r} is not an http(s) address.")
    if any(ord(ch) < 0x21 or ord(ch) == 0x7f for ch in base_url):
        raise ConfigError("The base URL contains spaces or control characters.")


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _flag(value: str | None, default: bool) -> bool:
    if value is None:
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def _positive_float(value: str | None, default: float) -> float:
    try:
        number = float(value) if value else default
    except ValueError:
        return default
    return number if number > 0 else default


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
