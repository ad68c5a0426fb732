"""Re-make the README's pictures: the real window under Xvfb, driven like a person would.

    python tests/screenshots/make_screenshots.py [--out resources/screenshots] [--scale 1]

It starts its own X server (Xvfb + openbox, display :77 unless --display), the stand-in of
the API, seeds a history through `stepdesk ask`, then opens `stepdesk chart.png receipt.png`
(files attached), takes the composer picture, types a question with xdotool, presses Enter,
waits for the answer (a table and code) to settle and takes the answer picture — once in the
light theme and once in the dark one. Needs xvfb, openbox, xdotool and imagemagick (`import`).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.standin import StandIn  # noqa: E402

KEY = "sk-screenshots"
ANSWER = """The receipt totals **$23.40**; the chart's best month is **May**.

| Item | Qty | Price |
|---|---:|---:|
| Flat white | 2 | 7.00 |
| Croissant | 1 | 3.90 |
| Soup of the day | 1 | 12.50 |

A small script that checks the total:

```python
items = {"Flat white": 2 * 3.50, "Croissant": 3.90, "Soup of the day": 12.50}
total = round(sum(items.values()), 2)
assert total == 23.40, total
print(f"Total: {total:.2f}")
```
"""
REASONING = ("The receipt lists three lines; 2 × 3.50 + 3.90 + 12.50 = 23.40. "
             "The chart peaks in May.")


def make_media(folder: Path) -> list[Path]:
    from PIL import Image, ImageDraw

    chart = Image.new("RGB", (900, 560), "white")
    draw = ImageDraw.Draw(chart)
    for i, value in enumerate((180, 240, 210, 320, 410, 300)):
        x = 80 + i * 130
        draw.rectangle((x, 500 - value, x + 80, 500), fill=(59, 91, 219))
    draw.line((60, 500, 860, 500), fill="black", width=3)
    receipt = Image.new("RGB", (420, 640), (250, 248, 240))
    draw = ImageDraw.Draw(receipt)
    for row, y in enumerate(range(60, 560, 44)):
        draw.rectangle((40, y, 40 + (row * 37) % 220 + 80, y + 14), fill=(60, 60, 60))
        draw.rectangle((300, y, 380, y + 14), fill=(60, 60, 60))
    paths = [folder / "chart.png", folder / "receipt.png"]
    chart.save(paths[0])
    receipt.save(paths[1])
    return paths


@contextlib.contextmanager
def x_server(display: str, width: int, height: int) -> Iterator[dict[str, str]]:
    xvfb = subprocess.Popen(["Xvfb", display, "-screen", "0", f"{width}x{height}x24",
                             "-nolisten", "tcp"], stderr=subprocess.DEVNULL)
    env = {**os.environ, "DISPLAY": display}
    try:
        for _ in range(100):
            if subprocess.run(["xdpyinfo"], env=env, capture_output=True).returncode == 0:
                break
            time.sleep(0.05)
        wm = subprocess.Popen(["openbox"], env=env, stderr=subprocess.DEVNULL)
        try:
            yield env
        finally:
            wm.terminate()
            wm.wait(5)
    finally:
        xvfb.terminate()
        xvfb.wait(5)


def shoot(env: dict[str, str], out: Path) -> str:
    subprocess.run(["import", "-window", "root", str(out)], env=env, check=True)
    return hashlib.sha256(out.read_bytes()).hexdigest()


def settle(env: dict[str, str], out: Path, rounds: int = 40) -> None:
    """Take pictures until two in a row are the same (the window has finished drawing)."""
    last = ""
    for _ in range(rounds):
        digest = shoot(env, out)
        if digest == last:
            return
        last = digest
        time.sleep(0.4)


def window_id(env: dict[str, str]) -> str:
    found = subprocess.run(["xdotool", "search", "--sync", "--onlyvisible", "--name",
                            "Step Desk"], env=env, capture_output=True, text=True, timeout=60)
    return found.stdout.split()[0]


def run_scenario(out_dir: Path, appearance: str, env: dict[str, str], standin: StandIn,
                 media: list[Path], suffix: str, scale: int) -> None:
    data = Path(tempfile.mkdtemp(prefix="stepdesk-shots-"))
    app_env = {**env, "STEPDESK_DATA_DIR": str(data), "STEP_BASE_URL": standin.base_url,
               "STEP_API_KEY": KEY, "QT_QPA_PLATFORM": "xcb",
               "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring"}
    stepdesk = [sys.executable, "-m", "app"]
    standin.reply(content="Here is what the whiteboard says, step by step.", chunks=4)
    for prompt in ("Summarise this whiteboard", "Which chart type fits quarterly sales?"):
        subprocess.run([*stepdesk, "ask", prompt], env=app_env, check=True,
                       capture_output=True, cwd=ROOT)
    subprocess.run([sys.executable, "-c", (
        "import asyncio\nfrom app.services import open_core\n"
        "async def main():\n    s = await open_core()\n"
        f"    await s.store.set_setting('appearance', {appearance!r})\n"
        "    await s.aclose()\nasyncio.run(main())\n")], env=app_env, check=True, cwd=ROOT)
    standin.reply(content=ANSWER, reasoning=REASONING, chunks=40)
    window = subprocess.Popen([*stepdesk, *map(str, media)], env=app_env, cwd=ROOT)
    try:
        wid = window_id(app_env)
        subprocess.run(["xdotool", "windowactivate", "--sync", wid], env=app_env)
        subprocess.run(["xdotool", "windowmove", "--sync", wid, "0", "0"], env=app_env)
        subprocess.run(["xdotool", "windowsize", "--sync", wid, str(1400 * scale),
                        str(880 * scale)], env=app_env)
        settle(app_env, out_dir / f"composer-{appearance}{suffix}.png")
        subprocess.run(["xdotool", "type", "--delay", "5",
                        "What is the total, and which month is best?"], env=app_env)
        before = len(standin.chat_requests())
        subprocess.run(["xdotool", "key", "Return"], env=app_env)
        for _ in range(200):
            if len(standin.chat_requests()) > before:
                break
            time.sleep(0.05)
        settle(app_env, out_dir / f"answer-{appearance}{suffix}.png")
    finally:
        window.terminate()
        window.wait(10)
        shutil.rmtree(data, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "resources" / "screenshots")
    parser.add_argument("--display", default=":77")
    parser.add_argument("--scale", type=int, default=1, choices=(1, 2))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    suffix = "" if args.scale == 1 else f"@{args.scale}x"
    standin = StandIn(api_key=KEY).start()
    try:
        with tempfile.TemporaryDirectory() as folder, \
                x_server(args.display, 1400 * args.scale, 900 * args.scale) as env:
            if args.scale != 1:
                env["QT_SCALE_FACTOR"] = str(args.scale)
            media = make_media(Path(folder))
            for appearance in ("light", "dark"):
                run_scenario(args.out, appearance, env, standin, media, suffix, args.scale)
    finally:
        standin.stop()
    print(f"pictures in {args.out}")


if __name__ == "__main__":
    main()
