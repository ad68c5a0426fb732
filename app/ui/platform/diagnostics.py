"""The "Copy diagnostics" text: versions, platform, paths, last trace id — never a secret."""

from __future__ import annotations

import platform
import sys
from typing import TYPE_CHECKING

from PySide6.QtGui import QGuiApplication

from app.redact import redact, url_secrets
from app.safetext import visible

if TYPE_CHECKING:
    from app.ui.controllers.library import Library


def diagnostics(library: Library | None, trace_id: str | None) -> str:
    """What a bug report needs; `trace_id` is the last X-Trace-Id a turn saw."""
    import PySide6
    import qasync

    from app import __version__

    trace = (library.trace_id if library is not None else None) or trace_id
    screens = ", ".join(f"{s.name()} {s.size().width()}×{s.size().height()}"
                        f"@{s.devicePixelRatio():g}" for s in QGuiApplication.screens())
    lines = [
        f"Step Desk {__version__}",
        f"Python {sys.version.split()[0]} ({platform.python_implementation()})",
        f"PySide6 {PySide6.__version__}, Qt {PySide6.QtCore.qVersion()}, "
        f"qasync {getattr(qasync, '__version__', '?')}",
        f"Platform {platform.platform()} · Qt platform {QGuiApplication.platformName()}",
        f"Screens {screens}",
    ]
    if library is not None:
        key, settings = library.key, library.settings
        lines += [
            f"Data dir {library.services.paths.data_dir}",
            f"Base URL {settings.base_url} · model {settings.model} · "
            f"API style {settings.api_style} · proxy {settings.proxy or 'none'}",
            f"API key {'set' if key and key.key else 'missing'}"
            f"{f' (from the {key.source})' if key and key.key else ''}",
        ]
    lines.append(f"Last X-Trace-Id {trace or 'none'}")
    secrets: list[str] = []
    if library is not None:
        key = library.key
        secrets = [key.key] if key and key.key else []
        secrets += sorted(url_secrets(library.settings.proxy))
    # The one redaction function (a proxy with user:password@, a key pasted in a path).
    return visible(redact("\n".join(lines), secrets))
