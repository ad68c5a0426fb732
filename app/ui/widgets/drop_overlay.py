"""What a drop or a paste carries, and the overlay that shows the window will take it.

`media_from_mime` is shared by drag-and-drop and Ctrl+V so both follow the same rules:
local file URLs win over image data (a file copied in a file manager also carries the
file's icon as an image); image data wins over http(s) URLs (a browser drag carries both,
and the pixels need no download); a lone http(s) URL is fetched later, off the UI thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QMimeData, QPoint, QRect, Qt
from PySide6.QtGui import QImage, QPainter, QPaintEvent
from PySide6.QtWidgets import QWidget

# Formats tried in this order; raw PNG bytes are taken as is, the rest decoded by QImage.
_IMAGE_FORMATS = ("image/png", "image/bmp", "image/x-bmp", "image/tiff", "image/jpeg",
                  "image/gif", "image/webp", "image/x-win-bitmap")


@dataclass
class MimeMedia:
    """Media found in a QMimeData; empty when it only carries text."""

    paths: list[Path] = field(default_factory=list)
    images: list[bytes] = field(default_factory=list)  # PNG bytes
    urls: list[str] = field(default_factory=list)  # http(s) URLs to download

    def __bool__(self) -> bool:
        return bool(self.paths or self.images or self.urls)


def image_to_png(image: QImage) -> bytes:
    """Encode a QImage as PNG (safe off the GUI thread: QImage is not a QPixmap)."""
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buf, "PNG")  # type: ignore[call-overload]  # the stub says bytes; only str works
    buf.close()
    return bytes(data.data())


def _image_bytes(mime: QMimeData) -> bytes | None:
    for fmt in _IMAGE_FORMATS:
        if not mime.hasFormat(fmt):
            continue
        raw = bytes(mime.data(fmt).data())
        if fmt == "image/png" and raw.startswith(b"\x89PNG"):
            return raw
        image = QImage.fromData(raw)
        if not image.isNull():
            return image_to_png(image)
    if mime.hasImage():  # platform formats (DIB, bitmap, TIFF…) converted by Qt
        image = mime.imageData()
        if isinstance(image, QImage) and not image.isNull():
            return image_to_png(image)
    return None


def media_from_mime(mime: QMimeData) -> MimeMedia:
    """Apply the drop/paste preference rules (module docstring) to one QMimeData."""
    found = MimeMedia()
    remote: list[str] = []
    if mime.hasUrls():
        for url in mime.urls():
            if url.isLocalFile():
                path = Path(url.toLocalFile())
                if path.is_file():
                    found.paths.append(path)
            elif url.scheme() in ("http", "https"):
                remote.append(url.toString())
    if found.paths:
        return found
    image = _image_bytes(mime)
    if image is not None:
        found.images.append(image)
        return found
    found.urls = remote
    return found


class DropOverlay(QWidget):
    """A translucent sheet over the window while something droppable hovers over it.

    With template targets it is split into zones: "Attach" on top, one tile per pinned
    template below; the zone under the pointer is highlighted and `target_at` tells the
    window where the drop landed. It never takes mouse events; the window handles the drag.
    """

    _COLUMNS = 3

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setAccessibleName("Drop files to attach")
        self._text = "Drop to attach"
        self._targets: list[tuple[str, str]] = []  # (key, label); key "" = just attach
        self._hover: str | None = None
        self.hide()

    def show_over(self, target: QWidget, text: str = "Drop to attach",
                  targets: Sequence[tuple[str, str]] = ()) -> None:
        """Cover `target`; `targets` are (key, label) template zones besides "Attach"."""
        self._text = text
        self._targets = [("", "Attach"), *targets] if targets else []
        self._hover = None
        self.setGeometry(target.rect())
        self.raise_()
        self.show()
        self.update()

    def zones(self) -> list[tuple[str, QRect]]:
        """(key, rectangle) of each zone; empty without template targets."""
        if not self._targets:
            return []
        area = self.rect().adjusted(12, 12, -12, -12)
        attach_height = area.height() * 2 // 5
        zones = [("", QRect(area.left(), area.top(), area.width(), attach_height - 6))]
        tiles = self._targets[1:]
        columns = min(self._COLUMNS, len(tiles))
        rows = -(-len(tiles) // columns)
        width = area.width() // columns
        height = (area.height() - attach_height) // rows
        for index, (key, _label) in enumerate(tiles):
            row, column = divmod(index, columns)
            zones.append((key, QRect(area.left() + column * width,
                                     area.top() + attach_height + row * height,
                                     width - 6, height - 6)))
        return zones

    def target_at(self, pos: QPoint) -> str | None:
        """The template key under `pos` (None: just attach)."""
        return next((key or None for key, rect in self.zones() if rect.contains(pos)), None)

    def hover(self, pos: QPoint) -> None:
        key = next((key for key, rect in self.zones() if rect.contains(pos)), None)
        if key != self._hover:
            self._hover = key
            self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        highlight = self.palette().highlight().color()
        fill = highlight.lighter(110)
        fill.setAlpha(60)
        painter.fillRect(self.rect(), fill)
        pen = painter.pen()
        pen.setColor(highlight)
        pen.setWidth(3)
        pen.setStyle(Qt.PenStyle.DashLine)
        painter.setPen(pen)
        zones = self.zones() or [("", self.rect().adjusted(12, 12, -12, -12))]
        labels = dict(self._targets) or {"": self._text}
        for key, rect in zones:
            if key == self._hover:
                strong = highlight.lighter(110)
                strong.setAlpha(110)
                painter.fillRect(rect, strong)
            painter.drawRoundedRect(rect, 14, 14)
        font = painter.font()
        font.setPointSizeF(font.pointSizeF() * (1.6 if len(zones) == 1 else 1.2))
        font.setBold(True)
        painter.setFont(font)
        painter.setPen(self.palette().text().color())
        for key, rect in zones:
            painter.drawText(rect, Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                             labels[key])
