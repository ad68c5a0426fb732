"""Session-scoped media for the media tests: generated once, on first use, into a temp dir.

Test modules load these fixtures with `pytest_plugins = ["tests.media_fixtures"]` (the lead
owns conftest.py). Files in the session dir are shared: tests must not modify them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests import media_factory as mf


class MediaSet:
    """Lazily generated, cached media files (each generator runs at most once a session)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._cache: dict[str, Path] = {}

    def get(self, key: str, make: Callable[[Path], Path]) -> Path:
        if key not in self._cache:
            folder = self.root / key
            folder.mkdir()
            self._cache[key] = make(folder)
        return self._cache[key]

    # Images ------------------------------------------------------------------------------
    @property
    def photo(self) -> Path:
        return self.get("photo", mf.photo_jpeg)

    @property
    def clean_jpeg(self) -> Path:
        return self.get("clean_jpeg", mf.clean_jpeg)

    @property
    def png_alpha(self) -> Path:
        return self.get("png_alpha", mf.png_alpha)

    @property
    def animated_gif(self) -> Path:
        return self.get("animated_gif", mf.animated_gif)

    # Videos ------------------------------------------------------------------------------
    @property
    def mp4(self) -> Path:
        return self.get("mp4", lambda d: mf.mp4_h264(d, seconds=2.0))

    @property
    def mp4_slow_start(self) -> Path:
        return self.get("mp4_slow_start", lambda d: mf.mp4_h264(d, faststart=False))

    @property
    def mov(self) -> Path:
        return self.get("mov", lambda d: mf.mov_h264(d, seconds=2.0))

    @property
    def mkv_hevc(self) -> Path:
        return self.get("mkv_hevc", mf.mkv_hevc)

    @property
    def webm_vp9(self) -> Path:
        return self.get("webm_vp9", mf.webm_vp9)

    @property
    def mp4_10bit(self) -> Path:
        return self.get("mp4_10bit", mf.mp4_10bit)

    @property
    def audio_only(self) -> Path:
        return self.get("audio_only", mf.audio_only_m4a)

    @property
    def long_video(self) -> Path:
        return self.get("long_video", mf.long_tiny_video)


@pytest.fixture(scope="session")
def media(tmp_path_factory: pytest.TempPathFactory) -> MediaSet:
    """Real media files generated on demand and shared by the whole session."""
    return MediaSet(tmp_path_factory.mktemp("media"))


@pytest.fixture
def work_dir(tmp_path: Path) -> Path:
    """Where intake writes the bytes to send (the blob store's tmp dir in the app)."""
    path = tmp_path / "work"
    path.mkdir()
    return path
