"""The options registry: every option round-trips through SQLite, bad stored values fall back,
the environment wins, and Settings, the store, the engine and the CLI all follow the registry."""

from __future__ import annotations

import dataclasses
import typing
from pathlib import Path

import pytest

from app import options
from app.config import ConfigError, Settings, resolve_paths
from app.options import OPTIONS, OptionError
from app.services import open_core
from tests.clihelp import stepdesk

# A valid value other than the default, per option: a new option must add one here.
SAMPLES: dict[str, object] = {
    "base_url": "http://127.0.0.1:9/v1",
    "model": "step-3.5-flash",
    "effort": "high",
    "detail": "low",
    "api_style": "messages",
    "upload_media": False,
    "max_tokens": 4096,
    "proxy": "socks5://proxy.example:1080",
    "use_system_trust": True,
    "show_thinking_expanded": True,
    "read_timeout": 42.5,
    "appearance": "dark",
    "sync_target": "https://cloud.example.com/remote.php/dav/files/me/stepdesk",
    "sync_interval_minutes": 15,
    "sync_on_quit": True,
    "run_in_background": False,
    "capture_shortcut": "Ctrl+Alt+Shift+X",
    "quick_ask_shortcut": "off",
    "mark_up_captures": True,
    "background_note_shown": True,
}

# Stored text the option must refuse, per kind of damage (hand edits, an older or newer app).
GARBAGE: dict[str, list[str]] = {
    "base_url": ["ftp://x", "not a url", "https://"],
    "model": ["   "],
    "effort": ["extreme", "HIGH!", "0"],
    "detail": ["ultra"],
    "api_style": ["soap"],
    "upload_media": ["maybe", "2"],
    "max_tokens": ["-5", "0", "lots", "1.5"],
    "proxy": ["ftp://proxy", "proxy:3128"],
    "use_system_trust": ["sometimes"],
    "show_thinking_expanded": ["¿"],
    "read_timeout": ["-1", "0", "soon", "nan", "inf"],
    "appearance": ["purple"],
    "sync_target": ["ftp://x", "http://cloud.example.com/dav", "https://me:pw@x/dav",
                    "https://a b/dav", "x" * 10_000],
    "sync_interval_minutes": ["-1", "often", "99999999"],
    "sync_on_quit": ["perhaps"],
    "run_in_background": ["tray"],
    "capture_shortcut": ["S", "Ctrl+", "Hyper+S", "Ctrl+Alt"],
    "quick_ask_shortcut": ["none", "Alt+Ctrl"],
    "mark_up_captures": ["perhaps"],
    "background_note_shown": ["twice"],
}


def env_for(data_dir: Path, **extra: str) -> dict[str, str]:
    return {"STEPDESK_DATA_DIR": str(data_dir), **extra}


def test_samples_and_garbage_cover_every_option() -> None:
    keys = {option.key for option in OPTIONS}
    assert set(SAMPLES) == keys and set(GARBAGE) == keys
    assert len(keys) == len(OPTIONS), "two options share a key"


def test_settings_has_one_typed_attribute_per_option() -> None:
    names = {f.name for f in dataclasses.fields(Settings)} - {"paths", "no_proxy"}
    assert names == {option.key for option in OPTIONS}
    hints = typing.get_type_hints(Settings)
    for option in OPTIONS:
        field = next(f for f in dataclasses.fields(Settings) if f.name == option.key)
        assert field.default == option.default, option.key
        assert option.validate(option.default) == option.default, option.key
        allowed = typing.get_args(hints[option.key]) or (hints[option.key],)
        assert option.kind in allowed or typing.get_origin(hints[option.key]) is typing.Literal


@pytest.mark.parametrize("key", list(SAMPLES))
async def test_every_option_round_trips_through_sqlite(data_dir: Path, key: str) -> None:
    services = await open_core(env_for(data_dir))
    try:
        assert services.settings.value(key) == options.option(key).default
        await services.save_options({key: SAMPLES[key]})
        assert services.settings.value(key) == SAMPLES[key]
    finally:
        await services.aclose()
    reopened = await open_core(env_for(data_dir))
    try:
        assert reopened.settings.value(key) == SAMPLES[key]
        others = [o for o in OPTIONS if o.key != key]
        assert all(reopened.settings.value(o.key) == o.default for o in others)
    finally:
        await reopened.aclose()


