"""What goes into the frozen bundle and what is left out; used by build.spec at build time.

Why a module beside the spec: the lists below are the decisions that keep the bundle lean
(≤ 250 MB unpacked, ≤ 90 MB as a .deb), and they are easier to read, review and test as plain
Python than as code inside the spec. Nothing here runs in the app itself.

PyInstaller's Qt hooks collect every plugin and translation that belongs to an imported Qt
module (QtGui alone brings eglfs, VNC, PDF image reading, a virtual keyboard that pulls in
Qt Quick, …). There is no hook option to narrow that, so `keep()` filters the collected
table of contents after the analysis.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

Entry = tuple[str, str, str]

APP_NAME = "Step Desk"
CLI_NAME = "stepdesk"
BUNDLE_ID = "ai.stepfun.stepdesk"

QT_MODULES_USED = frozenset({"QtCore", "QtGui", "QtWidgets", "QtNetwork", "QtDBus", "QtSvg"})
"""PySide6 modules app/ui imports (`grep -rh "from PySide6" app | sort -u`); add here when
the UI starts using another one, or the frozen app fails its smoke test."""

QT_MODULES_ALL = (
    "Qt3DAnimation", "Qt3DCore", "Qt3DExtras", "Qt3DInput", "Qt3DLogic", "Qt3DRender",
    "QtAxContainer", "QtBluetooth", "QtCharts", "QtConcurrent", "QtDataVisualization",
    "QtDesigner", "QtGraphs", "QtHelp", "QtHttpServer", "QtLabsStyleKit", "QtLocation",
    "QtMultimedia", "QtMultimediaWidgets", "QtNetworkAuth", "QtNfc", "QtOpenGL",
    "QtOpenGLWidgets", "QtPdf", "QtPdfWidgets", "QtPositioning", "QtPrintSupport", "QtQml",
    "QtQmlFeatures", "QtQuick", "QtQuick3D", "QtQuickControls2", "QtQuickTest",
    "QtQuickWidgets", "QtRemoteObjects", "QtScxml", "QtSensors", "QtSerialBus",
    "QtSerialPort", "QtSpatialAudio", "QtSql", "QtStateMachine", "QtSvg", "QtSvgWidgets",
    "QtTest", "QtTextToSpeech", "QtUiTools", "QtWebChannel", "QtWebEngineCore",
    "QtWebEngineQuick", "QtWebEngineWidgets", "QtWebSockets", "QtWebView", "QtXml",
)

EXCLUDED_MODULES = [
    # Other Qt bindings: qasync imports the first one it finds unless QT_API is set, so a
    # stray PyQt5 in the build venv would otherwise be frozen in (and tried first).
    "PyQt5", "PyQt6", "PySide2", "shiboken2",
    *(f"PySide6.{name}" for name in QT_MODULES_ALL if name not in QT_MODULES_USED),
    # Never used by the app; some are pulled in by optional code paths of libraries.
    "tkinter", "_tkinter", "PIL.ImageTk", "PIL.ImageQt", "numpy", "pytest", "_pytest",
    "pytestqt", "IPython", "matplotlib", "setuptools", "pip", "pydoc_data", "lib2to3",
    "unittest", "test", "xmlrpc", "PyInstaller",
]

# Plugin folders (under PySide6/Qt/plugins) dropped whole: input devices for eglfs/linuxfb,
# network reachability and TLS backends (HTTP goes through httpx, QtNetwork only serves the
# single-instance socket), printing, SQL drivers, QML tooling, Designer, Wayland compositors.
_DROP_PLUGIN_DIRS = frozenset({
    "generic", "egldeviceintegrations", "networkinformation", "tls", "printsupport",
    "sqldrivers", "qmltooling", "designer", "wayland-graphics-integration-server",
    "position", "multimedia", "canbus", "sensors", "scenegraph", "qmllint", "renderers",
    "vectorimageformats", "help",
})
# Within the folders kept, only these plugins (by stem, without "lib"/"q" prefixes and
# suffixes). Platforms: the desktop ones plus offscreen (smoke test, CI, headless use).
_KEEP_PLUGINS = {
    "platforms": {"xcb", "offscreen", "wayland", "windows", "cocoa"},
    "imageformats": {"gif", "ico", "jpeg", "svg", "webp"},
    "platforminputcontexts": {"composeplatforminputcontextplugin",
                              "ibusplatforminputcontextplugin"},
    "platformthemes": {"xdgdesktopportal"},  # gtk3 would drag the build machine's GTK in
}
# Qt libraries only the dropped plugins/modules need (they arrive via binary dependency
# analysis of those plugins, so excluding the Python module is not enough).
# Linux/Windows name them Qt6Pdf…, macOS frameworks QtPdf.framework/…/QtPdf.
_DROP_QT_LIBS = re.compile(
    r"(^|lib)Qt6?(Pdf|Qml|Quick|VirtualKeyboard|WaylandCompositor|EglFS|EglFsKms|Sql|Test|"
    r"Designer|Help|Labs|Lottie|ShaderTools|SvgWidgets|OpenGLWidgets|PrintSupport|"
    r"Concurrent|Xml|UiTools|3D|Multimedia|Positioning|WebEngine|WebChannel|WebSockets)",
)

# Linux libraries taken from the OS, never bundled: X11/xcb/xkb must match the X server,
# GL/EGL/DRM the GPU driver, fontconfig/freetype the font setup, glib/dbus/systemd the
# session, libstdc++/libgcc_s the newest one any system library (e.g. Mesa) needs.
LINUX_SYSTEM_LIBS = re.compile(
    r"lib(X11|X11-xcb|Xau|Xdmcp|Xext|Xrender|Xi|Xfixes|xcb|xcb-[a-z0-9-]+|xkbcommon|"
    r"xkbcommon-x11|fontconfig|freetype|harfbuzz|glib-2\.0|gobject-2\.0|gio-2\.0|"
    r"gmodule-2\.0|gthread-2\.0|dbus-1|systemd|gcrypt|gpg-error|lz4|wayland-[a-z]+|EGL|GL|"
    r"GLX|GLdispatch|OpenGL|drm|gbm|stdc\+\+|gcc_s|mvec|gssapi_krb5|krb5|krb5support|"
    r"k5crypto|com_err|keyutils|cap|udev|asound)\.so(\.|$)",
)


def _plugin_stem(filename: str) -> str:
    """`libqxcb.so` / `qwindows.dll` / `libqcocoa.dylib` → `xcb` / `windows` / `cocoa`."""
    return filename.split(".", 1)[0].removeprefix("lib").removeprefix("q")


def keep(dest: str) -> bool:
    """Whether one collected file (its path inside the bundle) stays in the bundle."""
    path = PurePosixPath(dest.replace("\\", "/"))
    parts = path.parts
    if "translations" in parts and any(p in ("Qt", "Qt6") for p in parts):
        return False  # Qt's own UI translations: the app is English only for now
    if "plugins" in parts:
        i = parts.index("plugins")
        if len(parts) > i + 2:
            folder = parts[i + 1]
            if folder in _DROP_PLUGIN_DIRS:
                return False
            wanted = _KEEP_PLUGINS.get(folder)
            if wanted is not None and _plugin_stem(parts[-1]) not in wanted:
                return False
    if "qml" in parts and any(p in ("Qt", "Qt6") for p in parts):
        return False
    return not any(_DROP_QT_LIBS.search(part) for part in parts)


def filter_toc(toc: Iterable[Entry]) -> list[Entry]:
    """The TOC entries `keep()` accepts (PyInstaller TOCs are (dest, source, kind) tuples)."""
    return [entry for entry in toc if keep(entry[0])]


def _top_level_lib(dest: str) -> bool:
    return "/" not in dest and "\\" not in dest and dest.startswith("lib") \
        and not dest.startswith("libpython")


def _needed(path: str) -> list[str]:
    """The libraries one ELF file links to directly (its NEEDED entries; ldd would add the
    dependencies of system libraries too, which the OS provides with those libraries)."""
    import subprocess

    out = subprocess.run(["readelf", "-d", path], capture_output=True, text=True,
                         check=False).stdout
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)


def prune_linux(binaries: Iterable[Entry]) -> list[Entry]:
    """Leave out the libraries every Linux desktop provides, then every orphaned library.

    PyInstaller copies each system library a collected binary links to. Those listed in
    `LINUX_SYSTEM_LIBS` must match the running X server, GPU driver and font setup, so they
    come from the OS (the .deb's `Depends:` names their packages). After the plugin filter
    some copied libraries serve nothing at all (GTK's stack came with the dropped gtk3 theme,
    libpng with the system's freetype): only libraries a kept extension module, Qt library or
    plugin links to, directly or through other bundled libraries, stay. Needs binutils'
    readelf, which PyInstaller itself requires on Linux.
    """
    entries = [e for e in binaries if not (e[2] != "SYMLINK" and _top_level_lib(e[0])
                                           and LINUX_SYSTEM_LIBS.match(e[0]))]
    files = [e for e in entries if e[2] != "SYMLINK"]
    candidates = {e[0]: e for e in files if _top_level_lib(e[0])}
    needed: set[str] = set()
    queue = [e[1] for e in files if e[0] not in candidates]
    seen: set[str] = set()
    while queue:
        source = queue.pop()
        if source in seen:
            continue
        seen.add(source)
        for base in _needed(source):
            if base in candidates and base not in needed:
                needed.add(base)
                queue.append(candidates[base][1])
    kept = [e for e in files if e[0] not in candidates or e[0] in needed]
    kept_dests = {e[0] for e in kept}
    return kept + [e for e in entries if e[2] == "SYMLINK" and e[1] in kept_dests]


def windows_icon(pngs: list[Path], out: Path) -> Path:
    """A multi-size .ico from the window's PNG icons (generated at build time, not committed)."""
    from PIL import Image

    images = [Image.open(p) for p in sorted(pngs, key=lambda p: Image.open(p).width)]
    largest = images[-1]
    out.parent.mkdir(parents=True, exist_ok=True)
    largest.save(out, format="ICO", sizes=[im.size for im in images], append_images=images)
    return out


def macos_icon(pngs: list[Path], out: Path) -> Path:
    """An .icns from the largest PNG icon (Pillow writes the sizes macOS asks for)."""
    from PIL import Image

    largest = max((Image.open(p) for p in pngs), key=lambda im: im.width)
    out.parent.mkdir(parents=True, exist_ok=True)
    largest.save(out, format="ICNS")
    return out


def windows_version_file(version: str, out: Path) -> Path:
    """The VERSIONINFO resource for the .exe files (Explorer's Details tab)."""
    numbers = [int(n) for n in re.findall(r"\d+", version)[:4]]
    numbers += [0] * (4 - len(numbers))
    tup = tuple(numbers)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(f"""VSVersionInfo(
  ffi=FixedFileInfo(filevers={tup}, prodvers={tup}, mask=0x3f, flags=0x0, OS=0x40004,
                    fileType=0x1, subtype=0x0, date=(0, 0)),
  kids=[StringFileInfo([StringTable('040904B0', [
      StringStruct('CompanyName', 'Step Desk'),
      StringStruct('FileDescription', '{APP_NAME}'),
      StringStruct('FileVersion', '{version}'),
      StringStruct('ProductName', '{APP_NAME}'),
      StringStruct('ProductVersion', '{version}')])]),
    VarFileInfo([VarStruct('Translation', [1033, 1200])])])
""", encoding="utf-8")
    return out
