"""Collect the licence texts of everything frozen into the bundle, plus one notices file.

Why generated at build time rather than committed: the texts must match the exact versions
that were bundled, and the installed distributions carry them (`*.dist-info/licenses/`).
Only the texts the notices refer to are committed (resources/licenses/): the GNU ones for Qt
and FFmpeg, because the PySide6 wheels do not ship them, and the licences of the two fonts the
math typesetter bundles (its wheels ship only their code's MIT licence).

Used by build.spec (with the distributions the analysis actually collected) and runnable on
its own to preview the result:

    python resources/packaging/collect_licenses.py OUT_DIR [DIST ...]
"""

from __future__ import annotations

import importlib.metadata as md
import shutil
import sys
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GNU_TEXTS = ROOT / "resources" / "licenses"
DEFAULT_DISTS = (
    "PySide6-Essentials", "shiboken6", "qasync", "httpx", "httpcore", "h11",
    "anyio", "idna", "certifi", "Pillow", "pi-heif", "av", "platformdirs", "keyring",
    "jaraco.classes", "jaraco.functools", "jaraco.context", "more-itertools", "SecretStorage",
    "jeepney", "cryptography", "cffi", "markdown-it-py", "mdurl", "Pygments", "truststore",
    "mdit-py-plugins", "ziamath", "ziafont", "latex2mathml",
)

QT_NOTICE = """Qt {qt} and PySide6 / Shiboken6 {pyside} (The Qt Company) are used under the GNU
Lesser General Public License v3 (LGPL-3.0-only; texts: LGPL-3.0.txt and GPL-3.0.txt). They are
shipped unmodified as separate shared libraries (PySide6/Qt/lib, Qt*.dll or Qt*.framework in this
folder), so you may replace them with your own build of the same version. Sources:
https://download.qt.io/official_releases/qt/ and https://code.qt.io/cgit/pyside/pyside-setup.git/
(tag v{pyside}).
"""

FFMPEG_NOTICE = """FFmpeg (libavcodec {avcodec}, libavformat, libavutil, libswscale, …) comes
with PyAV {pyav} as shared libraries (av.libs / the av package folder). Its build reports the
licence "{licence}" (texts: LGPL-3.0.txt, GPL-3.0.txt). That build also links x264 and x265, which
are licensed under the GNU GPL version 2 or later (GPL-2.0.txt), so whoever distributes this bundle
must offer the corresponding source of those libraries (https://github.com/PyAV-Org/pyav-ffmpeg
builds them; https://ffmpeg.org, https://code.videolan.org/videolan/x264,
https://bitbucket.org/multicoreware/x265_git). Configuration of the bundled build:
{configuration}
"""

FONTS_NOTICE = """Fonts inside the math typesetter: STIX Two Math (ziamath/fonts; The STIX Fonts
project, SIL Open Font License 1.1, text: OFL-1.1.txt) and DejaVu Sans (ziafont/fonts; Bitstream
Vera licence with public-domain DejaVu changes, text: Bitstream-Vera.txt).
"""

PYTHON_NOTICE = """Python {version} (Python Software Foundation License; text: Python-LICENSE.txt).
"""


def _licence_of(dist: md.Distribution) -> str:
    meta = dist.metadata
    expression = meta.get("License-Expression") or ""
    if expression:
        return expression
    text = (meta.get("License") or "").strip()
    if text and "\n" not in text and len(text) < 80:
        return text
    classifiers = [c.rsplit("::", 1)[-1].strip() for c in meta.get_all("Classifier") or []
                   if c.startswith("License ::")]
    return " / ".join(classifiers) or "see the files below"


def _licence_files(dist: md.Distribution) -> list[Path]:
    found = []
    for entry in dist.files or ():
        name = entry.name.upper()
        if entry.suffix in (".py", ".pyc") or "__pycache__" in str(entry):
            continue
        if any(word in name for word in ("LICEN", "COPYING", "NOTICE", "AUTHORS")):
            path = Path(str(entry.locate()))
            if path.is_file():
                found.append(path)
    return found


def _qt_versions() -> tuple[str, str]:
    try:
        import PySide6
        from PySide6 import QtCore
    except ImportError:
        return "?", "?"
    return QtCore.qVersion(), PySide6.__version__


def _ffmpeg_notice() -> str | None:
    try:
        import av
        from av._core import library_meta
    except ImportError:
        return None
    codec = library_meta["libavcodec"]
    return FFMPEG_NOTICE.format(avcodec=codec["version"], pyav=av.__version__,
                                licence=codec["license"], configuration=codec["configuration"])