@pytest.mark.parametrize(("key", "text"),
                         [(key, text) for key, texts in GARBAGE.items() for text in texts])
async def test_invalid_stored_values_fall_back_to_defaults(data_dir: Path, key: str,
                                                           text: str) -> None:
    services = await open_core(env_for(data_dir))
    try:
        await services.store.set_settings({key: text})
    finally:
        await services.aclose()
    reopened = await open_core(env_for(data_dir))
    try:
        assert reopened.settings.value(key) == options.option(key).default
    finally:
        await reopened.aclose()


def test_a_refused_value_is_one_sentence_naming_the_option() -> None:
    for key, texts in GARBAGE.items():
        option = options.option(key)
        for text in texts:
            with pytest.raises(OptionError) as raised:
                option.parse(text)
            message = str(raised.value)
            assert message.startswith(option.label) and message.endswith(".")
            assert "\n" not in message
    assert options.EFFORT.problem("high") is None
    assert options.EFFORT.problem("extreme") is not None
    assert options.UPLOAD_MEDIA.problem("yes") is not None  # a widget must pass a real bool
    with pytest.raises(OptionError):
        options.option("colour")


def test_environment_beats_stored_beats_default(tmp_path: Path) -> None:
    paths = resolve_paths({"STEPDESK_DATA_DIR": str(tmp_path)})
    stored = {"base_url": "http://stored.example/v1", "read_timeout": "30", "effort": "low"}
    env = {"STEP_BASE_URL": "http://env.example/v1/", "STEPDESK_READ_TIMEOUT": "7"}
    settings = Settings.resolve(env, stored, paths)
    assert settings.base_url == "http://env.example/v1"  # normalised: no trailing slash
    assert settings.read_timeout == 7.0 and settings.timeouts.read == 7.0
    assert settings.effort == "low"
    assert Settings.resolve({}, stored, paths).base_url == "http://stored.example/v1"
    assert Settings.resolve({}, {}, paths).base_url == options.DEFAULT_BASE_URL


def test_environment_wins_even_over_a_bad_stored_value(tmp_path: Path) -> None:
    paths = resolve_paths({"STEPDESK_DATA_DIR": str(tmp_path)})
    settings = Settings.resolve({"STEPDESK_READ_TIMEOUT": "9"}, {"read_timeout": "soon"}, paths)
    assert settings.read_timeout == 9.0


def test_a_proxy_chosen_in_settings_beats_the_sessions_proxy(tmp_path: Path) -> None:
    paths = resolve_paths({"STEPDESK_DATA_DIR": str(tmp_path)})
    env = {"HTTPS_PROXY": "http://env-proxy:3128", "NO_PROXY": "intranet, .corp"}
    chosen = Settings.resolve(env, {"proxy": "http://chosen:8080"}, paths)
    assert chosen.proxy == "http://chosen:8080"
    assert chosen.no_proxy == ("intranet", ".corp")
    assert Settings.resolve(env, {}, paths).proxy == "http://env-proxy:3128"
    assert Settings.resolve(env, {"proxy": "ftp://bad"}, paths).proxy == "http://env-proxy:3128"


@pytest.mark.parametrize(("variable", "value"), [
    ("STEP_BASE_URL", "ftp://nope"), ("STEPDESK_READ_TIMEOUT", "soon"),
    ("STEPDESK_READ_TIMEOUT", "-4"), ("HTTPS_PROXY", "proxy-without-scheme"),
])
def test_a_bad_environment_value_is_a_config_error(tmp_path: Path, variable: str,
                                                   value: str) -> None:
    paths = resolve_paths({"STEPDESK_DATA_DIR": str(tmp_path)})
    with pytest.raises(ConfigError, match=variable):
        Settings.resolve({variable: value}, {}, paths)


