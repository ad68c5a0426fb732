"""The benchmarks' heartbeat: a 5 ms Qt timer on the UI thread.

The largest gap between two ticks is how long the UI thread was held. Each tick also reads
the thread's own CPU time, so a long gap tells whether the thread was working (CPU ≈ gap) or
only waiting for a core or the GIL (CPU ≪ gap) — on a loaded machine, the difference matters.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QObject, QTimer

LONG_GAP_S = 0.030


class Heartbeat(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.timer = QTimer(self)
        self.timer.setInterval(5)
        self.timer.timeout.connect(self._tick)
        self.stamps: list[tuple[float, float]] = []  # (wall, UI-thread CPU) per tick
        self.long: list[tuple[float, float]] = []  # (gap, CPU in it) in ms, over 30 ms

    def start(self) -> None:
        self.stamps = []
        self._tick()
        self.timer.start()

    def stop(self) -> float:
        """Stop; the largest gap in ms."""
        self.timer.stop()
        self._tick()
        pairs = list(zip(self.stamps, self.stamps[1:], strict=False))
        self.long = [((b - a) * 1000, (cb - ca) * 1000) for (a, ca), (b, cb) in pairs
                     if b - a > LONG_GAP_S]
        return max(b - a for (a, _), (b, _) in pairs) * 1000

    def longest_cpu(self) -> float:
        """The longest UI-thread CPU stretch between two ticks, in ms (after `stop()`)."""
        return max(cb - ca for (_, ca), (_, cb) in zip(self.stamps, self.stamps[1:],
                                                       strict=False)) * 1000

    def _tick(self) -> None:
        self.stamps.append((time.perf_counter(), time.thread_time()))