def collect(out_dir: Path, dists: Iterable[str] = DEFAULT_DISTS,
            system_libs: Iterable[str] = ()) -> Path:
    """Copy every licence file into `out_dir/<dist>/` and write `out_dir/NOTICES.txt`.

    `system_libs` are paths of libraries copied from the build machine (OpenSSL, SQLite, …
    that Python links to); on Debian-like systems their packages' copyright files are copied
    too. Returns the notices file. Raises `LookupError` when a named distribution is not
    installed (a bundle without its licence must not be built silently).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    lines = ["Step Desk bundles the following third-party software.", ""]
    qt, pyside = _qt_versions()
    lines += [QT_NOTICE.format(qt=qt, pyside=pyside)]
    ffmpeg = _ffmpeg_notice()
    if ffmpeg:
        lines += [ffmpeg]
    python_licence = Path(sys.base_prefix) / "lib" / f"python{sys.version_info[0]}."\
        f"{sys.version_info[1]}" / "LICENSE.txt"
    if not python_licence.is_file():
        python_licence = Path(sys.base_prefix) / "LICENSE.txt"  # Windows layout
    if python_licence.is_file():
        shutil.copyfile(python_licence, out_dir / "Python-LICENSE.txt")
    lines += [PYTHON_NOTICE.format(version=sys.version.split()[0])]
    if "ziamath" in {name.lower() for name in dists}:
        lines += [FONTS_NOTICE]
    for text in sorted(GNU_TEXTS.glob("*.txt")):
        shutil.copyfile(text, out_dir / text.name)
    lines += ["Python packages (name version — licence — files):", ""]
    for name in sorted(set(dists), key=str.lower):
        try:
            dist = md.distribution(name)
        except md.PackageNotFoundError:
            raise LookupError(f"{name} is bundled but not installed; cannot collect its "
                              "licence") from None
        target = out_dir / dist.metadata["Name"]
        copied = []
        for path in _licence_files(dist):
            target.mkdir(exist_ok=True)
            shutil.copyfile(path, target / path.name)
            copied.append(f"{target.name}/{path.name}")
        if not copied and dist.metadata["Name"].lower().startswith(("pyside6", "shiboken6")):
            copied = ["LGPL-3.0.txt", "GPL-3.0.txt (see the Qt notice above)"]
        files = ", ".join(copied) or "(no licence file shipped; see the project page)"
        lines.append(f"- {dist.metadata['Name']} {dist.version} — {_licence_of(dist)} — {files}")
    lines += _system_notices(out_dir, system_libs)
    notices = out_dir / "NOTICES.txt"
    notices.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return notices


def _system_notices(out_dir: Path, libraries: Iterable[str]) -> list[str]:
    """One line per library from the build machine, with its package's copyright file."""
    import subprocess

    libraries = sorted(set(libraries))
    if not libraries:
        return []
    lines = ["", "Libraries copied from the build system (package — copyright file):", ""]
    dpkg = shutil.which("dpkg")
    for library in libraries:
        name, package, copied = Path(library).name, "", ""
        for path in _path_variants(library) if dpkg else ():
            found = subprocess.run([dpkg, "-S", path], capture_output=True, text=True,
                                   check=False).stdout
            package = found.split(":", 1)[0].strip() if found else ""
            if package:
                break
        copyright_file = Path("/usr/share/doc") / package / "copyright"
        if package and copyright_file.is_file():
            (out_dir / "system").mkdir(exist_ok=True)
            shutil.copyfile(copyright_file, out_dir / "system" / f"{package}.copyright")
            copied = f"system/{package}.copyright"
        lines.append(f"- {name} — {package or 'unknown package'} — {copied or 'see its project'}")
    return lines


def _path_variants(library: str) -> list[str]:
    """dpkg knows a file by the path its package installed (merged /usr: /lib vs /usr/lib)."""
    paths = []
    for path in (library, str(Path(library).resolve())):
        paths += [path, path.removeprefix("/usr") if path.startswith("/usr/") else "/usr" + path]
    return list(dict.fromkeys(paths))


def dists_for_modules(top_level: Iterable[str]) -> set[str]:
    """Distribution names that provide these top-level modules (unknown ones are skipped)."""
    mapping = md.packages_distributions()
    names: set[str] = set()
    for module in top_level:
        names.update(mapping.get(module, ()))
    return names


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    print(collect(Path(sys.argv[1]), sys.argv[2:] or DEFAULT_DISTS))
