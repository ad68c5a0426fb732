"""Conversations grouped by date the way chat apps do it: Pinned, Today, Yesterday, Previous
7 days, Previous 30 days, then one group per month (and per year before this one).

Pure logic with the clock passed in, so the sidebar and its tests agree on "today" however
long a test runs or when it runs (midnight, month and year boundaries included).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Generic, TypeVar

T = TypeVar("T")

PINNED, TODAY, YESTERDAY, WEEK, MONTH = (
    "Pinned", "Today", "Yesterday", "Previous 7 days", "Previous 30 days")


@dataclass(frozen=True)
class Group(Generic[T]):
    title: str
    items: tuple[T, ...]


def group_label(updated: datetime, now: datetime) -> str:
    """The date group of a conversation last changed at `updated`, seen at `now` (local)."""
    day, today = updated.date(), now.date()
    if day >= today:
        return TODAY
    if day == today - timedelta(days=1):
        return YESTERDAY
    if day >= today - timedelta(days=7):
        return WEEK
    if day >= today - timedelta(days=30):
        return MONTH
    if day.year == today.year:
        return day.strftime("%B")
    return day.strftime("%B %Y")


def group_by_date(items: Iterable[T], *, updated_ms: Callable[[T], int],
                  pinned: Callable[[T], bool], now: datetime) -> list[Group[T]]:
    """Groups in display order; items keep their given order inside each group."""
    buckets: dict[str, list[T]] = {}
    for item in items:
        label = PINNED if pinned(item) else group_label(
            datetime.fromtimestamp(updated_ms(item) / 1000), now)
        buckets.setdefault(label, []).append(item)
    return [Group(label, tuple(entries)) for label, entries in
            sorted(buckets.items(), key=lambda pair: _order(pair[0], pair[1], updated_ms))]


_FIXED = {PINNED: 0, TODAY: 1, YESTERDAY: 2, WEEK: 3, MONTH: 4}


def _order(label: str, entries: Sequence[T],
           updated_ms: Callable[[T], int]) -> tuple[int, float]:
    if label in _FIXED:
        return (_FIXED[label], 0.0)
    newest = max(updated_ms(entry) for entry in entries)
    return (5, -float(newest))