def test_with_changes_refuses_what_the_registry_refuses(tmp_path: Path) -> None:
    settings = Settings.resolve({}, {}, resolve_paths({"STEPDESK_DATA_DIR": str(tmp_path)}))
    assert settings.with_changes(effort="high").effort == "high"
    with pytest.raises(OptionError):
        settings.with_changes(effort="extreme")


async def test_save_options_writes_nothing_when_one_value_is_refused(data_dir: Path) -> None:
    services = await open_core(env_for(data_dir))
    try:
        with pytest.raises(OptionError):
            await services.save_options({"effort": "high", "detail": "ultra"})
        assert services.settings.effort == "medium"
        assert await services.store.get_settings(["effort", "detail"]) == {}
    finally:
        await services.aclose()


async def test_a_settings_change_reaches_the_engine(data_dir: Path, standin) -> None:
    from app.config import KeyLookup
    from tests.conftest import TEST_API_KEY

    services = await open_core(env_for(data_dir, STEP_BASE_URL=standin.base_url))
    try:
        services.key = KeyLookup(TEST_API_KEY, "environment")
        services.rebuild_client()
        engine = services.engine()
        await services.save_options({"effort": "high"})
        assert engine.settings.effort == "high"
        services.settings = services.settings.with_changes(detail="low")
        assert engine.settings.detail == "low"
    finally:
        await services.aclose()


def test_cli_settings_list_set_reset(data_dir: Path) -> None:
    base = "http://127.0.0.1:9/v1"
    listed = stepdesk(base, data_dir, "settings", "list")
    assert listed.code == 0
    assert [line.split()[0] for line in listed.out.splitlines()] == [o.key for o in OPTIONS]
    assert "environment" in next(line for line in listed.out.splitlines()
                                 if line.startswith("base_url"))
    assert stepdesk(base, data_dir, "settings", "set", "effort", "high").code == 0
    assert "high" in next(line for line in stepdesk(base, data_dir, "settings", "list")
                          .out.splitlines() if line.startswith("effort"))
    refused = stepdesk(base, data_dir, "settings", "set", "effort", "extreme")
    assert refused.code == 2 and refused.err.count("\n") == 1 and "Default effort" in refused.err
    assert stepdesk(base, data_dir, "settings", "set", "colour", "red").code == 2
    assert stepdesk(base, data_dir, "settings", "reset", "effort").code == 0
    assert "default" in next(line for line in stepdesk(base, data_dir, "settings", "list")
                             .out.splitlines() if line.startswith("effort"))


def test_main_routes_every_parser_command_to_the_cli() -> None:
    import re

    from app.cli.errors import CliError
    from app.cli.parser import build_parser
    from app.main import CLI_COMMANDS

    parser = build_parser()
    listed = re.search(r"\{([a-z,]+)\}", parser.format_usage())
    assert listed is not None and set(listed.group(1).split(",")) == CLI_COMMANDS
    for effort in options.EFFORT.values:
        assert parser.parse_args(["ask", "--effort", effort, "hi"]).effort == effort
    with pytest.raises(CliError):
        parser.parse_args(["ask", "--effort", "extreme", "hi"])


def test_a_shortcut_is_stored_in_one_spelling_and_off_turns_it_off() -> None:
    shortcut = options.CAPTURE_SHORTCUT
    assert shortcut.parse("shift+ctrl+alt+x") == "Ctrl+Alt+Shift+X"
    assert shortcut.parse(" super+space ") == "Meta+Space"
    assert shortcut.parse("alt+ctrl+PgUp") == "Ctrl+Alt+PgUp"  # a named key kept as typed
    assert shortcut.parse("ctrl++") == "Ctrl++"
    assert shortcut.parse("OFF") == options.SHORTCUT_OFF
    assert shortcut.to_text(shortcut.parse("Alt+F4")) == "Alt+F4"
    problem = options.QUICK_ASK_SHORTCUT.problem("Hyper+Q")
    assert problem is not None and problem.startswith("Quick ask shortcut must be a shortcut")
    assert "'Hyper' in 'Hyper+Q' is not a modifier" in problem and problem.count(".") == 1
