"""Every user preference declared once: key, type, default, validation, label (Picard's options).

`config.Settings` resolves them (environment over stored over defaults), the store's `settings`
table holds them as text under their key, the CLI takes its choices from them and the Settings
dialog is built from them. A new preference is one `Option(...)` line in `OPTIONS` plus its
typed attribute on `Settings` (a test fails if the two disagree) and, if the user may change it
in the window, its widget.

It sits at `config`'s level: it names `app.api.timeouts` (plain numbers, no httpx) for the read
timeout's default and `app.sync.address` (pure text rules) for the sync target, nothing else of
the app, and `api`, `media` and `store` never import it.
The capture options' shortcut grammar ("Ctrl+Alt+S") lives here too, so the CLI can check a
shortcut without Qt; the window's key grabs (`app.ui.capture.hotkeys`) parse with it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar
from urllib.parse import urlsplit

from app.api.timeouts import DEFAULT_READ_TIMEOUT_S

T = TypeVar("T")
ApiStyle = Literal["chat", "messages"]

DEFAULT_BASE_URL = "https://api.stepfun.ai/v1"
DEFAULT_MODEL = "step-3.7-flash"
TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off")


class OptionError(ValueError):
    """A value an option cannot take; the message is one sentence naming the option."""


@dataclass(frozen=True, slots=True)
class Choice:
    """One allowed value of a choice option, with what the user reads for it."""

    value: str
    label: str
    help: str = ""


def http_url(value: str) -> str | None:
    """An http(s) address without credentials: Step Desk sends the key itself, and a password
    in the URL would end up in logs, errors and the settings. The value is never quoted back."""
    try:
        parts = urlsplit(value)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return "is not a valid address"
    if parts.username or parts.password or "@" in parts.netloc:
        return ("contains a user name or password (user:password@…); remove them: "
                "Step Desk sends the API key itself")
    if parts.scheme not in ("http", "https") or not host:
        return "must be an http(s) address such as https://api.stepfun.ai/v1"
    if any(ord(ch) < 0x21 or ord(ch) == 0x7f for ch in value):
        return "contains spaces or control characters"
    return None


def proxy_url(value: str) -> str | None:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https", "socks5", "socks5h") or not parts.hostname:
        return "must be a URL such as http://proxy:3128"
    return None


def without_trailing_slash(value: str) -> str:
    return value.strip().rstrip("/")


def not_blank(value: str) -> str | None:
    return "must not be empty" if not value.strip() else None


def positive(value: float) -> str | None:
    return None if 0 < value < math.inf else "must be a positive number"


def minutes(value: int) -> str | None:
    return None if 0 <= value <= 7 * 24 * 60 else "must be 0 (off) to 10080 minutes (a week)"


def sync_target(value: str) -> str | None:
    from app.sync.address import target_problem

    return target_problem(value)
SHORTCUT_OFF = "off"
"""The stored value of a global shortcut the user turned off."""

MODIFIERS = {"ctrl": "ctrl", "control": "ctrl", "alt": "alt", "shift": "shift",
             "meta": "super", "super": "super", "win": "super", "cmd": "super"}
_MODIFIER_ORDER = ("ctrl", "alt", "shift", "super")


class BadSequence(ValueError):
    """A shortcut text that names no key, or an unknown modifier."""


def parse_sequence(sequence: str) -> tuple[frozenset[str], str]:
    """"Ctrl+Alt+S" → ({"ctrl", "alt"}, "s"): modifiers and one key, lower case."""
    parts = [p.strip() for p in sequence.replace(" ", "").split("+")]
    if sequence.rstrip().endswith("++"):
        parts = [*parts[:-2], "+"]
    if not parts or not parts[-1] or parts[-1].lower() in MODIFIERS:
        raise BadSequence(f"{sequence!r} names no key besides the modifiers.")
    mods = set()
    for part in parts[:-1]:
        mod = MODIFIERS.get(part.lower())
        if mod is None:
            raise BadSequence(f"{part!r} in {sequence!r} is not a modifier "
                              "(Ctrl, Alt, Shift, Super).")
        mods.add(mod)
    if not mods:
        raise BadSequence(f"{sequence!r} needs a modifier (Ctrl, Alt, Shift or Super) "
                          "so it does not take a key from every other app.")
    return frozenset(mods), parts[-1].lower()


def format_sequence(mods: frozenset[str], key: str) -> str:
    """({"ctrl", "shift"}, "s") → "Ctrl+Shift+S" (Qt's portable text; Super is "Meta")."""
    names = [{"super": "Meta"}.get(m, m.title()) for m in _MODIFIER_ORDER if m in mods]
    return "+".join([*names, key.upper() if len(key) == 1 else key[:1].upper() + key[1:]])


def shortcut(value: str) -> str | None:
    """A global shortcut's text, or "off"."""
    if value == SHORTCUT_OFF:
        return None
    try:
        parse_sequence(value)
    except BadSequence as exc:
        return f"must be a shortcut such as Ctrl+Alt+S, or off: {str(exc).rstrip('.')}"
    return None


def shortcut_text(value: str) -> str:
    """"OFF" → "off"; "alt+ctrl+s" → "Ctrl+Alt+S": modifiers in one order and spelling, a
    letter in capitals, a named key as typed (Qt reads "PgUp" in any case); bad text as is."""
    text = value.strip()
    if text.lower() == SHORTCUT_OFF:
        return SHORTCUT_OFF
    try:
        mods, key = parse_sequence(text)
    except BadSequence:
        return text  # `shortcut` says what is wrong with it
    typed = "+" if key == "+" else text.replace(" ", "").rsplit("+", 1)[-1]
    return format_sequence(mods, key if len(key) == 1 else typed)


@dataclass(frozen=True, slots=True)
class Option(Generic[T]):
    """One preference.

    Attributes:
        key: the name in SQLite's `settings` table and the attribute on `Settings`.
        kind: the Python type of a present value (`str`, `bool`, `int` or `float`).
        default: used when nothing valid is stored (None only for `optional` options).
        label: the Settings dialog's label for it.
        help: one sentence saying what it changes (tooltips, `--help`).
        choices: the allowed values (empty: any value `check` accepts).
        check: returns why a (parsed) value is unusable, or None when it is fine.
        env: environment variables that set it, the first one set wins.
        env_wins: whether the environment beats the stored value (the rule) or only fills in
            when nothing is stored (the proxy: a choice made in Settings beats the session's).
        optional: "" / None means "not set" (the value is then None).
        normalize: applied to a present value before it is checked (e.g. a trailing "/").
    """

    key: str
    kind: type
    default: T
    label: str
    help: str = ""
    choices: tuple[Choice, ...] = ()
    check: Callable[[Any], str | None] | None = None  # takes a present (non-None) value
    env: tuple[str, ...] = ()
    env_wins: bool = True
    optional: bool = False
    normalize: Callable[[T], T] | None = None

    @property
    def values(self) -> tuple[str, ...]:
        return tuple(choice.value for choice in self.choices)

    def parse(self, text: str | None) -> T:
        """Stored or typed text → a valid value; raises OptionError saying what is wrong."""
        if text is None or not text.strip():
            if self.optional:
                return None  # type: ignore[return-value]  # optional options default to None
            raise OptionError(f"{self.label}: a value is needed.")
        text = text.strip()
        value: object
        if self.kind is bool:
            lowered = text.lower()
            if lowered not in TRUE_WORDS + FALSE_WORDS:
                raise OptionError(f"{self.label}: {text!r} is not yes or no.")
            value = lowered in TRUE_WORDS
        elif self.kind in (int, float):
            try:
                value = self.kind(text)
            except ValueError:
                raise OptionError(f"{self.label}: {text!r} is not a number.") from None
        else:
            value = text
        return self.validate(value)

    def validate(self, value: object) -> T:
        """A Python value (from a widget, a caller) → the same value if this option takes it."""
        if value is None or value == "":
            if self.optional:
                return None  # type: ignore[return-value]
            raise OptionError(f"{self.label}: a value is needed.")
        if self.kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if type(value) is not self.kind:
            raise OptionError(f"{self.label}: expected {self.kind.__name__}, "
                              f"got {type(value).__name__}.")
        if self.normalize is not None:
            value = self.normalize(value)  # type: ignore[arg-type]
        if self.choices and value not in self.values:
            raise OptionError(f"{self.label}: {value!r} is not one of "
                              f"{', '.join(self.values)}.")
        problem = self.check(value) if self.check is not None else None
        if problem:
            raise OptionError(f"{self.label} {problem}.")
        return value  # type: ignore[return-value]

    def problem(self, value: object) -> str | None:
        """Why `value` is refused (one sentence), or None: for forms that show it inline."""
        try:
            self.validate(value)
        except OptionError as exc:
            return str(exc)
        return None

    def to_text(self, value: T) -> str | None:
        """The stored form of a valid value; None means "delete the row" (back to default)."""
        if value is None:
            return None
        if isinstance(value, bool):
            return "1" if value else "0"
        return str(value)

    def from_env(self, env: Mapping[str, str]) -> str | None:
        for name in self.env:
            if env.get(name):
                return env[name]
        return None


EFFORTS = (
    Choice("low", "Low", "Quick answers, simple Q&A"),
    Choice("medium", "Medium", "Default recommendation: balanced thinking"),
    Choice("high", "High", "Math, planning and code: thinks longest"),
)
DETAILS = (
    Choice("high", "High (default for step-3.7-flash)"),
    Choice("low", "Low (fewer tokens)"),
)
API_STYLES = (
    Choice("chat", "Chat Completions"),
    Choice("messages", "Messages (Anthropic-style)"),
)
APPEARANCES = (
    Choice("system", "Follow the system"),
    Choice("light", "Light"),
    Choice("dark", "Dark"),
)

BASE_URL: Option[str] = Option(
    "base_url", str, DEFAULT_BASE_URL, "Base URL", "Where the StepFun API is.",
    check=http_url, env=("STEP_BASE_URL",), normalize=without_trailing_slash)
MODEL: Option[str] = Option(
    "model", str, DEFAULT_MODEL, "Default model", "The model new conversations use.",
    check=not_blank)
EFFORT: Option[str] = Option(
    "effort", str, "medium", "Default effort", "How hard the model thinks by default.",
    choices=EFFORTS)
DETAIL: Option[str] = Option(
    "detail", str, "high", "Image detail", "How finely images are looked at.", choices=DETAILS)
API_STYLE: Option[ApiStyle] = Option(
    "api_style", str, "chat", "API style", "Which API shape requests use.", choices=API_STYLES)
UPLOAD_MEDIA: Option[bool] = Option(
    "upload_media", bool, True, "Upload media as files",
    "Upload attachments once (stepfile://) instead of inline base64 in every request.")
MAX_TOKENS: Option[int | None] = Option(
    "max_tokens", int, None, "Maximum answer tokens",
    "A cap on the answer's length (unset: the server's, unlimited).",
    check=positive, optional=True)
PROXY: Option[str | None] = Option(
    "proxy", str, None, "Proxy", "An HTTP(S) or SOCKS proxy for the API.",
    check=proxy_url, env=("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"),
    env_wins=False, optional=True)
USE_SYSTEM_TRUST: Option[bool] = Option(
    "use_system_trust", bool, False, "Use the system trust store",
    "Verify TLS with the operating system's certificates (corporate TLS interception).")
SHOW_THINKING_EXPANDED: Option[bool] = Option(
    "show_thinking_expanded", bool, False, "Thinking expanded by default",
    "Show the model's thinking expanded when a reply finishes.")
READ_TIMEOUT: Option[float] = Option(
    "read_timeout", float, DEFAULT_READ_TIMEOUT_S, "Read timeout (s)",
    "The longest silence tolerated in a streamed answer (video answers start late).",
    check=positive, env=("STEPDESK_READ_TIMEOUT",))
APPEARANCE: Option[str] = Option(
    "appearance", str, "system", "Appearance", "Light, dark, or as the system says.",
    choices=APPEARANCES)

# Sync (app/sync): where to, how often, and at quit. The passphrase and the WebDAV credentials
# are secrets (app/sync/secrets.py), never options: they are never in SQLite.
SYNC_TARGET: Option[str | None] = Option(
    "sync_target", str, None, "Sync target",
    "A folder (Syncthing, Dropbox, a USB disk) or a WebDAV https:// address.",
    check=sync_target, optional=True)
SYNC_INTERVAL_MINUTES: Option[int] = Option(
    "sync_interval_minutes", int, 0, "Sync every (minutes)",
    "How often the window syncs by itself (0: only on request and on quit).", check=minutes)
SYNC_ON_QUIT: Option[bool] = Option(
    "sync_on_quit", bool, False, "Sync on quit",
    "Sync once more when Step Desk quits (bounded: quitting never waits long).")
# Capture from anywhere (app/ui/capture, app/ui/background.py).
RUN_IN_BACKGROUND: Option[bool] = Option(
    "run_in_background", bool, True, "Keep running in the tray",
    "Closing the window leaves Step Desk in the tray (where one exists), so the global "
    "shortcuts keep working.")
CAPTURE_SHORTCUT: Option[str] = Option(
    "capture_shortcut", str, "Ctrl+Alt+S", "Capture shortcut",
    "The global shortcut that captures a screen region to ask about (off: none).",
    check=shortcut, normalize=shortcut_text)
QUICK_ASK_SHORTCUT: Option[str] = Option(
    "quick_ask_shortcut", str, "Ctrl+Alt+Space", "Quick ask shortcut",
    "The global shortcut that opens the quick-ask panel without a capture (off: none).",
    check=shortcut, normalize=shortcut_text)
MARK_UP_CAPTURES: Option[bool] = Option(
    "mark_up_captures", bool, False, "Mark up captures before sending",
    "Open each screen capture in the image editor before it is attached.")
BACKGROUND_NOTE_SHOWN: Option[bool] = Option(
    "background_note_shown", bool, False, "Tray note shown",
    "The one-time note that closing the window keeps Step Desk in the tray was shown "
    "(reset it to see it again).")

OPTIONS: tuple[Option[object], ...] = (
    BASE_URL, MODEL, EFFORT, DETAIL, API_STYLE, UPLOAD_MEDIA, MAX_TOKENS, PROXY,  # type: ignore[assignment]
    USE_SYSTEM_TRUST, SHOW_THINKING_EXPANDED, READ_TIMEOUT, APPEARANCE,
    SYNC_TARGET, SYNC_INTERVAL_MINUTES, SYNC_ON_QUIT,
    RUN_IN_BACKGROUND, CAPTURE_SHORTCUT, QUICK_ASK_SHORTCUT, MARK_UP_CAPTURES,
    BACKGROUND_NOTE_SHOWN,
)
BY_KEY: Mapping[str, Option[object]] = {option.key: option for option in OPTIONS}


def option(key: str) -> Option[object]:
    """The option stored under `key`; raises OptionError for a key nobody declared."""
    try:
        return BY_KEY[key]
    except KeyError:
        raise OptionError(f"There is no setting called {key!r}.") from None


def defaults() -> dict[str, object]:
    return {opt.key: opt.default for opt in OPTIONS}
