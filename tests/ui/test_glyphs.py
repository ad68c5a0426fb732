"""Template icons on a machine whose fonts cannot draw them: the name alone, never a box."""

from __future__ import annotations

from typing import Any

import pytest

from app.templates.model import Template
from app.ui.style.glyphs import labelled, shown_icon
from app.ui.widgets.welcome import WelcomeScreen

NO_FONT_DRAWS = "\U0010fffd"  # private use: whatever fonts a machine has, this is the box


@pytest.mark.parametrize(("icon", "shown"), [
    ("A", "A"),  # every font draws a Latin letter
    ("A\u200dA", "A\u200dA"),  # a joiner draws nothing of its own and is not a box
    ("A\ufe0f", "A\ufe0f"),  # nor does a variation selector
    (NO_FONT_DRAWS, ""),
    (f"A{NO_FONT_DRAWS}", ""),  # one box in an icon is a box too many
    ("", ""),
])
def test_an_icon_is_kept_only_when_all_of_it_draws(qapp: Any, icon: str, shown: str) -> None:
    assert shown_icon(icon) == shown


def test_a_card_whose_icon_cannot_be_drawn_shows_its_name(qapp: Any) -> None:
    welcome = WelcomeScreen()
    welcome.set_templates([
        Template("boxed", "Receipt → table", NO_FONT_DRAWS, "p", "low", "image"),
        Template("drawn", "Chart → data", "A", "p", "low", "image"),
    ])
    assert [c.text() for c in welcome.cards] == ["Receipt → table", "A Chart → data"]
    assert labelled(NO_FONT_DRAWS, "x") == "x"
    welcome.deleteLater()
