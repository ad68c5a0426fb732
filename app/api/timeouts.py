"""HTTP timeouts, in seconds: one definition for the client and the settings.

Kept apart from `client.py` so `app.config` can name it without importing httpx.
"""

from __future__ import annotations

from dataclasses import dataclass

# Video answers start late: the server downloads and reviews the video first, and reasoning
# can pause mid-stream; `read` is the longest silence tolerated.
DEFAULT_READ_TIMEOUT_S = 180.0


@dataclass(frozen=True, slots=True)
class Timeouts:
    connect: float = 10.0
    read: float = DEFAULT_READ_TIMEOUT_S
    write: float = 120.0
    pool: float = 10.0
