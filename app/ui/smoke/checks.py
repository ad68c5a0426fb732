"""The checks of `stepdesk --smoke-test` that need no window (see app/ui/smoke/run.py).

Each returns one line for the report or raises `SmokeFailure` with one line that names the
check first ("imageformats: …", "ffmpeg: …"), which is what the smoke test prints.
"""

from __future__ import annotations

import importlib
import os
import re
import sys
import threading
from pathlib import Path

REQUIRED_MODULES = (
    # The window and everything it loads lazily after the first paint.
    "app.ui.app", "app.ui.main_window", "app.ui.widgets.conversation_view",
    "app.ui.widgets.message_widget", "app.ui.render.markdown", "app.ui.render.markdown_view",
    "app.ui.widgets.composer", "app.ui.widgets.sidebar", "app.ui.dialogs.settings",
    "app.ui.capture.session", "app.ui.controllers.library", "app.ui.controllers.conversations",
    "app.ui.platform.file_open", "app.ui.platform.single_instance", "app.chat", "app.cli.main",
    "app.ui.render.math_syntax", "app.ui.render.math_images", "app.ui.render.math_typeset",
    "app.services",
    "app.api.client", "app.store", "app.media", "app.templates",
    # Third-party modules imported inside functions (easy for a freezer to miss).
    "qasync", "httpx", "markdown_it", "pygments.lexers.python",
    "pygments.formatters.html", "PIL.Image", "PIL.PngImagePlugin", "PIL.JpegImagePlugin",
    "PIL.WebPImagePlugin", "PIL.GifImagePlugin", "pi_heif", "av", "keyring", "truststore",
    "mdit_py_plugins.dollarmath", "mdit_py_plugins.amsmath", "ziamath", "latex2mathml.converter",
    "cryptography.hazmat.primitives.ciphers.aead", "cryptography.hazmat.primitives.kdf.argon2",
    "PySide6.QtSvg",
    "platformdirs", "sqlite3", "ssl",
)
IMAGE_FORMATS = ("png", "jpeg", "gif", "webp", "ico", "svg")
ICON_SIZES = (16, 32, 48, 64, 128, 256)


class SmokeFailure(Exception):
    """A check failed; the message is the one line printed (it names the check first)."""


def check_imports() -> None:
    """Import what the app loads lazily: a module the freezer missed fails here, by name."""
    for name in REQUIRED_MODULES:
        try:
            importlib.import_module(name)
        except Exception as exc:  # ImportError, or a native library that failed to load
            raise SmokeFailure(f"import {name}: {type(exc).__name__}: {exc}") from exc


def check_platform_plugin() -> str:
    """The platform plugin must exist before QApplication: a missing one aborts the process."""
    from PySide6.QtCore import QLibraryInfo

    plugins = Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath))
    wanted = (os.environ.get("QT_QPA_PLATFORM") or _default_platform()).split(":")[0]
    found = sorted(p.name for p in (plugins / "platforms").glob("*")) \
        if (plugins / "platforms").is_dir() else []
    if not any(re.search(rf"q{re.escape(wanted)}\b", name) for name in found):
        raise SmokeFailure(f"qt platform plugin '{wanted}' missing in {plugins / 'platforms'} "
                           f"(found: {', '.join(found) or 'nothing'})")
    return f"platform plugins: {', '.join(found)}"


def _default_platform() -> str:
    if sys.platform == "win32":
        return "windows"
    if sys.platform == "darwin":
        return "cocoa"
    return "wayland" if os.environ.get("WAYLAND_DISPLAY") else "xcb"


def qt_version() -> str:
    from PySide6 import __version__
    from PySide6.QtCore import qVersion

    return f"{qVersion()} (PySide6 {__version__})"


def capture_qt_messages() -> list[str]:
    """Collect Qt's warnings; critical/fatal ones fail the test after the run."""
    from PySide6.QtCore import QtMsgType, qInstallMessageHandler

    seen: list[str] = []
    names = {QtMsgType.QtWarningMsg: "warning", QtMsgType.QtCriticalMsg: "critical",
             QtMsgType.QtFatalMsg: "fatal"}

    def handler(kind: QtMsgType, _context: object, text: str) -> None:
        if kind in names and "This plugin does not support" not in text:  # offscreen's
            seen.append(f"{names[kind]}: {text}")

    qInstallMessageHandler(handler)
    return seen


