"""A test window with a known pattern: four coloured quadrants and a one-pixel grid.

Run as `python -m tests.capture_pattern [WIDTH HEIGHT]`; prints "ready" once shown. Every
tenth row and column is a line whose colour changes along it, so an off-by-one crop (or a
smoothed one) never matches.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QTimer
from PySide6.QtGui import QColor, QImage, QPixmap
from PySide6.QtWidgets import QApplication, QLabel

QUADRANTS = ((220, 30, 30), (30, 200, 60), (40, 60, 230), (240, 220, 40))


def colour_at(x: int, y: int, width: int, height: int) -> tuple[int, int, int]:
    if x % 10 == 0 or y % 10 == 0:
        return (x * 7) % 256, (y * 5) % 256, (x + y) % 256
    return QUADRANTS[(x >= width // 2) + 2 * (y >= height // 2)]


def pattern_bytes(width: int = 800, height: int = 600) -> bytes:
    """The pattern as RGB bytes (tests compare the screen with it)."""
    return b"".join(bytes(colour_at(x, y, width, height))
                    for y in range(height) for x in range(width))


def pattern(width: int, height: int) -> QImage:
    image = QImage(width, height, QImage.Format.Format_RGB32)
    for y in range(height):
        for x in range(width):
            image.setPixelColor(x, y, QColor(*colour_at(x, y, width, height)))
    return image


def main() -> None:
    width, height = (int(a) for a in sys.argv[1:3]) if len(sys.argv) >= 3 else (800, 600)
    app = QApplication(sys.argv[:1])
    label = QLabel()
    label.setWindowTitle("capture-pattern")
    label.setPixmap(QPixmap.fromImage(pattern(width, height)))
    label.setFixedSize(width, height)
    label.move(60, 60)
    label.show()
    QTimer.singleShot(0, lambda: print("ready", flush=True))
    app.exec()


if __name__ == "__main__":
    main()
