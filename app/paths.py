"""Where Step Desk keeps its data, configuration and logs (`resolve_paths`).

A leaf of its own, apart from `app.config`: the window needs the data dir before its first
paint (its single-instance name, its saved geometry), and the settings' registry, which
`app.config` imports, is not needed until the store is open after it. `app.config`
re-exports both names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

APP_NAME = "stepdesk"


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
