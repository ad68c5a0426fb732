"""`stepdesk --smoke-test`: prove a build (frozen or from source) has every piece it needs.

It starts the real window on a fresh database in a temporary data dir, shows a conversation
whose answer has Markdown, a table and highlighted code and whose question has an image
thumbnail, converts a tiny generated clip with the bundled FFmpeg (in the spawned child
process the app uses for transcoding), loads the built-in templates, reports the keyring
backend, closes the window the way a user does and exits 0 — in a few seconds.

Anything missing fails loudly: exit 1 and ONE line on stderr naming what and where
("stepdesk smoke test FAILED: imageformats: Qt cannot read webp …"). That is the contract CI
relies on: a module PyInstaller did not see, a Qt plugin or resource left out of the bundle,
an FFmpeg library that does not load. A watchdog ends a hung run the same way.

The environment is the user's, except: the data dir is a new temporary one, the API base URL
points at a closed local port and the key is a dummy, so nothing leaves the machine and no
real key is read. `PYTHON_KEYRING_BACKEND` is left alone, so the report shows what the app
would really use.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.metadata
import os
import re
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

TIMEOUT_S = 40.0
"""Hard limit for the whole run (a healthy one takes 2–5 s); the watchdog fails after it."""

REQUIRED_MODULES = (
    # The window and everything it loads lazily after the first paint.
    "app.ui.app", "app.ui.main_window", "app.ui.conversation_view", "app.ui.message_widget",
    "app.ui.render", "app.ui.markdown_view", "app.ui.composer", "app.ui.sidebar",
    "app.ui.settings_dialog", "app.ui.capture", "app.ui.library", "app.ui.window_actions",
    "app.ui.file_open", "app.ui.single_instance", "app.chat", "app.cli", "app.services",
    "app.api.client", "app.store", "app.media", "app.templates",
    # Third-party modules imported inside functions (easy for a freezer to miss).
    "qasync", "httpx", "httpx_sse", "markdown_it", "pygments.lexers.python",
    "pygments.formatters.html", "PIL.Image", "PIL.PngImagePlugin", "PIL.JpegImagePlugin",
    "PIL.WebPImagePlugin", "PIL.GifImagePlugin", "pi_heif", "av", "keyring", "truststore",
    "platformdirs", "sqlite3", "ssl",
)
IMAGE_FORMATS = ("png", "jpeg", "gif", "webp", "ico", "svg")
ICON_SIZES = (16, 32, 48, 64, 128, 256)
OFFLINE_BASE_URL = "http://127.0.0.1:9/v1"  # the discard port: refused at once, never sent
DUMMY_KEY = "sk-smoke-test-not-a-real-key"
MARKDOWN = """## Smoke test

| Sensor | Reading | Unit |
|:-------|--------:|:----:|
| Alpha  | 21.5    | °C   |
| Beta   | 1013    | hPa  |

```python
def smoke(value: int) -> int:
    return value * 2  # highlighted by Pygments
```

