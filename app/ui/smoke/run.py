"""`stepdesk --smoke-test`: prove a build (frozen or from source) has every piece it needs.

It starts the real window on a fresh database in a temporary data dir, shows a conversation
whose answer has Markdown, a table and highlighted code and whose question has an image
thumbnail, attaches a file through a (macOS-style) QFileOpenEvent, converts a tiny generated
clip with the bundled FFmpeg (in the spawned child process the app uses for transcoding),
loads the built-in templates, reports the keyring backend, closes the window the way a user
does and exits 0 — in a few seconds. The checks that need no window are in smoke_checks.py.

Anything missing fails loudly: exit 1 and ONE line on stderr naming what and where
("stepdesk smoke test FAILED: imageformats: Qt cannot read webp …"). That is the contract CI
relies on: a module PyInstaller did not see, a Qt plugin or resource left out of the bundle,
an FFmpeg library that does not load. A watchdog ends a hung run the same way.

The environment is the user's, except: the data dir is a new temporary one, the API base URL
points at a closed local port and the key is a dummy, so nothing leaves the machine and no
real key is read. `PYTHON_KEYRING_BACKEND` is left alone, so the report shows what the app
would really use.

With STEPDESK_SMOKE_STARTUP=1 it is a start-up probe instead (tests/bench/
bench_frozen_startup.py): the ordinary `run_gui()` start, which prints {"paint": <epoch s>} at
the window's first paint and closes it, so a frozen and a source start can be timed alike.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.ui.smoke import checks
from app.ui.smoke.checks import SmokeFailure

TIMEOUT_S = 40.0
"""Hard limit for the whole run (a healthy one takes 2–5 s); the watchdog fails after it."""

OFFLINE_BASE_URL = "http://127.0.0.1:9/v1"  # the discard port: refused at once, never sent
DUMMY_KEY = "sk-smoke-test-not-a-real-key"
STARTUP_PROBE_ENV = "STEPDESK_SMOKE_STARTUP"
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

Math: $\\frac{-b \\pm \\sqrt{b^2 - 4ac}}{2a}$ (typeset by ziamath, drawn by QtSvg).
"""


def run_smoke_test() -> int:
    """Run every check; print a short report and return 0, or one failure line and 1."""
    if os.environ.get(STARTUP_PROBE_ENV) == "1":
        return _startup_probe()
    for stream in (sys.stdout, sys.stderr):  # a Windows pipe may be cp1252: never crash on "→"
        if stream is not None and hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
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


def _startup_probe() -> int:
    """The real `run_gui()` start; print the first paint's wall-clock time, then close."""
    from PySide6.QtCore import QEvent, QObject, QTimer
    from PySide6.QtWidgets import QWidget

    from app.ui.app import make_application, run_gui

    app = make_application()

    class FirstPaint(QObject):
        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if (event.type() == QEvent.Type.Paint and isinstance(watched, QWidget)
                    and type(watched).__name__ == "MainWindow"):
                print(json.dumps({"paint": time.time()}), flush=True)
                app.removeEventFilter(self)
                QTimer.singleShot(0, watched.close)
            return False

    probe = FirstPaint()
    app.installEventFilter(probe)
    return run_gui([])


def _fail(message: str) -> int:
    print(f"stepdesk smoke test FAILED: {' '.join(message.split())}", file=sys.stderr, flush=True)
    return 1


def _expire() -> None:
    _fail(f"timeout: still running after {TIMEOUT_S:g} s (a hung window, keychain or FFmpeg)")
    os._exit(1)


def _run(tmp: Path) -> list[str]:
    report = [f"python {sys.version.split()[0]}, frozen={bool(getattr(sys, 'frozen', False))}"]
    checks.check_imports()
    report.append(f"imports: {len(checks.REQUIRED_MODULES)} modules")
    report.append(checks.check_platform_plugin())

    from app.ui.app import make_application, make_loop

    app = make_application()
    messages = checks.capture_qt_messages()
    report.append(f"qt {checks.qt_version()}: platform {app.platformName()}")
    report.append(checks.check_image_formats())
    report.append(checks.check_resources())

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

