"""The theme tokens, tinted vector icons, the segmented effort control and date groups."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QColor, QFont, QIcon, QImage, QPalette
from PySide6.QtWidgets import QApplication

from app.ui.style.icons import icon, icon_names, svg_source
from app.ui.style.theme import (
    DARK,
    HIGH_CONTRAST_DARK,
    LIGHT,
    apply_theme,
    choose_theme,
    next_scale,
    palette_for,
    style_sheet,
)
from app.ui.widgets.date_groups import group_by_date, group_label
from app.ui.widgets.effort_control import EffortControl


@pytest.fixture
def restore_app_look(qapp: QApplication) -> Any:
    palette, font, sheet = QPalette(qapp.palette()), QFont(qapp.font()), qapp.styleSheet()
    yield qapp
    qapp.setStyleSheet(sheet)
    qapp.setPalette(palette)
    qapp.setFont(font)


def _ink(image: QImage) -> set[str]:
    """The opaque colours an icon drew (ignoring anti-aliased edges)."""
    seen: set[str] = set()
    for y in range(image.height()):
        for x in range(image.width()):
            pixel = image.pixelColor(x, y)
            if pixel.alpha() == 255:
                seen.add(pixel.name())
    return seen


@pytest.mark.parametrize(("appearance", "system_dark", "contrast", "expected"), [
    ("system", False, False, LIGHT), ("system", True, False, DARK), ("light", True, False, LIGHT),
    ("dark", False, False, DARK), ("system", True, True, HIGH_CONTRAST_DARK),
])
def test_choose_theme(appearance: str, system_dark: bool, contrast: bool, expected: Any) -> None:
    assert choose_theme(appearance, system_dark, contrast) == expected


def test_theme_reaches_palette_and_one_style_sheet(restore_app_look: QApplication) -> None:
    app = restore_app_look
    apply_theme(app, DARK, QFont("Sans", 10), scale=1.25)
    assert app.palette().color(QPalette.ColorRole.Window) == QColor(DARK.background)
    assert app.palette().color(QPalette.ColorRole.Highlight) == QColor(DARK.accent)
    assert app.font().pointSizeF() == pytest.approx(12.5)
    assert DARK.accent in app.styleSheet() and LIGHT.accent not in app.styleSheet()
    assert style_sheet(LIGHT) != style_sheet(DARK)


@pytest.mark.parametrize(("current", "step", "expected"),
                         [(1.0, 1, 1.1), (1.0, -1, 0.9), (2.0, 1, 2.0), (0.8, -1, 0.8),
                          (1.4, 0, 1.0), (1.05, 1, 1.1)])
def test_text_scale_steps(current: float, step: int, expected: float) -> None:
    assert next_scale(current, step) == pytest.approx(expected)


def test_every_icon_is_a_tintable_svg() -> None:
    names = icon_names()
    assert len(names) >= 40
    for name in names:
        assert "currentColor" in svg_source(name), name


def test_unknown_icon_fails_at_the_call_site() -> None:
    with pytest.raises(FileNotFoundError):
        icon("no-such-icon")


@pytest.mark.parametrize("theme", [LIGHT, DARK])
def test_icon_is_tinted_by_the_palette_at_paint_time(restore_app_look: QApplication,
                                                     theme: Any) -> None:
    app = restore_app_look
    square = icon("square")  # created before the theme switch: tint must follow it
    app.setPalette(palette_for(theme))
    image = square.pixmap(QSize(24, 24)).toImage()
    assert theme.text.lower() in _ink(image)


def test_icon_is_drawn_at_the_device_pixel_ratio(qapp: QApplication) -> None:
    pixmap = icon("paperclip").pixmap(QSize(20, 20), 2.0)
    assert pixmap.devicePixelRatio() == 2.0
    assert (pixmap.width(), pixmap.height()) == (40, 40)


def test_disabled_icon_uses_the_disabled_colour(restore_app_look: QApplication) -> None:
    restore_app_look.setPalette(palette_for(LIGHT))
    image = icon("square").pixmap(QSize(24, 24), QIcon.Mode.Disabled).toImage()
    assert LIGHT.muted.lower() in _ink(image)


def test_effort_control_emits_user_choice_only(qtbot: Any) -> None:
    control = EffortControl()
    qtbot.addWidget(control)
    seen: list[str] = []
    control.effort_changed.connect(seen.append)
    assert control.effort() == "medium"
    control.set_effort("high")
    assert control.effort() == "high" and seen == []
    qtbot.mouseClick(control.button("low"), Qt.MouseButton.LeftButton)
    assert control.effort() == "low" and seen == ["low"]
    assert "extraction" in control.button("low").toolTip()
    assert all(control.button(e).accessibleName() for e in ("low", "medium", "high"))


NOW = datetime(2026, 3, 2, 0, 30)  # just after midnight, two days into March


@pytest.mark.parametrize(("updated", "expected"), [
    (datetime(2026, 3, 2, 0, 1), "Today"),
    (datetime(2026, 3, 1, 23, 59), "Yesterday"),
    (datetime(2026, 2, 24, 12, 0), "Previous 7 days"),
    (datetime(2026, 2, 23, 12, 0), "Previous 7 days"),
    (datetime(2026, 2, 22, 12, 0), "Previous 30 days"),
    (datetime(2026, 1, 31, 12, 0), "Previous 30 days"),
    (datetime(2026, 1, 30, 12, 0), "January"),
    (datetime(2025, 12, 31, 12, 0), "December 2025"),
    (datetime(2026, 3, 3, 9, 0), "Today"),  # a clock ahead of ours is not "the future"
])
def test_group_label(updated: datetime, expected: str) -> None:
    assert group_label(updated, NOW) == expected


def test_group_by_date_orders_groups_and_keeps_pins_first() -> None:
    def ms(d: datetime) -> int:
        return int(d.timestamp() * 1000)

    rows = [("a", ms(datetime(2026, 3, 2, 0, 10)), False),
            ("b", ms(datetime(2025, 11, 5)), False),
            ("c", ms(datetime(2026, 1, 3)), True),
            ("d", ms(datetime(2026, 1, 3)), False),
            ("e", ms(datetime(2026, 3, 1, 8)), False)]
    groups = group_by_date(rows, updated_ms=lambda r: r[1], pinned=lambda r: r[2], now=NOW)
    assert [(g.title, [r[0] for r in g.items]) for g in groups] == [
        ("Pinned", ["c"]), ("Today", ["a"]), ("Yesterday", ["e"]), ("January", ["d"]),
        ("November 2025", ["b"])]
