"""The Linux packages, end to end: one build command, then the frozen app as a user gets it.

Builds with resources/packaging/build_linux.sh (PyInstaller bundle, .tar.gz, .deb) once per
module, runs `--smoke-test` on the frozen binary (offscreen, and on Xvfb with the xcb
platform when xvfb-run exists), unpacks the .deb with `dpkg-deb -x` and runs `stepdesk
--version` and `stepdesk ask --file …` from there against the API stand-in.

About 1.5–2 minutes on 2 cores, nearly all of it PyInstaller. The quick suite skips it with
STEPDESK_SKIP_PACKAGING=1; `.ci/run` runs it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from app import __version__
from tests.conftest import TEST_API_KEY

ROOT = Path(__file__).resolve().parents[1]
BUILD_SCRIPT = ROOT / "resources" / "packaging" / "build_linux.sh"
BUNDLE_BUDGET = 250 * 1024 * 1024
DEB_BUDGET = 90 * 1024 * 1024

pytestmark = [
    pytest.mark.packaging,
    pytest.mark.slow,
    pytest.mark.skipif(os.environ.get("STEPDESK_SKIP_PACKAGING") == "1",
                       reason="STEPDESK_SKIP_PACKAGING=1 (quick suite)"),
    pytest.mark.skipif(not sys.platform.startswith("linux"),
                       reason="builds the Linux packages; other systems: see the CI workflow"),
]


@dataclass(frozen=True)
class Built:
    bundle: Path
    tarball: Path
    deb: Path
    log: str


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """Run the one-command Linux build into a temporary folder (once for this module)."""
    if importlib_missing("PyInstaller"):
        pytest.fail("PyInstaller is missing: install the build extra (pip install -e '.[build]')"
                    " or set STEPDESK_SKIP_PACKAGING=1")
    if shutil.which("dpkg-deb") is None:
        pytest.fail("dpkg-deb is missing (apt-get install dpkg), or set STEPDESK_SKIP_PACKAGING=1")
    out = tmp_path_factory.mktemp("packaging")
    env = dict(os.environ, PYTHON=sys.executable, DIST_DIR=str(out / "dist"),
               BUILD_DIR=str(out / "build"))
    proc = subprocess.run([str(BUILD_SCRIPT)], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=900)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"build_linux.sh failed:\n{log[-4000:]}"
    dist = out / "dist"
    (tarball,) = dist.glob(f"stepdesk-{__version__}-linux-*.tar.gz")
    (deb,) = dist.glob(f"stepdesk_{__version__}_*.deb")
    return Built(dist / "stepdesk", tarball, deb, log)


def importlib_missing(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is None


def tree_size(path: Path) -> int:
    return sum(p.lstat().st_size for p in path.rglob("*") if p.is_file() or p.is_symlink())


def run(argv: list[str], *, env: dict[str, str] | None = None, timeout: float = 60,
        cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout,
                          cwd=cwd)


def test_bundle_and_deb_stay_within_size_budgets(built: Built) -> None:
    bundle_size = tree_size(built.bundle)
    assert bundle_size <= BUNDLE_BUDGET, f"bundle is {bundle_size / 2**20:.0f} MB"
    deb_size = built.deb.stat().st_size
    assert deb_size <= DEB_BUDGET, f".deb is {deb_size / 2**20:.0f} MB"
    internal = built.bundle / "_internal"
    # Left out on purpose (bundle.py): Qt translations, other bindings, unused Qt modules.
    assert not list(internal.rglob("translations/*.qm"))
    assert not list(internal.glob("PyQt*")) and not (internal / "tkinter").exists()
    assert not list((internal / "PySide6").glob("QtQml*"))
    # Included on purpose: the platform plugins and the FFmpeg libraries.
    platforms = {p.name for p in (internal / "PySide6" / "Qt" / "plugins" / "platforms").iterdir()}
    assert {"libqxcb.so", "libqoffscreen.so"} <= platforms
    assert list((internal / "av.libs").glob("libavcodec*"))


def test_licences_are_collected_into_the_bundle(built: Built) -> None:
    licences = built.bundle / "_internal" / "licenses"
    notices = (licences / "NOTICES.txt").read_text(encoding="utf-8")
    for name in ("Qt", "FFmpeg", "x264", "pillow", "PySide6_Essentials", "av ",
                 "httpx", "keyring", "Python"):
        assert name in notices, name
    for text in ("LGPL-3.0.txt", "GPL-3.0.txt", "GPL-2.0.txt", "pillow/LICENSE"):
        assert (licences / text).is_file(), text


def test_frozen_smoke_test_offscreen(built: Built) -> None:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    proc = run([str(built.bundle / "stepdesk"), "--smoke-test"], env=env, cwd=built.bundle.parent)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert "frozen=True" in proc.stdout
    assert "stepdesk smoke test passed" in proc.stdout


@pytest.mark.skipif(shutil.which("xvfb-run") is None, reason="xvfb-run is not installed")
def test_frozen_smoke_test_on_xvfb_with_xcb(built: Built) -> None:
    env = dict(os.environ, QT_QPA_PLATFORM="xcb")
    proc = run(["xvfb-run", "-a", str(built.bundle / "stepdesk"), "--smoke-test"], env=env)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert "platform xcb" in proc.stdout


def test_deb_installs_a_working_cli_desktop_entry_and_icons(
        built: Built, standin, tmp_path: Path) -> None:
    root = tmp_path / "root"
    subprocess.run(["dpkg-deb", "-x", str(built.deb), str(root)], check=True, timeout=120)
    depends = run(["dpkg-deb", "-f", str(built.deb), "Depends"]).stdout
    assert "libxcb-cursor0" in depends and "libxkbcommon-x11-0" in depends
    assert (root / "opt" / "stepdesk" / "stepdesk").is_file()
    desktop = (root / "usr" / "share" / "applications" / "stepdesk.desktop").read_text()
    assert "Exec=stepdesk %F" in desktop
    assert "image/png;" in desktop and "video/mp4;" in desktop
    assert "[Desktop Action capture]" in desktop and "Exec=stepdesk capture --region" in desktop
    assert (root / "usr/share/icons/hicolor/256x256/apps/stepdesk.png").is_file()
    assert (root / "usr/share/icons/hicolor/scalable/apps/stepdesk.svg").is_file()

    stepdesk = root / "usr" / "bin" / "stepdesk"
    assert stepdesk.is_symlink()
    version = run([str(stepdesk), "--version"])
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip() == f"stepdesk {__version__}"

    picture = tmp_path / "chart.png"
    make_png(picture)
    standin.reply("The chart rises.")
    env = dict(os.environ, STEP_API_KEY=TEST_API_KEY, STEP_BASE_URL=standin.base_url,
               STEPDESK_DATA_DIR=str(tmp_path / "data"))
    answer = run([str(stepdesk), "ask", "--effort", "low", "--file", str(picture),
                  "What does the chart show?"], env=env, cwd=tmp_path)
    assert answer.returncode == 0, answer.stderr
    assert "The chart rises." in answer.stdout
    assert len(standin.upload_requests()) == 1  # the image went through the frozen intake
    history = run([str(stepdesk), "history", "list"], env=env, cwd=tmp_path)
    assert history.returncode == 0 and "What does the chart show" in history.stdout


def make_png(path: Path) -> None:
    from PIL import Image

    Image.new("RGB", (64, 48), (200, 40, 40)).save(path, "PNG")