# --- the window -------------------------------------------------------------------------------

async def _gui_checks(env: dict[str, str], tmp: Path) -> list[str]:
    from app.ui.app import build_window, start

    ffmpeg = asyncio.ensure_future(asyncio.to_thread(checks.check_ffmpeg, tmp / "clip"))
    shown_at = time.perf_counter()
    window = build_window(Path(env["STEPDESK_DATA_DIR"]))
    window.show()
    try:
        await start(window, env, [])
        if window.controllers is None or not window.isVisible():
            raise SmokeFailure("window: it did not open its database "
                               f"({window.banner.label.text() or 'no message'})")
        db = window.controllers.conversations.library.services.paths.db_path
        report = [f"window: shown and started in {time.perf_counter() - shown_at:.2f} s, "
                  f"fresh database {db.name}"]
        report.append(await _check_conversation(window, tmp))
        report.append(await _check_file_open(window, tmp))
        report.append(await ffmpeg)
        report.append(checks.keyring_report())
    finally:
        if not ffmpeg.done():
            ffmpeg.cancel()
        await _close(window)
    return report


async def _check_conversation(window: Any, tmp: Path) -> str:
    """Store a turn with an image and a Markdown answer, show it, inspect the widgets."""
    from app.media import prepare_sync
    from app.store import AttachmentRecord

    services = window.controllers.conversations.library.services
    picture = checks.make_picture(tmp / "chart.png")
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
    await window.controllers.conversations.show(conversation.id)

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
    formula = await _check_formula(answer)
    question = view.message_widget(user.id)
    if question is None or not _has_thumbnail(question):
        raise SmokeFailure("conversation: the image attachment shows no thumbnail")
    if window.grab().isNull():
        raise SmokeFailure("window: painting it into a pixmap failed")
    return f"conversation: Markdown table, highlighted code, {formula} and image thumbnail shown"


async def _check_formula(answer: Any) -> str:
    """The formula was typeset: ziamath, its fonts, latex2mathml's table and QtSvg are in."""
    formulas = answer.formula_images()
    found = answer.formula_urls() + answer.pending_formula_urls()
    if formulas is None or len(found) != 1:
        raise SmokeFailure(f"math: the formula was not found in the answer ({len(found)} found)")
    (url,) = found
    await _until(lambda: not answer.pending_formula_urls(), "math: the formula was never typeset")
    image = formulas.image(url)
    if image is None or answer.formula_urls() != [url]:
        raise SmokeFailure(f"math: the formula did not typeset: {formulas.error(url)}")
    inked = sum(image.pixelColor(x, y).alpha() > 128 for x in range(image.width())
                for y in range(image.height()))
    if inked < 50:
        raise SmokeFailure(f"math: the typeset formula is blank ({inked} pixels drawn)")
    return f"a typeset formula ({image.width()}×{image.height()} px)"


async def _check_file_open(window: Any, tmp: Path) -> str:
    """macOS "Open With": a FileOpen event sent to the application attaches the file."""
    from PySide6.QtGui import QFileOpenEvent
    from PySide6.QtWidgets import QApplication

    from app.ui.platform.file_open import install_file_open

    app = QApplication.instance()
    assert isinstance(app, QApplication)  # the smoke test runs inside the window's application
    handler = install_file_open(app, window.receive_files)
    try:
        picture = checks.make_picture(tmp / "opened.png")
        QApplication.sendEvent(app, QFileOpenEvent(str(picture)))
        await _until(lambda: any(m.original_name == picture.name
                                 for m in window.attachments.ready()),
                     "file open: a QFileOpenEvent did not attach the file")
    finally:
        app.removeEventFilter(handler)
        handler.deleteLater()
    return "file open: a QFileOpenEvent attached the image to the composer"


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
    from app.ui.widgets.message_widget import AttachmentButton

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