Inline `code`, a [link](https://platform.stepfun.ai/) and **bold** text.
"""


class SmokeFailure(Exception):
    """A check failed; the message is the one line printed (it names the check first)."""


def run_smoke_test() -> int:
    """Run every check; print a short report and return 0, or one failure line and 1."""
    started = time.perf_counter()
    watchdog = threading.Timer(TIMEOUT_S, _expire)
    watchdog.daemon = True
    watchdog.start()
    try:
        with tempfile.TemporaryDirectory(prefix="stepdesk-smoke-",
                                         ignore_cleanup_errors=True) as tmp:
            report = _run(Path(tmp))
    except SmokeFailure as exc:
        return _fail(str(exc))
    except Exception as exc:  # an unexpected error is a failed smoke test, said in one line
        return _fail(f"unexpected {type(exc).__name__}: {exc}")
    finally:
        watchdog.cancel()
    for line in report:
        print(f"  {line}")
    print(f"stepdesk smoke test passed in {time.perf_counter() - started:.2f} s")
    return 0


def _fail(message: str) -> int:
    print(f"stepdesk smoke test FAILED: {' '.join(message.split())}", file=sys.stderr, flush=True)
    return 1


def _expire() -> None:
    _fail(f"timeout: still running after {TIMEOUT_S:g} s (a hung window, keychain or FFmpeg)")
    os._exit(1)


def _run(tmp: Path) -> list[str]:
    report = [f"python {sys.version.split()[0]}, frozen={bool(getattr(sys, 'frozen', False))}"]
    _check_imports()
    report.append(f"imports: {len(REQUIRED_MODULES)} modules")
    report.append(_check_platform_plugin())

    from app.ui.app import make_application, make_loop

    app = make_application()
    messages = _capture_qt_messages()
    report.append(f"qt {_qt_version()}: platform {app.platformName()}")
    report.append(_check_image_formats())
    report.append(_check_resources())

    env = dict(os.environ)
    env.update({"STEPDESK_DATA_DIR": str(tmp / "data"), "STEP_BASE_URL": OFFLINE_BASE_URL,
                "STEP_API_KEY": DUMMY_KEY})
    with asyncio.Runner(loop_factory=lambda: make_loop(app)) as runner:
        report += runner.run(asyncio.wait_for(_gui_checks(env, tmp), TIMEOUT_S - 5))
    critical = [m for m in messages if m.startswith(("critical", "fatal"))]
    if critical:
        raise SmokeFailure(f"qt: {critical[0]}")
    report += [f"qt {m}" for m in messages]
    return report


# --- before the window ------------------------------------------------------------------------

def _check_imports() -> None:
    for name in REQUIRED_MODULES:
        try:
            importlib.import_module(name)
        except Exception as exc:  # ImportError, or a native library that failed to load
            raise SmokeFailure(f"import {name}: {type(exc).__name__}: {exc}") from exc


def _check_platform_plugin() -> str:
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


def _qt_version() -> str:
    from PySide6 import __version__
    from PySide6.QtCore import qVersion

    return f"{qVersion()} (PySide6 {__version__})"


def _capture_qt_messages() -> list[str]:
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


def _check_image_formats() -> str:
    from PySide6.QtGui import QImageReader

    have = {bytes(f.data()).decode() for f in QImageReader.supportedImageFormats()}
    missing = [f for f in IMAGE_FORMATS if f not in have]
    if missing:
        raise SmokeFailure(f"imageformats: Qt cannot read {', '.join(missing)} (plugins "
                           "missing from the bundle?)")
    return f"image formats: {', '.join(IMAGE_FORMATS)}"


def _check_resources() -> str:
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


# --- the window -------------------------------------------------------------------------------

async def _gui_checks(env: dict[str, str], tmp: Path) -> list[str]:
    from app.ui.main_window import MainWindow

    ffmpeg = asyncio.ensure_future(asyncio.to_thread(_check_ffmpeg, tmp / "clip"))
    shown_at = time.perf_counter()
    window = MainWindow(Path(env["STEPDESK_DATA_DIR"]))
    window.show()
    try:
        await window.start(env, [])
        if window.library is None or not window.isVisible():
            raise SmokeFailure("window: it did not open its database "
                               f"({window.banner.label.text() or 'no message'})")
        db = window.library.services.paths.db_path
        report = [f"window: shown and started in {time.perf_counter() - shown_at:.2f} s, "
                  f"fresh database {db.name}"]
        report.append(await _check_conversation(window, tmp))
        report.append(await _check_file_open(window, tmp))
        report.append(await ffmpeg)
        report.append(_keyring_report())
    finally:
        if not ffmpeg.done():
            ffmpeg.cancel()
        await _close(window)
    return report


async def _check_conversation(window: Any, tmp: Path) -> str:
    """Store a turn with an image and a Markdown answer, show it, inspect the widgets."""
    from app.media import prepare_sync
    from app.store import AttachmentRecord

    services = window.library.services
    picture = _make_picture(tmp / "chart.png")
    media = await asyncio.to_thread(prepare_sync, picture, work_dir=services.blobs.tmp_dir)
    if not media.thumbnail:
        raise SmokeFailure("media: no thumbnail was made for a PNG (Pillow)")
    services.blobs.adopt(media.path, media.sha256, media.ext)
    services.blobs.put_thumbnail(media.sha256, media.thumbnail)
    store, model = services.store, services.settings.model
    conversation = await store.create_conversation("Smoke test", model, "low")
    record = AttachmentRecord(kind="image", mime=media.mime, sha256=media.sha256,
                              bytes=media.size, width=media.width, height=media.height,
                              duration_s=None, original_name="chart.png", ordinal=0)
    user = await store.add_user_message(conversation.id, "What does this chart show?",
                                        [record], model=model, effort="low")
    reply = await store.start_assistant_message(conversation.id, reply_to=user.id,
                                                model=model, effort="low")
    await store.append_reply(reply.id, "Reading the table.", MARKDOWN, None)
    await store.finish_message(reply.id, "complete", finish_reason="stop")
    await window.actions_.show_conversation(conversation.id)

    view = window.view
    await _until(lambda: view.message_widget(reply.id) is not None
                 and not view.message_widget(reply.id).needs_markdown(),
                 "conversation: the answer was never rendered as Markdown")
    answer = view.message_widget(reply.id).body
    tables = _tables(answer.document())
    if not any(t.rows() == 3 and t.columns() == 3 for t in tables):
        raise SmokeFailure("markdown: the table was not rendered as a 3×3 table "
                           f"({len(tables)} tables found)")
    if not re.search(r'color:#[0-9a-fA-F]{6}[^"]*">def<', answer.toHtml()):
        raise SmokeFailure("markdown: the Python code block was not syntax-highlighted "
                           "(Pygments lexers missing?)")
    question = view.message_widget(user.id)
    if question is None or not _has_thumbnail(question):
        raise SmokeFailure("conversation: the image attachment shows no thumbnail")
    if window.grab().isNull():
        raise SmokeFailure("window: painting it into a pixmap failed")
    return "conversation: Markdown table, highlighted code and image thumbnail shown"


async def _check_file_open(window: Any, tmp: Path) -> str:
    """macOS "Open With": a FileOpen event sent to the application attaches the file."""
    from PySide6.QtGui import QFileOpenEvent
    from PySide6.QtWidgets import QApplication

    from app.ui.file_open import install_file_open

    app = QApplication.instance()
    handler = install_file_open(app, window.receive_files)
    try:
        picture = _make_picture(tmp / "opened.png")
        QApplication.sendEvent(app, QFileOpenEvent(str(picture)))
        await _until(lambda: any(m.original_name == picture.name
                                 for m in window.attachments.ready()),
                     "file open: a QFileOpenEvent did not attach the file")
    finally:
        app.removeEventFilter(handler)
        handler.deleteLater()
    return "file open: a QFileOpenEvent attached the image to the composer"


def _make_picture(path: Path) -> Path:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (320, 200), "white")
    draw = ImageDraw.Draw(image)
    for i, height in enumerate((60, 120, 90, 160)):
        draw.rectangle((30 + 70 * i, 190 - height, 80 + 70 * i, 190), fill=(30, 90, 200))
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, "PNG")
    return path


def _tables(document: Any) -> list[Any]:
    from PySide6.QtGui import QTextTable

    found, frames = [], [document.rootFrame()]
    while frames:
        frame = frames.pop()
        if isinstance(frame, QTextTable):
            found.append(frame)
        frames += frame.childFrames()
    return found


def _has_thumbnail(widget: Any) -> bool:
    from app.ui.message_widget import AttachmentButton

    return any(not b.icon().isNull() for b in widget.findChildren(AttachmentButton))


async def _until(predicate: Callable[[], object], failure: str, timeout: float = 8.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SmokeFailure(failure)
        await asyncio.sleep(0.02)


async def _close(window: Any) -> None:
    """Close like the user does and wait for the clean shutdown (database closed)."""
    closed = asyncio.Event()
    window.closed.connect(closed.set)
    window.close()
    try:
        await asyncio.wait_for(closed.wait(), 10)
    except TimeoutError:
        raise SmokeFailure("window: closing did not finish within 10 s") from None
    window.deleteLater()
    await asyncio.sleep(0)


# --- FFmpeg and the keychain ------------------------------------------------------------------

def _check_ffmpeg(work: Path) -> str:
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


def _keyring_report(timeout: float = 3.0) -> str:
    """Name the keychain backend, or say the key-file fallback applies. Never fails on
    a missing keychain (that is a supported setup), only on a broken keyring package."""
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
