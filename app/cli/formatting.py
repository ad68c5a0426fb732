"""How the command line shows values (times) on the terminal."""

from __future__ import annotations

from datetime import datetime


def format_time(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M")