def check_image_formats() -> str:
    from PySide6.QtGui import QImageReader

    have = {bytes(f.data()).decode() for f in QImageReader.supportedImageFormats()}
    missing = [f for f in IMAGE_FORMATS if f not in have]
    if missing:
        raise SmokeFailure(f"imageformats: Qt cannot read {', '.join(missing)} (plugins "
                           "missing from the bundle?)")
    return f"image formats: {', '.join(IMAGE_FORMATS)}"


def check_resources() -> str:
    """The icons (PNG sizes + SVG) and the built-in templates JSON, read as the app reads them."""
    from importlib.resources import files

    from PySide6.QtGui import QIcon, QPixmap

    icons = files("app") / "resources" / "icons"
    for size in ICON_SIZES:
        pixmap = QPixmap(str(icons / f"stepdesk-{size}.png"))
        if pixmap.isNull():
            raise SmokeFailure(f"resource: icon stepdesk-{size}.png missing or unreadable")
    if QIcon(str(icons / "stepdesk.svg")).pixmap(64, 64).isNull():
        raise SmokeFailure("resource: stepdesk.svg missing or the SVG plugins are")
    from app.templates.builtin import load_builtins

    templates = load_builtins()
    if not templates:
        raise SmokeFailure("resource: the built-in templates are empty")
    return f"resources: {len(ICON_SIZES)} icons + svg, {len(templates)} built-in templates"


def make_picture(path: Path) -> Path:
    """A small bar chart PNG (Pillow), for the attachment checks."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (320, 200), "white")
    draw = ImageDraw.Draw(image)
    for i, height in enumerate((60, 120, 90, 160)):
        draw.rectangle((30 + 70 * i, 190 - height, 80 + 70 * i, 190), fill=(30, 90, 200))
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, "PNG")
    return path


def check_ffmpeg(work: Path) -> str:
    """Encode a 1 s MPEG-4 clip in process, then let the intake convert it to H.264.

    The conversion runs in the spawned child process the app uses for real transcodes, so
    this also proves the frozen executable can start that child; the intake then probes
    the result and decodes a frame for the thumbnail.
    """
    import av
    from PIL import Image

    from app.media import prepare_sync

    work.mkdir(parents=True, exist_ok=True)
    clip = work / "clip.mp4"
    try:
        with av.open(str(clip), "w", format="mp4") as out:
            stream = out.add_stream("mpeg4", rate=10)
            stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
            for i in range(10):
                picture = Image.new("RGB", (64, 48), (25 * i, 120, 255 - 25 * i))
                frame = av.VideoFrame.from_image(picture).reformat(format="yuv420p")
                out.mux(stream.encode(frame))
            out.mux(stream.encode(None))
        media = prepare_sync(clip, work_dir=work)
    except Exception as exc:
        raise SmokeFailure(f"ffmpeg: {type(exc).__name__}: {exc}") from exc
    if media.kind != "video" or media.mime != "video/mp4" or not media.thumbnail:
        raise SmokeFailure(f"ffmpeg: converting a test clip gave {media.kind} {media.mime}, "
                           f"thumbnail={'yes' if media.thumbnail else 'no'}")
    if not media.duration_s or abs(media.duration_s - 1.0) > 0.25:
        raise SmokeFailure(f"ffmpeg: the converted 1 s clip lasts {media.duration_s} s")
    return (f"ffmpeg {av.ffmpeg_version_info} (PyAV {av.__version__}): MPEG-4 → H.264 in a "
            f"child process, {media.width}×{media.height}, thumbnail decoded")


def keyring_report(timeout: float = 3.0) -> str:
    """Name the keychain backend, or say the key-file fallback applies. Never fails on
    a missing keychain (that is a supported setup), only on a broken keyring package."""
    import importlib.metadata

    if not importlib.metadata.entry_points(group="keyring.backends"):
        raise SmokeFailure("keyring: no backends registered (its package metadata is "
                           "missing from the bundle)")
    result: dict[str, str] = {}

    def probe() -> None:
        try:
            import keyring
            from keyring.backends import fail

            backend = keyring.get_keyring()
            name = f"{type(backend).__module__}.{type(backend).__name__}"
            result["text"] = ("keyring: no keychain → key file fallback" if
                              isinstance(backend, fail.Keyring) else f"keyring: {name}")
        except Exception as exc:  # keyring backends raise many kinds of errors
            result["text"] = f"keyring: unusable ({type(exc).__name__}) → key file fallback"

    worker = threading.Thread(target=probe, name="smoke-keyring", daemon=True)
    worker.start()
    worker.join(timeout)
    return result.get("text", f"keyring: no answer within {timeout:g} s → key file fallback")
